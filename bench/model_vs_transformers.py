#!/usr/bin/env python3
"""flywheel's Llama decoder next to Hugging Face transformers, on the same CPU, same torch.

  model_vs_transformers.py [--binary build/bin/fw-bench-model] [--threads 2] [--quick]
                           [--models tiny,100m] [--impls eager,sdpa]
                           [--generate equal,ragged] [--out results.json]

For each model (a tiny one and a ~125M-parameter Llama, both made here with transformers
from a seeded random init and saved once under the cache folder) it measures:

  forward   full logits of a [B,T] batch: fp32, eval, no grad (HF: use_cache=False so it
            builds no cache it would throw away). Warm-up runs, then timed repetitions;
            tokens/s = B*T / median seconds.
  generate  greedy generation of exactly N=128 new tokens for B=8 prompts (HF:
            model.generate(do_sample=False, max_new_tokens=N, min_new_tokens=N) with no
            EOS token, its default KV cache, left padding; ours: fw::rollout::generate).
            Two cases: "equal" (all prompts L=32 tokens) and "ragged" (lengths 18..32,
            so the left padding and the attention masks are real). One short warm-up
            generation, then timed repetitions; tokens/s = B*N / median wall seconds of
            the whole call, prefill included.

Our side runs in the fw-bench-model binary (a subprocess); transformers runs in this
process with attn_implementation "eager" and "sdpa". Both get the same thread count
(torch.set_num_threads and OMP_NUM_THREADS/MKL_NUM_THREADS), the same weights, the same
prompt tokens (a fixed pseudo-random sequence both sides compute) and the same shapes.
Prints a markdown table (ours, theirs, ours/theirs) and optionally writes every figure to
--out as JSON. Greedy outputs are compared too: on random models tiny fp32 differences
can flip a near-tie, so a mismatch is reported, not treated as an error.

Runs offline (HF_HUB_OFFLINE=1): nothing is downloaded.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default=None,
                   help="fw-bench-model (default: BUILD_DIR/bin/fw-bench-model, BUILD_DIR=build)")
    p.add_argument("--build-dir", default="build", help="where to find bin/fw-bench-model")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads for both sides")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    p.add_argument("--models", default="tiny,100m", help="comma list of: tiny, 100m")
    p.add_argument("--impls", default="eager,sdpa", help="transformers attention implementations")
    p.add_argument("--generate", default="equal,ragged",
                   help="generation cases, comma list: equal (B prompts of length L), ragged (lengths "
                        "L/2..L, left-padded); empty = forward only")
    p.add_argument("--cache", default=os.path.join(
        os.environ.get("FLYWHEEL_CACHE", os.path.expanduser("~/.cache/flywheel")), "bench-models"),
        help="where the generated model folders are kept (made once, reused)")
    p.add_argument("--out", default=None, help="write all results here as JSON")
    return p.parse_args()


ARGS = parse_args()
# Thread settings must be in place before torch (and its OpenMP runtime) starts.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForCausalLM, LlamaConfig  # noqa: E402

transformers.logging.set_verbosity_error()
try:
    transformers.utils.logging.disable_progress_bar()
except AttributeError:
    pass

NEW_TOKENS = 128
CASES = ("generate", "generate_ragged")

# name -> (config kwargs, forward shape, generation shape, repetitions full / quick)
MODELS = {
    "tiny": dict(
        config=dict(vocab_size=1000, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024),
        forward=dict(batch=8, seq=128), prompt_len=32,
        reps=dict(warmup=3, reps=20, gen_warmup=1, gen_reps=5),
        quick=dict(warmup=1, reps=5, gen_warmup=1, gen_reps=1)),
    "100m": dict(
        config=dict(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                    num_attention_heads=12, num_key_value_heads=4, max_position_embeddings=2048),
        forward=dict(batch=4, seq=256), prompt_len=32,
        reps=dict(warmup=1, reps=5, gen_warmup=1, gen_reps=2),
        quick=dict(warmup=1, reps=2, gen_warmup=1, gen_reps=1)),
}
GEN_BATCH = 8
WARMUP_TOKENS = 8
SEED = 1234


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bench_prompt_ids(rows, cols, vocab, seed):
    """Token ids in [3, vocab) from a 64-bit LCG; the same as bench_model.cpp's."""
    x, mask, out = seed, (1 << 64) - 1, []
    for _ in range(rows):
        row = []
        for _ in range(cols):
            x = (x * 6364136223846793005 + 1442695040888963407) & mask
            row.append(3 + (x >> 33) % (vocab - 3))
        out.append(row)
    return out


def gen_prompts(vocab, prompt_len, ragged):
    prompts = bench_prompt_ids(GEN_BATCH, prompt_len, vocab, SEED + 1)
    if ragged:  # as bench_model.cpp: prompt b drops its first b*(L/2)/B tokens
        prompts = [p[b * (prompt_len // 2) // GEN_BATCH:] for b, p in enumerate(prompts)]
    L = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), L, dtype=torch.long)  # pad id 0, left padding
    mask = torch.zeros(len(prompts), L, dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, L - len(p):] = torch.tensor(p)
        mask[b, L - len(p):] = 1
    return ids, mask


def model_dir(name):
    """Builds the model with transformers (seeded random init) once; returns its folder."""
    spec = MODELS[name]
    cfg_kwargs = dict(spec["config"], rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, pad_token_id=0)
    tag = f"{name}-v1-{transformers.__version__}"
    path = os.path.join(ARGS.cache, tag)
    if os.path.exists(os.path.join(path, ".complete")):
        return path
    log(f"building {name} with transformers (seeded random init) in {path}")
    torch.manual_seed(SEED)
    model = AutoModelForCausalLM.from_config(LlamaConfig(**cfg_kwargs), dtype=torch.float32).eval()
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path)
    open(os.path.join(path, ".complete"), "w").close()
    return path


def summary(side, cases):
    parts = [f"forward {side['forward']['tokens_per_s']:,.0f} tok/s"]
    parts += [f"{c} {side[c]['tokens_per_s']:,.0f} tok/s" for c in cases]
    parts += [f"agreement {side[c]['agreement_with_flywheel']}" for c in cases if "agreement_with_flywheel" in side[c]]
    return ", ".join(parts)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def uptime_load():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


# ---------------------------------------------------------------------------- our side
def run_ours(binary, path, spec, reps, mode, ragged, dump):
    cmd = [binary, "--model", path, "--threads", str(ARGS.threads), "--mode", mode,
           "--batch", str(spec["forward"]["batch"]), "--seq", str(spec["forward"]["seq"]),
           "--warmup", str(reps["warmup"]), "--reps", str(reps["reps"]),
           "--gen-batch", str(GEN_BATCH), "--prompt-len", str(spec["prompt_len"]),
           "--new-tokens", str(NEW_TOKENS), "--gen-warmup", str(reps["gen_warmup"]),
           "--gen-warmup-tokens", str(WARMUP_TOKENS), "--gen-reps", str(reps["gen_reps"]),
           "--seed", str(SEED), "--dump-tokens", dump]
    if ragged:
        cmd.append("--ragged")
    log("flywheel: " + " ".join(cmd))
    env = dict(os.environ, OMP_NUM_THREADS=str(ARGS.threads), MKL_NUM_THREADS=str(ARGS.threads))
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"fw-bench-model failed ({res.returncode}):\n{res.stderr}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if "generate" in out:
        with open(dump) as f:
            out["generate"]["tokens"] = json.load(f)
    return out


# ------------------------------------------------------------------- transformers' side
def hf_forward(model, spec, reps):
    vocab = model.config.vocab_size
    B, T = spec["forward"]["batch"], spec["forward"]["seq"]
    ids = torch.tensor(bench_prompt_ids(B, T, vocab, SEED))

    def forward():
        with torch.no_grad():
            return model(input_ids=ids, use_cache=False).logits  # all B*T positions, as ours

    for _ in range(reps["warmup"]):
        forward()
    times = []
    for _ in range(reps["reps"]):
        t0 = time.perf_counter()
        logits = forward()
        times.append(time.perf_counter() - t0)
    assert logits.shape == (B, T, vocab), logits.shape
    med = statistics.median(times)
    return dict(batch=B, seq=T, warmup=reps["warmup"], reps=reps["reps"], seconds=times, median_s=med,
                tokens_per_s=B * T / med)


def hf_generate(model, spec, reps, ragged):
    gids, gmask = gen_prompts(model.config.vocab_size, spec["prompt_len"], ragged)

    def generate(n):
        with torch.no_grad():
            return model.generate(input_ids=gids, attention_mask=gmask, do_sample=False, num_beams=1,
                                  max_new_tokens=n, min_new_tokens=n, use_cache=True, pad_token_id=0)

    for _ in range(reps["gen_warmup"]):
        generate(WARMUP_TOKENS)
    times = []
    for _ in range(reps["gen_reps"]):
        t0 = time.perf_counter()
        out = generate(NEW_TOKENS)
        times.append(time.perf_counter() - t0)
    new = out[:, gids.shape[1]:]
    assert new.shape == (GEN_BATCH, NEW_TOKENS), f"transformers stopped early: {tuple(new.shape)}"
    med = statistics.median(times)
    return dict(batch=GEN_BATCH, prompt_len=spec["prompt_len"], new_tokens=NEW_TOKENS, ragged=ragged,
                warmup=reps["gen_warmup"], warmup_tokens=WARMUP_TOKENS, reps=reps["gen_reps"],
                seconds=times, median_s=med, tokens_per_s=GEN_BATCH * NEW_TOKENS / med,
                tokens=new.tolist())


def run_hf(path, impl, spec, reps, cases):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation=impl).eval()
    model.generation_config.eos_token_id = None  # no stop token: every sequence runs N tokens
    model.generation_config.pad_token_id = 0
    out = dict(impl=f"transformers-{impl}", parameters=sum(p.numel() for p in model.parameters()),
               forward=hf_forward(model, spec, reps))
    for case in cases:
        out[case] = hf_generate(model, spec, reps, ragged=case == "generate_ragged")
    del model
    return out


def agreement(ours, theirs):
    """Share of sequences identical, and mean share of tokens before the first difference."""
    same, prefix = 0, []
    for a, b in zip(ours, theirs):
        same += a == b
        n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), len(a))
        prefix.append(n / len(a))
    return dict(identical_sequences=same / len(ours), matching_prefix=sum(prefix) / len(prefix))


# ------------------------------------------------------------------------------ report
def table(results, impls):
    head = "| model | measure | flywheel |" + "".join(f" HF {i} | ours/{i} |" for i in impls)
    rule = "|---|---|---:|" + "---:|---:|" * len(impls)
    lines = [head, rule]
    for r in results:
        label = f"{r['model']} ({r['parameters'] / 1e6:.1f}M)"
        f = r["flywheel"]["forward"]
        rows = [(f"forward tok/s (B={f['batch']}, T={f['seq']})", "forward")]
        for key in CASES:
            if key in r["flywheel"]:
                g = r["flywheel"][key]
                L = g["prompt_len"]
                lens = f"{L - (g['batch'] - 1) * (L // 2) // g['batch']}..{L}" if g["ragged"] else L
                rows.append((f"generate tok/s (B={g['batch']}, prompt {lens}, +{g['new_tokens']})", key))
        for text, key in rows:
            ours = r["flywheel"][key]["tokens_per_s"]
            cells = f"| {label} | {text} | {ours:,.0f} |"
            for i in impls:
                theirs = r["hf"][i][key]["tokens_per_s"]
                cells += f" {theirs:,.0f} | {ours / theirs:.2f}x |"
            lines.append(cells)
    return "\n".join(lines)


def main():
    binary = ARGS.binary or os.path.join(ARGS.build_dir, "bin", "fw-bench-model")
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} not found: build it first (ninja -C BUILD_DIR fw-bench-model)")
    torch.set_num_threads(ARGS.threads)
    torch.set_num_interop_threads(1)
    impls = [i for i in ARGS.impls.split(",") if i]
    cases = [f"generate_{c}" if c != "equal" else "generate" for c in ARGS.generate.split(",") if c]
    load0 = uptime_load()
    if load0 > 0.5:
        log(f"warning: load average {load0:.2f}; other work on the machine skews the figures")
    started = time.time()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in [m for m in ARGS.models.split(",") if m]:
            spec = MODELS[name]
            reps = spec["quick" if ARGS.quick else "reps"]
            path = model_dir(name)
            ours, dump = {}, os.path.join(tmp, f"{name}.json")
            for case in cases:
                mode = "both" if not ours else "generate"
                res = run_ours(binary, path, spec, reps, mode, case == "generate_ragged", dump)
                ours.update({k: v for k, v in res.items() if k != "generate"})
                ours[case] = res["generate"]
            if not cases:
                ours = run_ours(binary, path, spec, reps, "forward", False, dump)
            log(f"flywheel {name}: " + summary(ours, cases))
            hf = {}
            for impl in impls:
                log(f"transformers {impl} {name}")
                hf[impl] = run_hf(path, impl, spec, reps, cases)
                for case in cases:
                    hf[impl][case]["agreement_with_flywheel"] = agreement(ours[case]["tokens"], hf[impl][case]["tokens"])
                log(f"transformers {impl} {name}: " + summary(hf[impl], cases))
            results.append(dict(model=name, path=path, parameters=ours["parameters"], flywheel=ours, hf=hf))

    md = table(results, impls)
    env = dict(threads=ARGS.threads, torch=torch.__version__, transformers=transformers.__version__,
               cpu=cpu_name(), cores=os.cpu_count(), quick=ARGS.quick,
               load_average_start=load0, load_average_end=uptime_load(),
               wall_seconds=round(time.time() - started, 1))
    print(md)
    print()
    print(f"{env['cpu']} ({env['cores']} cores), threads={ARGS.threads}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, fp32; load average {load0:.2f} at start, "
          f"{env['load_average_end']:.2f} at end; {env['wall_seconds']:.0f} s in all{' (--quick)' if ARGS.quick else ''}")
    for r in results:
        for impl, h in r["hf"].items():
            for case in cases:
                a = h[case]["agreement_with_flywheel"]
                print(f"greedy tokens, {r['model']} {case} vs {impl}: {a['identical_sequences']:.0%} of sequences "
                      f"identical, {a['matching_prefix']:.0%} matching prefix")
    if ARGS.out:
        for r in results:  # token lists are for the agreement check, not the record
            for side in [r["flywheel"], *r["hf"].values()]:
                for case in cases:
                    side[case].pop("tokens", None)
        with open(ARGS.out, "w") as f:
            json.dump(dict(env=env, results=results, table=md), f, indent=1)
        log(f"wrote {ARGS.out}")


if __name__ == "__main__":
    main()
