"""The official `openai` package against `flywheel serve` (run by test_serve_openai).

usage: openai_checks.py BASE_URL MODEL
Each check raises with what it saw; the script prints one line per check that passed.
"""
import sys

import openai

base_url, model = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60)
MESSAGES = [{"role": "user", "content": "What is 12 plus 30?"}]


def check(name, ok, detail=""):
    if not ok:
        raise AssertionError(f"{name}: {detail}")
    print(f"ok  {name}")


def streamed(**kw):
    """Text per choice, finish reasons, the chunks and the final usage of a streamed request."""
    texts, reasons, chunks, usage, roles = {}, {}, [], None, {}
    with client.chat.completions.create(model=model, messages=MESSAGES, stream=True, **kw) as stream:
        for chunk in stream:
            chunks.append(chunk)
            if chunk.usage is not None:
                usage = chunk.usage
            for c in chunk.choices:
                if c.delta.role:
                    roles[c.index] = c.delta.role
                texts[c.index] = texts.get(c.index, "") + (c.delta.content or "")
                if c.finish_reason:
                    reasons[c.index] = c.finish_reason
    return texts, reasons, chunks, usage, roles


# 1. The streamed text equals the non-streamed one for the same seed, token for token.
for temperature in (0.0, 1.0):
    whole = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=40, seed=7,
                                           temperature=temperature)
    texts, reasons, chunks, usage, roles = streamed(max_tokens=40, seed=7, temperature=temperature,
                                                    stream_options={"include_usage": True})
    check(f"stream equals non-stream (temperature {temperature})", texts[0] == whole.choices[0].message.content,
          f"{texts[0]!r} vs {whole.choices[0].message.content!r}")
    check(f"stream finish reason (temperature {temperature})", reasons[0] == whole.choices[0].finish_reason,
          f"{reasons} vs {whole.choices[0].finish_reason}")
    check("stream role first", roles.get(0) == "assistant" and chunks[0].choices[0].delta.role == "assistant",
          str(chunks[0]))
    check("stream usage", usage is not None and usage.completion_tokens == whole.usage.completion_tokens
          and usage.prompt_tokens == whole.usage.prompt_tokens, f"{usage} vs {whole.usage}")
    check("usage chunk has no choices", chunks[-1].choices == [] and chunks[-1].usage is not None, str(chunks[-1]))
    check("chunk object", all(c.object == "chat.completion.chunk" for c in chunks), chunks[0].object)

# 2. n = 3: three choices, indexed 0..2, sampled (not all equal), reproducible with a seed,
#    streamed equal to non-streamed.
a = client.chat.completions.create(model=model, messages=MESSAGES, n=3, max_tokens=24, seed=11, temperature=1.0)
b = client.chat.completions.create(model=model, messages=MESSAGES, n=3, max_tokens=24, seed=11, temperature=1.0)
check("n=3 gives three choices", sorted(c.index for c in a.choices) == [0, 1, 2], str(a.choices))
contents = [c.message.content for c in a.choices]
check("n=3 samples differ", len(set(contents)) > 1, str(contents))
check("seed reproduces every choice", contents == [c.message.content for c in b.choices],
      f"{contents} vs {[c.message.content for c in b.choices]}")
# usage counts every choice's tokens: each choice's log-probs cover its tokens but a final EOS.
lp3 = client.chat.completions.create(model=model, messages=MESSAGES, n=3, max_tokens=24, seed=11, temperature=1.0,
                                     logprobs=True)
covered = sum(len(c.logprobs.content) for c in lp3.choices)
eos = sum(c.finish_reason == "stop" for c in lp3.choices)
check("n=3 usage counts every choice", lp3.usage.completion_tokens == covered + eos,
      f"{lp3.usage} vs {covered} tokens with log-probs + {eos} EOS")
check("n=3 with logprobs samples the same", [c.message.content for c in lp3.choices] == contents,
      f"{[c.message.content for c in lp3.choices]} vs {contents}")
texts, reasons, _, _, _ = streamed(n=3, max_tokens=24, seed=11, temperature=1.0)
check("n=3 streamed equals non-streamed", [texts[i] for i in range(3)] == contents, f"{texts} vs {contents}")
other = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=24, seed=12, temperature=1.0)
check("another seed samples something else", other.choices[0].message.content != contents[0] or
      other.choices[0].message.content != contents[1], other.choices[0].message.content)

# 3. logprobs with top_logprobs = 5: one entry per token, the chosen token among or above
#    the alternatives, alternatives sorted, bytes matching the token.
r = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=12, temperature=0, logprobs=True,
                                   top_logprobs=5)
lp = r.choices[0].logprobs.content
check("logprobs present", lp is not None and len(lp) > 0, str(r.choices[0].logprobs))
check("five alternatives", all(len(t.top_logprobs) == 5 for t in lp), str(lp[0]))
check("alternatives sorted", all(t.top_logprobs[i].logprob >= t.top_logprobs[i + 1].logprob
                                 for t in lp for i in range(4)), str(lp[0]))
check("greedy picks the most likely", all(abs(t.logprob - t.top_logprobs[0].logprob) < 1e-5 for t in lp), str(lp[0]))
check("logprobs are <= 0", all(t.logprob <= 0 for t in lp), str(lp[0]))
check("bytes match tokens", all(bytes(t.bytes).decode("utf-8", "replace") == t.token for t in lp if t.bytes), str(lp))
check("tokens spell the text", "".join(t.token for t in lp).strip().startswith(r.choices[0].message.content.strip()[:5]),
      f"{[t.token for t in lp]} vs {r.choices[0].message.content!r}")
texts, _, chunks, _, _ = streamed(max_tokens=12, temperature=0, logprobs=True, top_logprobs=5)
streamed_lp = [t for c in chunks for ch in c.choices if ch.logprobs and ch.logprobs.content for t in ch.logprobs.content]
check("streamed logprobs equal", [t.token for t in streamed_lp] == [t.token for t in lp] and
      all(abs(x.logprob - y.logprob) < 1e-5 for x, y in zip(streamed_lp, lp)),
      f"{[t.token for t in streamed_lp]} vs {[t.token for t in lp]}")

# 4. stop: the text ends before the stop string, finish_reason "stop".
free = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=30, temperature=0)
text = free.choices[0].message.content
if len(text) >= 6:
    stop = text[3:5]
    cut = text[: text.find(stop)]
    s = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=30, temperature=0, stop=[stop])
    check("stop cuts the text", s.choices[0].message.content == cut and s.choices[0].finish_reason == "stop",
          f"{s.choices[0].message.content!r} vs {cut!r}")
    texts, reasons, _, _, _ = streamed(max_tokens=30, temperature=0, stop=[stop])
    check("stop cuts the stream", texts[0] == cut and reasons[0] == "stop", f"{texts[0]!r} vs {cut!r}")
else:
    raise AssertionError(f"the greedy text is too short to pick a stop string from: {text!r}")

# 5. An unknown model is a 404 the client raises as NotFoundError; a bad field a 400.
try:
    client.chat.completions.create(model="no-such-model", messages=MESSAGES, max_tokens=3)
    raise AssertionError("unknown model: expected NotFoundError")
except openai.NotFoundError as e:
    check("unknown model is NotFoundError", "no-such-model" in str(e), str(e))
try:
    client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=3, temperature=float("inf"))
    raise AssertionError("infinite temperature: expected BadRequestError")
except (openai.BadRequestError, ValueError) as e:
    check("infinite temperature is refused", True, str(e))
try:
    client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=3,
                                   tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}])
    raise AssertionError("tools: expected BadRequestError")
except openai.BadRequestError as e:
    check("tools are refused by name", "tools" in str(e), str(e))

# 6. A client that drops a stream mid-way: the server goes on serving.
with client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=200, temperature=1.0, seed=3,
                                    stream=True) as stream:
    for i, _ in enumerate(stream):
        if i == 2:
            break
after = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=5, temperature=0)
check("serves after a dropped stream", after.choices[0].message.content is not None, str(after))

# 7. /v1/completions: raw prompts, the legacy shape, streamed equal to non-streamed.
c = client.completions.create(model=model, prompt="12 plus 30 is", max_tokens=10, temperature=0, logprobs=3)
check("completions text", c.object == "text_completion" and isinstance(c.choices[0].text, str), str(c))
check("completions logprobs", len(c.choices[0].logprobs.tokens) == len(c.choices[0].logprobs.token_logprobs) > 0
      and all(len(t) <= 3 for t in c.choices[0].logprobs.top_logprobs), str(c.choices[0].logprobs))
parts = "".join(ch.choices[0].text for ch in client.completions.create(
    model=model, prompt="12 plus 30 is", max_tokens=10, temperature=0, stream=True))
check("completions stream equals non-stream", parts == c.choices[0].text, f"{parts!r} vs {c.choices[0].text!r}")
two = client.completions.create(model=model, prompt=["a", "b"], n=2, max_tokens=4, temperature=1.0, seed=1)
check("completions: prompts x n choices", sorted(ch.index for ch in two.choices) == [0, 1, 2, 3], str(two.choices))
print("all checks passed")
