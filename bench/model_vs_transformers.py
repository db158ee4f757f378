#!/usr/bin/env python3
"""flywheel's Llama decoder next to Hugging Face transformers, on the same CPU, same torch.

  model_vs_transformers.py [--binary build/bin/fw-bench-model] [--threads 2] [--quick]
                           [--models tiny,100m] [--impls eager,sdpa] [--gen-batch 8]
                           [--generate equal,ragged] [--skip-forward] [--dtype float32|bfloat16]
                           [--max-load 0.7]
                           [--out results.json]

For each model (a tiny one and a ~125M-parameter Llama, both made here with transformers
from a seeded random init and saved once under the cache folder) it measures:

  forward   full logits of a [B,T] batch: fp32, eval, no grad (HF: use_cache=False so it
            builds no cache it would throw away). tokens/s = B*T / median seconds.
  generate  greedy generation of exactly N=128 new tokens for B prompts (--gen-batch, 8; HF:
            model.generate(do_sample=False, max_new_tokens=N, min_new_tokens=N) with no
            EOS token, its default KV cache, left padding and attention mask; ours:
            fw::rollout::generate). Two cases: "equal" (all prompts L=32 tokens) and
            "ragged" (lengths 18..32, so the left padding and the masks are real).
            tokens/s = B*N / median wall seconds of the whole call, prefill included.

The sides are our fw-bench-model binary (a subprocess in --mode serve, the model loaded
once) and transformers in this process with attn_implementation "eager" and "sdpa". Every
side first runs its warm-ups (forward passes; a short 8-token generation); then the timed
repetitions are interleaved, one run per side in a rotating order, so a burst of other
work on a shared machine hits every side alike. All sides get the same thread count
(torch.set_num_threads and OMP_NUM_THREADS/MKL_NUM_THREADS, one inter-op thread), the
same weights, the same prompt tokens (a fixed pseudo-random sequence both sides compute)
and the same shapes.

Prints two markdown tables (ours, theirs, ours/theirs): the medians, and the best run of
each side (on a busy machine the best runs are the least disturbed ones; when the two
tables disagree much, the machine was not quiet). Every run's time goes to --out as JSON. Greedy outputs are compared too: on random models tiny fp32 differences
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
    p.add_argument("--threads", type=int, default=2, help="intra-op threads for every side")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    p.add_argument("--models", default="tiny,100m", help="comma list of: tiny, 100m")
    p.add_argument("--impls", default="eager,sdpa", help="transformers attention implementations")
    p.add_argument("--generate", default="equal,ragged",
                   help="generation cases, comma list: equal (B prompts of length L), ragged (lengths "
                        "L/2..L, left-padded); empty = forward only")
    p.add_argument("--gen-batch", type=int, default=8, help="prompts per generation call")
    p.add_argument("--skip-forward", action="store_true", help="measure generation only")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                   help="weights and activations on every side (the weights are made in float32)")
    p.add_argument("--max-load", type=float, default=0.7,
                   help="wait (up to --max-wait s) until the 1-minute load average is below this")
    p.add_argument("--max-wait", type=float, default=300, help="seconds to wait for a quiet machine")
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
GEN_BATCH = ARGS.gen_batch
WARMUP_TOKENS = 8
SEED = 1234
CASES = {"equal": "generate", "ragged": "generate_ragged"}  # --generate name -> result key

# name -> config, forward shape [B,T], prompt length, repetitions (full / --quick)
MODELS = {
    "tiny": dict(
        config=dict(vocab_size=1000, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024),
        forward=dict(batch=8, seq=128), prompt_len=32,
        # runs of a few ms: many of them, or scheduler noise decides the median
        reps=dict(warmup=10, reps=100, gen_warmup=1, gen_reps=15),
        quick=dict(warmup=3, reps=20, gen_warmup=1, gen_reps=3)),
    "100m": dict(
        config=dict(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                    num_attention_heads=12, num_key_value_heads=4, max_position_embeddings=2048),
        forward=dict(batch=4, seq=256), prompt_len=32,
        reps=dict(warmup=1, reps=7, gen_warmup=1, gen_reps=3),
        quick=dict(warmup=1, reps=2, gen_warmup=1, gen_reps=1)),
}


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
    """The generation batch, left-padded with pad id 0: ids [B,L], attention mask [B,L]."""
    prompts = bench_prompt_ids(GEN_BATCH, prompt_len, vocab, SEED + 1)
    if ragged:  # as bench_model.cpp: prompt b drops its first b*(L/2)/B tokens
        prompts = [p[b * (prompt_len // 2) // GEN_BATCH:] for b, p in enumerate(prompts)]
    L = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), L, dtype=torch.long)
    mask = torch.zeros(len(prompts), L, dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, L - len(p):] = torch.tensor(p)
        mask[b, L - len(p):] = 1
    return ids, mask


def model_dir(name):
    """Builds the model with transformers (seeded random init) once; returns its folder."""
    cfg_kwargs = dict(MODELS[name]["config"], rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, pad_token_id=0)
    path = os.path.join(ARGS.cache, f"{name}-v1-{transformers.__version__}")
    if os.path.exists(os.path.join(path, ".complete")):
        return path
    log(f"building {name} with transformers (seeded random init) in {path}")
    torch.manual_seed(SEED)
    model = AutoModelForCausalLM.from_config(LlamaConfig(**cfg_kwargs), dtype=torch.float32).eval()
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path)
    open(os.path.join(path, ".complete"), "w").close()
    return path


# --------------------------------------------------------------------------------- sides
class Ours:
    """fw-bench-model --mode serve: one JSON command per line, one timed run per command."""

    def __init__(self, binary, path, spec, tmp):
        self.name, self.tmp = "flywheel", tmp
        cmd = [binary, "--model", path, "--mode", "serve", "--threads", str(ARGS.threads),
               "--batch", str(spec["forward"]["batch"]), "--seq", str(spec["forward"]["seq"]),
               "--gen-batch", str(GEN_BATCH), "--prompt-len", str(spec["prompt_len"]), "--seed", str(SEED),
               "--dtype", ARGS.dtype]
        log("flywheel: " + " ".join(cmd))
        env = dict(os.environ, OMP_NUM_THREADS=str(ARGS.threads), MKL_NUM_THREADS=str(ARGS.threads))
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"fw-bench-model exited ({self.proc.wait()})")
        out = json.loads(line)
        if "error" in out:
            sys.exit(f"fw-bench-model: {out['error']}")
        return out

    def _ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def forward(self):
        return self._ask(what="forward")["seconds"]

    def generate(self, ragged, new_tokens):
        dump = os.path.join(self.tmp, "tokens.json")
        r = self._ask(what="generate", ragged=ragged, new_tokens=new_tokens, dump=dump)
        with open(dump) as f:
            return r["seconds"], json.load(f)

    def close(self):
        self.proc.stdin.write(json.dumps(dict(what="quit")) + "\n")
        self.proc.stdin.close()
        self.proc.wait()


class HF:
    """transformers' LlamaForCausalLM with one attention implementation, in this process."""

    def __init__(self, path, impl, spec):
        self.name = impl
        dtype = dict(float32=torch.float32, bfloat16=torch.bfloat16)[ARGS.dtype]
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=impl).eval()
        self.model.generation_config.eos_token_id = None  # no stop token: every sequence runs N tokens
        self.model.generation_config.pad_token_id = 0
        vocab = self.model.config.vocab_size
        B, T = spec["forward"]["batch"], spec["forward"]["seq"]
        self.ids = torch.tensor(bench_prompt_ids(B, T, vocab, SEED))
        self.prompts = {r: gen_prompts(vocab, spec["prompt_len"], r) for r in (False, True)}
        self.info = dict(impl=f"transformers-{impl}", parameters=sum(p.numel() for p in self.model.parameters()))

    def forward(self):
        with torch.no_grad():
            t0 = time.perf_counter()
            logits = self.model(input_ids=self.ids, use_cache=False).logits  # all B*T positions, as ours
            s = time.perf_counter() - t0
        assert logits.shape[:2] == self.ids.shape, logits.shape
        return s

    def generate(self, ragged, new_tokens):
        ids, mask = self.prompts[ragged]
        with torch.no_grad():
            t0 = time.perf_counter()
            out = self.model.generate(input_ids=ids, attention_mask=mask, do_sample=False, num_beams=1,
                                      max_new_tokens=new_tokens, min_new_tokens=new_tokens, use_cache=True,
                                      pad_token_id=0)
            s = time.perf_counter() - t0
        new = out[:, ids.shape[1]:]
        assert new.shape == (GEN_BATCH, new_tokens), f"transformers stopped early: {tuple(new.shape)}"
        return s, new.tolist()

    def close(self):
        del self.model


def interleaved(sides, reps, run):
    """reps rounds; each round runs every side once, the order rotating by one per round."""
    times = {s.name: [] for s in sides}
    outputs = {}
    for r in range(reps):
        for k in range(len(sides)):
            side = sides[(r + k) % len(sides)]
            res = run(side)
            if isinstance(res, tuple):
                res, outputs[side.name] = res
            times[side.name].append(res)
    return times, outputs


def agreement(ours, theirs):
    """Share of sequences identical, and mean share of tokens before the first difference."""
    same, prefix = 0, []
    for a, b in zip(ours, theirs):
        same += a == b
        n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), len(a))
        prefix.append(n / len(a))
    return dict(identical_sequences=same / len(ours), matching_prefix=sum(prefix) / len(prefix))


def bench_model(name, binary, impls, cases, tmp):
    spec = MODELS[name]
    reps = spec["quick" if ARGS.quick else "reps"]
    path = model_dir(name)
    sides = [Ours(binary, path, spec, tmp)] + [HF(path, impl, spec) for impl in impls]
    B, T = spec["forward"]["batch"], spec["forward"]["seq"]
    result = dict(model=name, path=path, parameters=sides[0].info["parameters"],
                  sides={s.name: s.info for s in sides}, measures={})
    try:
        if not ARGS.skip_forward:
            log(f"{name}: forward [{B},{T}], {reps['warmup']} warm-up + {reps['reps']} timed runs per side")
            for s in sides:
                for _ in range(reps["warmup"]):
                    s.forward()
            times, _ = interleaved(sides, reps["reps"], lambda s: s.forward())
            result["measures"]["forward"] = dict(
                batch=B, seq=T, tokens=B * T, reps=reps["reps"], warmup=reps["warmup"], seconds=times,
                tokens_per_s={k: B * T / statistics.median(v) for k, v in times.items()},
                best_tokens_per_s={k: B * T / min(v) for k, v in times.items()})
        for case in cases:
            ragged = case == "ragged"
            log(f"{name}: generate {case}, {GEN_BATCH} x {NEW_TOKENS} tokens, {reps['gen_warmup']} warm-up "
                f"({WARMUP_TOKENS} tokens) + {reps['gen_reps']} timed runs per side")
            for s in sides:
                for _ in range(reps["gen_warmup"]):
                    s.generate(ragged, WARMUP_TOKENS)
            times, outs = interleaved(sides, reps["gen_reps"], lambda s: s.generate(ragged, NEW_TOKENS))
            n = GEN_BATCH * NEW_TOKENS
            L = spec["prompt_len"]
            result["measures"][CASES[case]] = dict(
                batch=GEN_BATCH, prompt_lens=[L - (GEN_BATCH - 1) * (L // 2) // GEN_BATCH, L] if ragged else [L, L],
                new_tokens=NEW_TOKENS, tokens=n, reps=reps["gen_reps"], warmup=reps["gen_warmup"],
                warmup_tokens=WARMUP_TOKENS, seconds=times,
                tokens_per_s={k: n / statistics.median(v) for k, v in times.items()},
                best_tokens_per_s={k: n / min(v) for k, v in times.items()},
                agreement_with_flywheel={k: agreement(outs["flywheel"], v) for k, v in outs.items() if k != "flywheel"})
        for key, m in result["measures"].items():
            log(f"{name} {key}: " + ", ".join(f"{k} {v:,.0f} tok/s" for k, v in m["tokens_per_s"].items()))
    finally:
        for s in sides:
            s.close()
    return result


# ------------------------------------------------------------------------------ report
def table(results, impls, stat="tokens_per_s"):
    head = "| model | measure (tokens/s) | flywheel |" + "".join(f" HF {i} | ours/{i} |" for i in impls)
    rule = "|---|---|---:|" + "---:|---:|" * len(impls)
    lines = [head, rule]
    for r in results:
        label = f"{r['model']} ({r['parameters'] / 1e6:.1f}M)"
        for key, m in r["measures"].items():
            if key == "forward":
                text = f"forward B={m['batch']} T={m['seq']}"
            else:
                lo, hi = m["prompt_lens"]
                text = f"generate B={m['batch']} prompt {lo if lo == hi else f'{lo}..{hi}'} +{m['new_tokens']}"
            ours = m[stat]["flywheel"]
            cells = f"| {label} | {text} | {ours:,.0f} |"
            for i in impls:
                theirs = m[stat][i]
                cells += f" {theirs:,.0f} | {ours / theirs:.2f}x |"
            lines.append(cells)
    return "\n".join(lines)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load1():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def wait_for_quiet():
    t0 = time.time()
    while True:
        load = load1()
        if not load >= ARGS.max_load:
            return load, time.time() - t0
        if time.time() - t0 > ARGS.max_wait:
            log(f"WARNING: load average still {load:.2f} after {ARGS.max_wait:.0f} s; measuring anyway "
                "(interleaving keeps the ratios fair, but the absolute figures will be low)")
            return load, time.time() - t0
        log(f"load average {load:.2f} >= {ARGS.max_load}: another job is using the CPU; waiting")
        time.sleep(20)


def main():
    binary = ARGS.binary or os.path.join(ARGS.build_dir, "bin", "fw-bench-model")
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} not found: build it first (cmake --build BUILD_DIR --target fw-bench-model)")
    torch.set_num_threads(ARGS.threads)
    torch.set_num_interop_threads(1)
    impls = [i for i in ARGS.impls.split(",") if i]
    cases = [c for c in ARGS.generate.split(",") if c]
    for c in cases:
        if c not in CASES:
            sys.exit(f"--generate: unknown case {c!r} (equal, ragged)")
    load_start, waited = wait_for_quiet()
    started = time.time()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in [m for m in ARGS.models.split(",") if m]:
            results.append(bench_model(name, binary, impls, cases, tmp))

    md = table(results, impls)
    md_best = table(results, impls, "best_tokens_per_s")
    env = dict(cpu=cpu_name(), cores=os.cpu_count(), threads=ARGS.threads, torch=torch.__version__,
               transformers=transformers.__version__, quick=ARGS.quick, load_average_start=load_start,
               waited_s=round(waited), load_average_end=load1(), wall_seconds=round(time.time() - started, 1),
               date=time.strftime("%Y-%m-%d %H:%M:%S"))
    print("Medians of the interleaved runs:\n")
    print(md)
    print("\nBest run of each side (the least disturbed one; compare with the medians to judge the noise):\n")
    print(md_best)
    print()
    print(f"{env['cpu']} ({env['cores']} cores), {ARGS.threads} threads, {ARGS.dtype}; "
          f"torch {torch.__version__}, transformers {transformers.__version__}; load average "
          f"{load_start:.2f} at start, {env['load_average_end']:.2f} at end; {env['wall_seconds']:.0f} s"
          f"{' (--quick)' if ARGS.quick else ''}.")
    for r in results:
        for key, m in r["measures"].items():
            for impl, a in m.get("agreement_with_flywheel", {}).items():
                print(f"Greedy tokens, {r['model']} {key}, flywheel vs {impl}: {a['identical_sequences']:.0%} of "
                      f"sequences identical, {a['matching_prefix']:.0%} matching prefix.")
    if ARGS.out:
        with open(ARGS.out, "w") as f:
            json.dump(dict(env=env, results=results, table=md, table_best=md_best), f, indent=1)
        log(f"wrote {ARGS.out}")


if __name__ == "__main__":
    main()
