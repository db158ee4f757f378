#!/usr/bin/env python3
"""DPO training throughput: `flywheel dpo` next to TRL's DPOTrainer.

  dpo_vs_trl.py [--binary build/bin/flywheel] [--threads 2] [--quick] [--steps N] [--warmup N]
                [--configs tiny,100m] [--refs live,precomputed] [--sides flywheel,trl]
                [--max-load 0.7] [--out results.json]

Two sides train the same model on the same preference pairs, one after the other, each in
its own process (so peak memory is its own), in two reference modes:

  live         the reference log-probs come from a frozen copy of the starting policy,
               one extra no-grad forward of the pair batch per step (flywheel
               `dpo.precompute_ref_logps: false`; TRL `precompute_ref_log_probs=False`, its
               default, which loads the reference model from the policy's folder).
  precomputed  one pass over all the train pairs before training, then only the policy
               per step (flywheel `precompute_ref_logps: true`, cached beside the data (the
               cache is deleted before each run); TRL `precompute_ref_log_probs=True`).
               The step times exclude that pass; its time is reported on its own.

  flywheel  `flywheel dpo RECIPE.yaml` (a subprocess); step times and token counts from its
            metrics.jsonl (`timing/step`: batching, collation, policy (+ reference)
            forwards, backward, clip, AdamW); the precompute pass is timed between its
            "precomputing reference log-probs" and "cached reference log-probs" log lines.
  trl       TRL's DPOTrainer (DPOConfig: use_cpu, report_to none, no eval, no saving,
            sequential sampler, constant LR, max_grad_norm 1.0, its default optimizer
            `adamw_torch_fused`). Step time = the interval between consecutive
            `on_step_end` callbacks, i.e. everything the trainer does per step (data
            loading, collation, forwards, backward, clip, optimizer, its metrics and
            logging); the precompute pass = its `_precompute_ref_logps`.

What is the same on both sides:
  - data: `flywheel synth --max-difficulty 1` preference pairs (prompt / chosen / rejected
    message lists), tokenized here exactly as flywheel does with its `plain` chat template
    (a sentencepiece tokenizer.model trained by flywheel): prompt = the common prefix of
    the prompt with "Assistant:" and prompt + completion, chosen / rejected = the rest
    (" reply" and the end token). flywheel reads the JSONL (the first K kept pairs, K =
    steps x micro-batch, so one epoch is the run); TRL gets the same token ids through its
    own preprocessing, from a stand-in tokenizer that maps every token id to one character,
    and the driver checks the ids TRL ends up with against its own. flywheel's per-step
    pair and token counts and its prompt / completion token totals are checked too.
  - order: flywheel's epoch plan (shuffle, length grouping; its RNG) re-implemented here;
    TRL's dataset is written in that order and read sequentially, so step k has the same
    pairs on both sides. Rows are right-padded to the longest sequence of the micro-batch
    (chosen and rejected in one batch of 2B rows); flywheel passes no attention mask
    (causal attention makes right padding harmless), TRL its mask.
  - model: the benchmark models (bench_common.MODELS, built once by transformers with a
    seeded random init and saved with save_pretrained); the reference is that same folder,
    i.e. a frozen copy of the starting policy. fp32 on the CPU, sdpa attention for TRL.
  - loss and optimizer: sigmoid DPO loss, beta 0.1, mean over the pairs of the step;
    AdamW lr 1e-4 constant, betas (0.9, 0.95), eps 1e-8, weight decay 0, grad clip 1.0,
    grad_accum 1.
  - threads: `threads=N` for flywheel; torch.set_num_threads(N), one inter-op thread and
    OMP_NUM_THREADS/MKL_NUM_THREADS=N for TRL.

The first warm-up steps are dropped; the table reports the medians over the measured steps
of pairs/s and tokens/s (non-padding tokens of both sequences of each pair), the median step
time, flywheel / TRL on pairs/s (above 1 = flywheel is faster), the precompute pass and peak
RSS (max resident set of the side's process, from wait4; it includes the precompute pass).
The losses of steps 1 and 2 of both sides are printed too: at step 1 the policy is the
reference, so both are ln 2; step 2 depends on the first update, so it checks that both
sides computed the same gradients and took the same AdamW step.

Runs offline (HF_HUB_OFFLINE=1): nothing is downloaded.
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time

from bench_common import (NOISY, build_model, cpu_name, default_model_cache, encode_plain,
                          encode_plain_generation_prompt, human_int, load1, log, model_shape, plan_epoch,
                          python_env, run_measured, set_log_tag, setup_torch, synth_data, tail, train_tokenizer,
                          wait_for_idle_cpu, wait_for_quiet)

# name -> model, pairs per step, steps (warm-up + measured; quick variants)
CONFIGS = {
    "tiny": dict(model="tiny", micro_batch=16, warmup=5, steps=60, quick_warmup=3, quick_steps=20),
    "100m": dict(model="100m", micro_batch=8, warmup=2, steps=12, quick_warmup=1, quick_steps=3),
}
REFS = ("live", "precomputed")
SIDES = ("flywheel", "trl")
MAX_SEQ_LEN = 256
TOKENIZER_VOCAB = 512
SYNTH_N, SYNTH_SEED = 3000, 1
SEED = 1
OPTIM = dict(lr=1e-4, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.0, grad_clip=1.0)
DPO = dict(loss_type="sigmoid", beta=0.1)
CHAR_BASE = 0xE000  # TRL's stand-in tokenizer: token id i <-> the character U+E000 + i
set_log_tag("dpo-bench")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default=None, help="flywheel (default: BUILD_DIR/bin/flywheel)")
    p.add_argument("--build-dir", default="build", help="where to find bin/flywheel")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads for every side")
    p.add_argument("--quick", action="store_true", help="few steps (a smoke run, ~3-4 minutes)")
    p.add_argument("--steps", type=int, default=None, help="measured steps per config (after warm-up)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps per config (dropped)")
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma list of: " + ", ".join(CONFIGS))
    p.add_argument("--refs", default=",".join(REFS), help="comma list of reference modes: " + ", ".join(REFS))
    p.add_argument("--sides", default=",".join(SIDES), help="comma list of: " + ", ".join(SIDES))
    p.add_argument("--work", default=None, help="scratch folder (default: a temporary one, removed)")
    p.add_argument("--cache", default=default_model_cache(),
                   help="where the generated model folders are kept (made once, reused)")
    p.add_argument("--max-load", type=float, default=0.7,
                   help="wait until the 1-minute load average is below this before measuring")
    p.add_argument("--max-wait", type=float, default=300, help="give up waiting after this many seconds")
    p.add_argument("--max-busy", type=float, default=0.2,
                   help="before each side, wait (up to --max-wait s) until other processes use less than "
                        "this share of the CPU")
    p.add_argument("--out", default=None, help="write all results here as JSON")
    p.add_argument("--worker", choices=("trl",), help=argparse.SUPPRESS)
    p.add_argument("--spec", help=argparse.SUPPRESS)
    return p.parse_args()


# ---- data -------------------------------------------------------------------------------

def common_prefix(a, b):
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


def encode_pair(sp, rec, bos, eos):
    """fw::data::tokenize_preference_record for a record with an explicit prompt (message
    lists) under the plain template: (prompt_ids, chosen_ids, rejected_ids), or None where
    flywheel skips the pair."""
    prompt, chosen, rejected = rec["prompt"], rec["chosen"], rec["rejected"]
    p = encode_plain_generation_prompt(sp, prompt, bos, eos)
    fc = encode_plain(sp, prompt + chosen, bos, eos)[0]
    fr = encode_plain(sp, prompt + rejected, bos, eos)[0]
    n = min(common_prefix(p, fc), common_prefix(p, fr))
    c, r = fc[n:], fr[n:]
    if c == r or not c or not r:
        return None
    if n + max(len(c), len(r)) > MAX_SEQ_LEN:
        return None  # truncation: drop
    return p[:n], c, r


def prepare_data(work, binary):
    """synth preference pairs -> tokenizer.model (trained by flywheel on the synth
    conversations) -> our tokenization of every usable pair (with its JSONL line)."""
    import sentencepiece as spm
    data_dir = os.path.join(work, "synth")
    synth_data(binary, data_dir, SYNTH_N, SYNTH_SEED, extra=("--max-difficulty", "1"), check_file="preferences.jsonl")
    tok_path = train_tokenizer(binary, work, os.path.join(data_dir, "sft.jsonl"), TOKENIZER_VOCAB)
    sp = spm.SentencePieceProcessor(model_file=tok_path)
    bos, eos, pad = sp.bos_id(), sp.eos_id(), sp.pad_id()
    if min(bos, eos, pad) < 0:
        raise SystemExit("the tokenizer lacks bos/eos/pad")
    lines, pairs = [], []
    with open(os.path.join(data_dir, "preferences.jsonl")) as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            enc = encode_pair(sp, rec, bos, eos)
            if enc is None:
                continue
            lines.append(line if line.endswith("\n") else line + "\n")
            pairs.append(enc)
    return dict(lines=lines, pairs=pairs, tokenizer=tok_path, pad=pad, bos=bos, eos=eos, vocab=sp.get_piece_size())


def pair_tokens(pair):
    """Non-padding tokens of a pair: prompt + chosen and prompt + rejected."""
    p, c, r = pair
    return 2 * len(p) + len(c) + len(r)


# ---- flywheel -----------------------------------------------------------------------------

def flywheel_recipe(case, data, model_path, train_file, out_dir, threads, total_steps, precompute):
    o = OPTIM
    return f"""# written by bench/dpo_vs_trl.py
output_dir: {out_dir}
seed: {SEED}
deterministic: false
device: cpu
dtype: float32
threads: {threads}
log_every_steps: 1
model:
  path: {model_path}
  chat_template: plain
tokenizer:
  path: {data['tokenizer']}
data:
  train: [{train_file}]
  eval: []
  max_seq_len: {MAX_SEQ_LEN}
  truncation: drop
  max_examples: 0
dpo:
  loss_type: {DPO['loss_type']}
  beta: {DPO['beta']}
  label_smoothing: 0.0
  reference_path: ""
  precompute_ref_logps: {str(precompute).lower()}
optim:
  lr: {o['lr']}
  weight_decay: {o['weight_decay']}
  beta1: {o['beta1']}
  beta2: {o['beta2']}
  eps: {o['eps']}
  grad_clip: {o['grad_clip']}
schedule:
  kind: constant
  warmup_steps: 0
train:
  epochs: 1
  max_steps: {total_steps}
  micro_batch_size: {case['micro_batch']}
  grad_accum: 1
checkpoint:
  every_steps: 0
  keep_last: 1
  resume: never
"""


def line_time(lines, pattern):
    for t, line in lines:
        if pattern in line:
            return t
    return None


def run_flywheel(args, case, ref, data, model_path, sub, cdir, total):
    out_dir = os.path.join(cdir, f"flywheel-{ref}")
    shutil.rmtree(out_dir, ignore_errors=True)
    cache = sub["train_file"] + ".ref_logps.safetensors"
    if os.path.exists(cache):
        os.remove(cache)  # precompute every time: its time and memory are part of what is measured
    recipe = os.path.join(cdir, f"flywheel-{ref}.yaml")
    with open(recipe, "w") as f:
        f.write(flywheel_recipe(case, data, model_path, sub["train_file"], out_dir, args.threads, total,
                                ref == "precomputed"))
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    log_path = os.path.join(cdir, f"flywheel-{ref}.log")
    run = run_measured([args.binary, "dpo", recipe], env, log_path, line_times=True)
    lines = run.pop("lines")
    if run["rc"] != 0:
        raise RuntimeError(f"flywheel dpo failed (exit {run['rc']}):\n{tail(log_path)}")
    # The data flywheel kept must be ours: pair count, prompt and completion token totals.
    stats = next((l for _, l in lines if "train pairs:" in l), "")
    m = re.search(r"(\d+)/(\d+) preference pairs kept.*?(\d+) prompt tokens, (\d+) completion tokens", stats)
    want = (len(sub["pairs"]), sum(len(p) for p, _, _ in sub["pairs"]),
            sum(len(c) + len(r) for _, c, r in sub["pairs"]))
    got = (int(m.group(1)), int(m.group(3)), int(m.group(4))) if m else None
    if got != want:
        raise RuntimeError(f"flywheel's tokenization differs from the driver's: (pairs, prompt tokens, completion "
                           f"tokens) {got} vs {want}; log line: {stats!r}")
    steps = []
    with open(os.path.join(out_dir, "metrics.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if "timing/step" in rec:
                steps.append(dict(step=rec["step"], seconds=rec["timing/step"], loss=rec["loss"],
                                  tokens=round(rec["tokens_per_second"] * rec["timing/step"]),
                                  grad_norm=rec.get("grad_norm"),
                                  timing={k[7:]: v for k, v in rec.items() if k.startswith("timing/")}))
    shutil.rmtree(out_dir, ignore_errors=True)  # checkpoints of a 100M model are large
    res = dict(steps=steps, **run)
    t0, t1 = line_time(lines, "precomputing reference log-probs"), line_time(lines, "cached reference log-probs")
    if ref == "precomputed":
        if t0 is None or t1 is None:
            raise RuntimeError("flywheel did not precompute the reference log-probs:\n" + tail(log_path))
        res["precompute_s"] = t1 - t0
    # Process start -> first step (loading, tokenization, the precompute pass), approximately:
    # the progress line of step 1 comes right after it.
    t_first = line_time(lines, "step 1/")
    res["startup_s"] = t_first - steps[0]["seconds"] if t_first is not None and steps else None
    res["log_times"] = [(round(t, 3), l) for t, l in lines if l.startswith("[flywheel]")]
    return res


# ---- TRL ----------------------------------------------------------------------------------

def run_trl(args, case, ref, data, model_path, sub, cdir, total):
    spec = dict(model=model_path, threads=args.threads, steps=total, micro_batch=case["micro_batch"],
                precompute=ref == "precomputed", max_seq_len=MAX_SEQ_LEN, pad=data["pad"], bos=data["bos"],
                eos=data["eos"], vocab=data["vocab"], optim=OPTIM, dpo=DPO, seed=SEED,
                pairs=[sub["pairs"][row[0]] for mb in sub["plan"] for row in mb],
                out=os.path.join(cdir, f"trl-{ref}.result.json"), scratch=os.path.join(cdir, f"trl-{ref}-scratch"))
    spec_path = os.path.join(cdir, f"trl-{ref}.spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    log_path = os.path.join(cdir, f"trl-{ref}.log")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "trl", "--spec", spec_path]
    run = run_measured(cmd, python_env(args.threads), log_path)
    if run["rc"] != 0:
        raise RuntimeError(f"trl worker failed (exit {run['rc']}):\n{tail(log_path)}")
    with open(spec["out"]) as f:
        res = json.load(f)
    shutil.rmtree(spec["scratch"], ignore_errors=True)
    res.update(run)
    return res


def worker_trl(spec):
    torch = setup_torch(spec["threads"])
    import datasets
    import trl
    from tokenizers import Regex, Tokenizer as TkTokenizer, models as tk_models, pre_tokenizers
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, TrainerCallback
    from trl import DPOConfig, DPOTrainer
    datasets.disable_progress_bars()
    os.environ.setdefault("TQDM_DISABLE", "1")
    t_start = time.perf_counter()

    # TRL tokenizes the data itself (DPOTrainer has no pre-tokenized input). A stand-in
    # tokenizer makes that tokenization ours: token id i is the character U+E000+i, every
    # character one word; no normalizer, no special tokens added. The texts are our ids
    # written that way, and the ids TRL ends up with are checked below.
    def text(ids):
        return "".join(chr(CHAR_BASE + i) for i in ids)

    vocab = {chr(CHAR_BASE + i): i for i in range(spec["vocab"])}
    tk = TkTokenizer(tk_models.WordLevel(vocab, unk_token=chr(CHAR_BASE)))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token=chr(CHAR_BASE + spec["bos"]),
                                  eos_token=chr(CHAR_BASE + spec["eos"]), pad_token=chr(CHAR_BASE + spec["pad"]))
    assert tok.pad_token_id == spec["pad"] and tok.eos_token_id == spec["eos"]

    # One dataset row per pair, in the plan's order; the sequential sampler turns every
    # per_device_train_batch_size rows into one of the plan's micro-batches.
    pairs = spec["pairs"]
    ds = datasets.Dataset.from_list([dict(prompt=text(p), chosen=text(c), rejected=text(r)) for p, c, r in pairs])

    model = AutoModelForCausalLM.from_pretrained(spec["model"], dtype=torch.float32, attn_implementation="sdpa")
    o, d = spec["optim"], spec["dpo"]
    cfg = DPOConfig(
        output_dir=spec["scratch"], per_device_train_batch_size=spec["micro_batch"], gradient_accumulation_steps=1,
        max_steps=spec["steps"], learning_rate=o["lr"], lr_scheduler_type="constant", warmup_steps=0,
        weight_decay=o["weight_decay"], adam_beta1=o["beta1"], adam_beta2=o["beta2"], adam_epsilon=o["eps"],
        max_grad_norm=o["grad_clip"], logging_steps=1, save_strategy="no", eval_strategy="no", report_to="none",
        use_cpu=True, dataloader_num_workers=0, dataloader_pin_memory=False, train_sampling_strategy="sequential",
        seed=spec["seed"], data_seed=spec["seed"], bf16=False, fp16=False, disable_tqdm=True, dataset_num_proc=None,
        loss_type=[d["loss_type"]], beta=d["beta"], max_length=spec["max_seq_len"],
        precompute_ref_log_probs=spec["precompute"], precompute_ref_batch_size=spec["micro_batch"])

    class Timer(TrainerCallback):
        def __init__(self):
            self.begin, self.end = [], []

        def on_step_begin(self, args, state, control, **kw):
            self.begin.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kw):
            self.end.append(time.perf_counter())

    precompute = []

    class TimedDPOTrainer(DPOTrainer):
        """DPOTrainer, with its precompute pass timed (nothing else changed)."""

        def _precompute_ref_logps(self, dataset, name, batch_size):
            t0 = time.perf_counter()
            out = super()._precompute_ref_logps(dataset, name, batch_size)
            precompute.append(time.perf_counter() - t0)
            return out

    timer = Timer()
    t_init = time.perf_counter()
    trainer = TimedDPOTrainer(model=model, args=cfg, train_dataset=ds, processing_class=tok, callbacks=[timer])
    init_s = time.perf_counter() - t_init

    got = trainer.train_dataset
    if len(got) != len(pairs):
        raise SystemExit(f"TRL kept {len(got)} of {len(pairs)} pairs")
    for k, (p, c, r) in enumerate(pairs):
        row = got[k]
        if row["prompt_ids"] != p or row["chosen_ids"] != c or row["rejected_ids"] != r:
            raise SystemExit(f"TRL's tokenization of pair {k} differs from ours: {row['prompt_ids']} "
                             f"{row['chosen_ids']} {row['rejected_ids']} vs {p} {c} {r}")
    if spec["precompute"] and trainer.ref_model is not None:
        raise SystemExit("TRL kept its reference model despite precompute_ref_log_probs")
    if not spec["precompute"] and trainer.ref_model is None:
        raise SystemExit("TRL has no reference model")

    t_train = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t_train

    # Per logged step: the loss and TRL's running count of the tokens it trained on (the
    # attention mask's sum over its batches): the driver checks the differences against
    # the plan, so TRL's batches are known to be the plan's.
    logged = [h for h in trainer.state.log_history if "loss" in h and "num_tokens" in h]
    steps = []
    for k, (b, e) in enumerate(zip(timer.begin, timer.end)):
        seconds = e - (timer.end[k - 1] if k > 0 else b)
        h = logged[k] if k < len(logged) else {}
        tokens = round(h["num_tokens"] - (logged[k - 1]["num_tokens"] if k > 0 else 0)) if h else None
        steps.append(dict(seconds=seconds, begin_to_end_s=e - b, loss=h.get("loss"), tokens=tokens,
                          grad_norm=h.get("grad_norm")))
    with open(spec["out"], "w") as f:
        json.dump(dict(steps=steps, precompute_s=precompute[0] if precompute else None, init_s=init_s,
                       train_s=train_s, startup_s=t_train - t_start, optimizer=str(cfg.optim), trl=trl.__version__,
                       attn_implementation="sdpa"), f)


# ---- the driver -------------------------------------------------------------------------

def summarise(res, mb, warmup):
    """Medians over the measured steps (step index >= warmup)."""
    measured = res["steps"][warmup:]
    if not measured:
        return {}
    secs = [s["seconds"] for s in measured]
    return dict(
        measured_steps=len(measured),
        median_step_s=statistics.median(secs),
        pairs_per_s=statistics.median(mb / s for s in secs),
        tokens_per_s=statistics.median(s["tokens"] / s["seconds"] for s in measured),
        aggregate_pairs_per_s=mb * len(measured) / sum(secs),
        aggregate_tokens_per_s=sum(s["tokens"] for s in measured) / sum(secs),
    )


def run_side(args, side, case, ref, data, model_path, sub, cdir, total):
    """One run of one side (after waiting for the other processes to go quiet); checks
    that its batches are the plan's."""
    waited = wait_for_idle_cpu(args.max_busy, args.max_wait)
    fn = run_flywheel if side == "flywheel" else run_trl
    res = fn(args, case, ref, data, model_path, sub, cdir, total)
    got = [s["tokens"] for s in res["steps"]]
    if got != sub["counts"]:
        bad = next((i for i, (a, b) in enumerate(zip(got, sub["counts"])) if a != b), min(len(got), total))
        raise RuntimeError(f"{side}'s batches differ from the plan at step {bad + 1}: tokens "
                           f"{got[bad] if bad < len(got) else None} vs "
                           f"{sub['counts'][bad] if bad < len(sub['counts']) else None}")
    res["waited_for_idle_s"] = waited
    return res


def fmt_s(s):
    return "—" if s is None else (f"{s * 1000:,.0f} ms" if s < 10 else f"{s:,.1f} s")


def table(results, sides):
    lines = ["| config | reference | side | pairs/s | tokens/s | median step | flywheel / TRL | precompute | peak RSS |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in results["configs"].items():
        for ref, rr in r["refs"].items():
            fw = rr["sides"].get("flywheel", {}).get("summary", {}).get("pairs_per_s")
            for side in sides:
                s = rr["sides"].get(side)
                if not s:
                    continue
                label = "TRL" if side == "trl" else side
                if "error" in s:
                    lines.append(f"| {name} | {ref} | {label} | failed: {s['error'].splitlines()[0][:60]} "
                                 "| | | | | |")
                    continue
                m = s["summary"]
                ratio = "—" if side == "flywheel" or not fw else f"{fw / m['pairs_per_s']:.2f}x"
                if s.get("other_cpu_share", 0) > NOISY:
                    label += " (noisy*)"
                lines.append(f"| {name} | {ref} | {label} | {m['pairs_per_s']:,.1f} | {human_int(m['tokens_per_s'])} | "
                             f"{fmt_s(m['median_step_s'])} | {ratio} | {fmt_s(s.get('precompute_s'))} | "
                             f"{s['peak_rss_mib']:,.0f} MiB |")
    noisy = [1 for r in results["configs"].values() for rr in r["refs"].values() for v in rr["sides"].values()
             if v.get("other_cpu_share", 0) > NOISY]
    if noisy:
        lines.append(f"\n\\* other processes used more than {NOISY:.0%} of the CPU during this run: "
                     "its figures are low; rerun on a quiet machine.")
    return "\n".join(lines)


def loss_notes(results):
    """Per config and reference mode: the step-1 and step-2 losses of each side and their
    largest difference over all steps."""
    out = []
    for name, r in results["configs"].items():
        for ref, rr in r["refs"].items():
            ok = {s: v for s, v in rr["sides"].items() if "losses" in v}
            if not ok:
                continue
            parts = []
            for k in (0, 1):
                vals = [f"{s} {v['losses'][k]:.6f}" for s, v in ok.items() if len(v["losses"]) > k]
                parts.append(f"step {k + 1}: " + ", ".join(vals))
            note = f"- {name}, {ref} reference: " + "; ".join(parts)
            if "flywheel" in ok and "trl" in ok:
                a, b = ok["flywheel"]["losses"], ok["trl"]["losses"]
                d = [abs(x - y) for x, y in zip(a, b) if x is not None and y is not None]
                if len(d) >= 2:
                    note += f"; |flywheel - TRL| step 1 {d[0]:.1e}, step 2 {d[1]:.1e}, max over {len(d)} steps " \
                            f"{max(d):.1e}"
            out.append(note)
    return out


def main(args):
    args.binary = args.binary or os.path.join(args.build_dir, "bin", "flywheel")
    if not os.access(args.binary, os.X_OK):
        raise SystemExit(f"no flywheel binary at {args.binary} (build it: ninja -C build flywheel)")
    args.binary = os.path.abspath(args.binary)
    configs = [c for c in args.configs.split(",") if c]
    refs = [r for r in args.refs.split(",") if r]
    sides = [s for s in args.sides.split(",") if s]
    for items, known, what in ((configs, CONFIGS, "config"), (refs, REFS, "reference mode"), (sides, SIDES, "side")):
        for x in items:
            if x not in known:
                raise SystemExit(f"unknown {what} {x!r} (expected: {', '.join(known)})")
    os.makedirs(args.cache, exist_ok=True)
    tmp = None
    if args.work:
        os.makedirs(args.work, exist_ok=True)
        args.work_dir = os.path.abspath(args.work)
    else:
        tmp = tempfile.mkdtemp(prefix="dpo-bench-")
        args.work_dir = tmp
    try:
        return run_all(args, configs, refs, sides)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def run_all(args, configs, refs, sides):
    import torch
    import transformers
    import trl
    data = prepare_data(args.work_dir, args.binary)
    n = len(data["pairs"])
    log(f"data: {n} usable pairs, {sum(pair_tokens(p) for p in data['pairs'])} tokens (prompt + chosen and "
        f"prompt + rejected); vocab {data['vocab']}")
    models = {}
    for c in configs:
        name = CONFIGS[c]["model"]
        if name not in models:
            models[name] = build_model(args.cache, args.work_dir, name, data["vocab"], args.threads)

    load_before, waited = wait_for_quiet(args.max_load, args.max_wait)
    results = dict(
        settings=dict(threads=args.threads, quick=args.quick, max_seq_len=MAX_SEQ_LEN, optim=OPTIM, dpo=DPO,
                      synth=dict(n=SYNTH_N, seed=SYNTH_SEED, max_difficulty=1), seed=SEED, usable_pairs=n,
                      sides=sides, refs=refs, configs={c: CONFIGS[c] for c in configs},
                      models={k: model_shape(k, data["vocab"]) for k in models}),
        machine=dict(cpu=cpu_name(), cores=os.cpu_count(), load_before=load_before, waited_s=waited,
                     torch=torch.__version__, transformers=transformers.__version__, trl=trl.__version__,
                     python=platform.python_version(), date=time.strftime("%Y-%m-%d %H:%M:%S")),
        configs={})
    for c in configs:
        case = CONFIGS[c]
        mb = case["micro_batch"]
        warmup = args.warmup if args.warmup is not None else case["quick_warmup" if args.quick else "warmup"]
        measured = args.steps if args.steps is not None else case["quick_steps" if args.quick else "steps"]
        total = warmup + measured
        k = total * mb
        if k > n:
            raise SystemExit(f"{c}: {total} steps of {mb} pairs need {k} pairs; the data has {n}")
        # The first k usable pairs: exactly one epoch of `total` full micro-batches.
        cdir = os.path.join(args.work_dir, c)
        os.makedirs(cdir, exist_ok=True)
        train_file = os.path.join(cdir, "train.jsonl")
        with open(train_file, "w") as f:
            f.writelines(data["lines"][:k])
        pairs = data["pairs"][:k]
        lengths = [len(p) + max(len(ch), len(rj)) for p, ch, rj in pairs]
        plan = plan_epoch(lengths, MAX_SEQ_LEN, mb, False, SEED)
        assert len(plan) == total and all(len(b) == mb for b in plan)
        counts = [sum(pair_tokens(pairs[row[0]]) for row in b) for b in plan]
        sub = dict(train_file=train_file, pairs=pairs, plan=plan, counts=counts)
        entry = dict(warmup=warmup, measured=measured, micro_batch=mb, pairs=k, tokens_per_step=counts,
                     longest_sequence=[max(lengths[row[0]] for row in b) for b in plan], refs={})
        results["configs"][c] = entry
        for ref in refs:
            rr = entry["refs"][ref] = dict(sides={})
            for side in sides:
                log(f"{c}, {ref} reference: {side}, {warmup} warm-up + {measured} measured steps of {mb} pairs")
                try:
                    res = run_side(args, side, case, ref, data, models[case["model"]], sub, cdir, total)
                    res["summary"] = summarise(res, mb, warmup)
                    m = res["summary"]
                    rr["sides"][side] = dict(summary=m, peak_rss_mib=res["peak_rss_mib"],
                                             other_cpu_share=res["other_cpu_share"],
                                             precompute_s=res.get("precompute_s"),
                                             losses=[s["loss"] for s in res["steps"]], run=res)
                    pre = f", precompute {res['precompute_s']:.2f} s" if res.get("precompute_s") is not None else ""
                    log(f"{c}, {ref}: {side}: {m['pairs_per_s']:,.1f} pairs/s, {m['tokens_per_s']:,.0f} tok/s, "
                        f"median step {m['median_step_s'] * 1000:.0f} ms{pre}, peak RSS {res['peak_rss_mib']:,.0f} "
                        f"MiB, step-1/2 loss {res['steps'][0]['loss']:.6f}/"
                        f"{res['steps'][1]['loss'] if len(res['steps']) > 1 else math.nan:.6f}, "
                        f"other processes {res['other_cpu_share']:.0%} of the CPU")
                except Exception as e:  # keep the other sides' figures
                    log(f"{c}, {ref}: {side} FAILED: {e}")
                    rr["sides"][side] = dict(error=str(e))
    results["machine"]["load_after"] = load1()

    print(f"## DPO throughput: flywheel vs TRL's DPOTrainer ({args.threads} thread{'s' if args.threads != 1 else ''}, "
          "fp32, CPU)\n")
    print(f"{results['machine']['cpu']}, {results['machine']['cores']} cores; torch {torch.__version__}, "
          f"transformers {transformers.__version__}, trl {trl.__version__}; "
          f"load average before {load_before:.2f}\n")
    print(table(results, sides))
    print()
    for c, entry in results["configs"].items():
        tok = entry["tokens_per_step"][entry["warmup"]:]
        print(f"- {c}: {entry['measured']} measured steps after {entry['warmup']} warm-up, {entry['micro_batch']} "
              f"pairs per step, {statistics.mean(tok):.0f} tokens per step on average (longest sequence "
              f"{max(entry['longest_sequence'])})")
    for note in loss_notes(results):
        print(note)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
        log(f"wrote {args.out}")
    failed = [1 for e in results["configs"].values() for rr in e["refs"].values() for v in rr["sides"].values()
              if "error" in v]
    return 1 if failed else 0


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.worker:
        with open(ARGS.spec) as f:
            SPEC = json.load(f)
        {"trl": worker_trl}[ARGS.worker](SPEC)
    else:
        sys.exit(main(ARGS))
