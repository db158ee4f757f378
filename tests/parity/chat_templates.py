"""Reference renders for the native Jinja engine (tests/parity/test_jinja_parity.cpp).

Every template under tests/data/chat_templates is rendered on the same conversations by
transformers' own apply_chat_template(tokenize=False), with a tokenizer built here (a tiny
word-level vocabulary) that carries the real model's special tokens. For each render the
output file holds the exact context transformers hands the template (messages after its
reasoning-field aliasing, tools, documents, add_generation_prompt, special tokens, extra
keyword arguments; message keys whose value is None dropped) and the text, or the error: the C++ side renders the same context and
compares byte for byte (a raise_exception message word for word).

usage: chat_templates.py TEMPLATE_DIR OUT.json
"""

import json
import os
import re
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import jinja2  # noqa: E402
from tokenizers import Tokenizer, models  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402
from transformers.utils.chat_template_utils import (  # noqa: E402
    _alias_reasoning_fields,
    _plain_template_data,
    render_jinja_template,
)

# Special tokens as the real models' tokenizers set them.
SPECIAL = {
    "meta-llama-Llama-2-7b-chat-hf": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "meta-llama-Llama-3.1-8B-Instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "meta-llama-Llama-3.2-3B-Instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "meta-llama-Llama-3.3-70B-Instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "Qwen-Qwen2.5-7B-Instruct": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "Qwen-Qwen3-0.6B": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "Qwen-QwQ-32B": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": {
        "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "mistralai-Mistral-7B-Instruct-v0.3": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "mistralai-Mistral-Nemo-Instruct-2407": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "Mistral-Small-3.2-24B-Instruct-2506": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "google-gemma-2-2b-it": {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"},
    "google-gemma-3-it": {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"},
    "microsoft-Phi-3.5-mini-instruct": {"bos_token": "<s>", "eos_token": "<|endoftext|>", "unk_token": "<unk>"},
    "microsoft-phi-4": {"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>"},
    "HuggingFaceTB-SmolLM2-1.7B-Instruct": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},
    "chatml": {"eos_token": "<|im_end|>"},
    "trl-qwen3_training": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "description": "Days ahead", "default": 0},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web. Returns the top results — with snippets «quoted».",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "number"}},
            "required": ["query"],
        },
    },
}


def call(name, args, cid):
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}


def u(text):
    return {"role": "user", "content": text}


def a(text, **extra):
    return {"role": "assistant", "content": text, **extra}


SYS = {"role": "system", "content": "You are a helpful assistant."}


def conversations():
    """(name, messages, tools) for every conversation; each runs with the generation
    prompt on and off, and some with extra keyword arguments."""
    weather_call = call("get_weather", {"city": "Paris", "unit": "celsius"}, "call00001")
    return [
        ("single user", [u("Hello!")], None),
        ("system and user", [SYS, u("What is 2 + 3?")], None),
        ("two turns", [u("What is 2 + 3?"), a("2 + 3 = 5."), u("And 4 * 5?")], None),
        ("system and two turns", [SYS, u("Hi"), a("Hello! How can I help?"), u("Tell me a joke.")], None),
        ("ends with assistant", [SYS, u("Say hi."), a("Hi!")], None),
        ("long", [u("1"), a("one"), u("2"), a("two"), u("3"), a("three"), u("4"), a("four"), u("5")], None),
        ("empty user content", [u("")], None),
        ("empty assistant content", [u("Anything?"), a(""), u("Still there?")], None),
        ("empty system", [{"role": "system", "content": ""}, u("Hi")], None),
        ("unicode", [SYS, u("Ça va? 你好，世界 🌍🚀 — «ok» ñ"), a("Très bien! 谢谢 😊"), u("Ελληνικά ∑ ∞")], None),
        ("whitespace", [u("  padded question \n\n"), a("\n  padded answer  \n"), u("\tnext\t")], None),
        ("quotes and braces", [u('He said "{{ not a tag }}" and {% raw %}'), a("It's a 'quote' \\ backslash")], None),
        ("multiline", [SYS, u("line one\nline two\n\nline four"), a("a\nb"), u("c\r\nd")], None),
        ("reasoning", [u("What is 7 * 6?"), a("42", reasoning_content="7 * 6 = 42, easy."), u("And 6 * 9?")], None),
        ("reasoning last", [u("What is 7 * 6?"), a("The answer is 42.", reasoning_content="Multiply 7 by 6.")],
         None),
        ("think tags inline", [u("Q1"), a("<think>\nsome thought\n</think>\n\nA1"), u("Q2")], None),
        ("think tags last", [u("Q1"), a("<think>\nfinal thought\n</think>\n\nFinal answer.")], None),
        ("tools offered", [SYS, u("What's the weather in Paris?")], [WEATHER_TOOL, SEARCH_TOOL]),
        ("tools no system", [u("Weather in Tokyo?")], [WEATHER_TOOL]),
        ("tool call and result",
         [SYS, u("What's the weather in Paris?"), a("", tool_calls=[weather_call]),
          {"role": "tool", "content": '{"temperature": 21, "sky": "clear"}', "tool_call_id": "call00001",
           "name": "get_weather"},
          a("It is 21 °C and clear in Paris.")], [WEATHER_TOOL]),
        ("tool call none content",
         [u("Weather in Rome?"), a(None, tool_calls=[call("get_weather", {"city": "Rome"}, "call00002")]),
          {"role": "tool", "content": "sunny, 25", "tool_call_id": "call00002"}], [WEATHER_TOOL]),
        ("two tool calls",
         [u("Weather in Paris and search news"),
          a("", tool_calls=[weather_call, call("search", {"query": "news", "limit": 3.5}, "call00003")]),
          {"role": "tool", "content": "21 C", "tool_call_id": "call00001"},
          {"role": "tool", "content": "No news.", "tool_call_id": "call00003"}],
         [WEATHER_TOOL, SEARCH_TOOL]),
        ("tool call with content",
         [u("Weather?"), a("Let me check.", tool_calls=[call("get_weather", {"city": "Oslo", "days": 2},
                                                               "call00004")]),
          {"role": "tool", "content": "snow", "tool_call_id": "call00004"}, a("Snow in Oslo.")], [WEATHER_TOOL]),
        ("tool call string arguments",
         [u("Weather?"), a(None, tool_calls=[call("get_weather", '{"city": "Lima"}', "call00005")]),
          {"role": "tool", "content": "warm", "tool_call_id": "call00005"}], [WEATHER_TOOL]),
        ("tool call without tools", [u("Weather?"), a("", tool_calls=[weather_call]),
                                     {"role": "tool", "content": "ok", "tool_call_id": "call00001"}], None),
        ("not alternating", [u("first"), u("second")], None),
        ("starts with assistant", [a("I start."), u("ok")], None),
        ("system only", [SYS], None),
        ("two systems", [SYS, u("Hi"), {"role": "system", "content": "Be brief."}, u("Again")], None),
        ("named user", [{"role": "user", "content": "hey", "name": "alice"}], None),
        # Plain user/assistant turns, which every template accepts.
        ("cjk turns", [u("你好"), a("你好！有什么可以帮你？"), u("日本語で答えて"), a("はい、わかりました。"), u("한국어")], None),
        ("emoji only", [u("🙂🙃"), a("👍"), u("🎉🎉🎉")], None),
        ("markdown code", [u("Show code"), a("```python\nprint('hi')\n```\n"), u("Thanks")], None),
        ("json content", [u('{"a": [1, 2, {"b": null}]}'), a('{"ok": true}')], None),
        ("long content", [u("word " * 300), a("answer " * 200)], None),
        ("tabs and spaces", [u("\tindented\n    code"), a("  two spaces  "), u(" ")], None),
        ("numbers", [u("1 + 1 = ?"), a("2"), u("3.14159 * 2 = ?"), a("6.28318")], None),
        ("special-token lookalikes", [u("<|im_end|> <s> [INST] <start_of_turn>"), a("</s> <|eot_id|>")], None),
    ]


def make_tokenizer(name, template):
    special = SPECIAL.get(name, {"eos_token": "</s>"})
    vocab = {"<unk>": 0}
    for tok in special.values():
        vocab.setdefault(tok, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, **special)
    tokenizer.chat_template = template
    return tokenizer


def main():
    template_dir, out_path = sys.argv[1], sys.argv[2]
    kwarg_variants = [{}, {"enable_thinking": False}, {"enable_thinking": True}, {"date_string": "03 Mar 2025"}]
    cases = []
    for file in sorted(os.listdir(template_dir)):
        if not file.endswith(".jinja"):
            continue
        name = file[: -len(".jinja")]
        with open(os.path.join(template_dir, file), encoding="utf-8") as f:
            template = f.read()
        tokenizer = make_tokenizer(name, template)
        for i, (conv_name, messages, tools) in enumerate(conversations()):
            for add_generation_prompt in (False, True):
                kwargs = kwarg_variants[(2 * i + add_generation_prompt) % len(kwarg_variants)]
                # apply_chat_template drops the keys whose value is None, then converts and
                # aliases the reasoning fields (render_jinja_template).
                dropped = [{k: v for k, v in m.items() if v is not None} for m in messages]
                context = {
                    "messages": _alias_reasoning_fields(_plain_template_data(dropped)),
                    "tools": _plain_template_data(tools),
                    "documents": None,
                    "add_generation_prompt": add_generation_prompt,
                    **tokenizer.special_tokens_map,
                    **kwargs,
                }
                case = {"template": file, "case": f"{conv_name} / gen={add_generation_prompt} / {kwargs}",
                        "context": context}
                try:
                    case["text"] = tokenizer.apply_chat_template(
                        messages, tools=tools, add_generation_prompt=add_generation_prompt, tokenize=False, **kwargs)
                    if re.search(r"\{%-?\s*generation\s*-?%\}", template):
                        # The assistant-mask spans (characters in Python), as byte offsets.
                        text, spans = render_jinja_template(
                            [dropped], tools=tools, chat_template=template, return_assistant_tokens_mask=True,
                            add_generation_prompt=add_generation_prompt, **tokenizer.special_tokens_map, **kwargs)
                        assert text[0] == case["text"]
                        to_bytes = lambda i: len(text[0][:i].encode("utf-8"))  # noqa: E731
                        case["generation_spans"] = [[to_bytes(b), to_bytes(e)] for b, e in spans[0]]
                except jinja2.exceptions.TemplateError as e:
                    # raise_exception (TemplateError itself) or a jinja2 error (UndefinedError ...)
                    case["error"] = str(e)
                    case["raised"] = type(e) is jinja2.exceptions.TemplateError
                except Exception as e:  # TypeError and friends from Python operators
                    case["error"] = f"{type(e).__name__}: {e}"
                    case["raised"] = False
                cases.append(case)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
