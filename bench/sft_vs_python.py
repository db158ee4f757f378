#!/usr/bin/env python3
"""SFT training throughput: `flywheel sft` next to a plain PyTorch loop and TRL's SFTTrainer.

  sft_vs_python.py [--binary build/bin/flywheel] [--threads 2] [--quick] [--steps N]
                   [--configs tiny,tiny-packed,100m,100m-packed] [--sides flywheel,torch,trl]
                   [--max-load 0.7] [--out results.json]

Three sides train the same model on the same batches, one after the other, each in its own
process (so peak memory is its own):

  flywheel  `flywheel sft RECIPE.yaml` (a subprocess); step times and token counts from
            its metrics.jsonl (`timing/step`: collation + forward/backward + clip + AdamW).
  torch     a plain PyTorch loop: transformers AutoModelForCausalLM (sdpa attention),
            cross_entropy(sum) / trainable tokens, backward, clip_grad_norm_(1.0),
            torch.optim.AdamW (its CPU default), zero_grad. Timed per step, collation
            (Python lists -> tensors) included.
  trl       TRL's SFTTrainer (SFTConfig: use_cpu, report_to none, no eval, no saving,
            sequential sampler, constant LR, max_grad_norm 1.0, its default optimizer).
            Step time = the interval between consecutive `on_step_end` callbacks, i.e.
            everything the trainer does per step (data loading, forward/backward, clip,
            optimizer, scheduler, logging).

What is the same on all three sides:
  - data: `flywheel synth` conversations, tokenized once here exactly as flywheel's
    `plain` chat template does it (sentencepiece, tokenizer.model trained by flywheel);
    loss on the assistant replies and their end token. The Python sides get the token ids
    and loss masks; flywheel gets the JSONL. Every step's token and trainable-token counts
    from flywheel's metrics are checked against this, so the batches are the same.
  - batches: flywheel's epoch plan (shuffle, length grouping when unpacked, greedy packing
    when packed) re-implemented here bit for bit (its xoshiro256** RNG included); the
    Python sides consume exactly those micro-batches, in that order.
    unpacked: one conversation per row, right-padded to the longest row of the
    micro-batch; no attention mask (causal attention makes padding harmless) on flywheel
    and the torch loop; TRL builds its usual attention mask from the padding.
    packed: several conversations per row (<= max_seq_len), positions restarting per
    conversation, attention kept within each (flywheel: segment ids; torch: transformers
    derives a block-diagonal mask from the position ids; TRL: `padding_free=True`, the
    path TRL's own `packing=True` uses, fed our packed rows as its packed examples; it
    flattens the micro-batch into one row and, without FlashAttention, attends through a
    dense block-diagonal mask over the whole flattened row).
  - model: built once with transformers (seeded random init), saved with save_pretrained
    and loaded by all three sides (same weights). fp32 on the CPU.
  - optimizer: AdamW lr 1e-4 constant, betas (0.9, 0.95), eps 1e-8, weight decay 0, grad
    clip 1.0; loss = sum of token CE / trainable tokens of the step (grad_accum 1).
  - threads: `threads=N` for flywheel; torch.set_num_threads(N), one inter-op thread and
    OMP_NUM_THREADS/MKL_NUM_THREADS=N for the Python sides.

The first warm-up steps are dropped; the table reports the median over the measured steps
of trainable tokens/s (assistant tokens the loss is on) and all tokens/s (non-padding
tokens), and peak RSS (max resident set of the side's process, from wait4). The ratio is
flywheel / other on trainable tokens/s (above 1 = flywheel is faster). The step-1 losses of
the three sides are printed too: same weights and same batch, so they agree to ~1e-5.

Runs offline (HF_HUB_OFFLINE=1): nothing is downloaded.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

from bench_common import (IGNORE, MODELS, NOISY, build_model as common_build_model, cpu_name, default_model_cache,
                          encode_plain, human_int, load1, log, plan_epoch, python_env, run_measured, set_log_tag,
                          setup_torch, synth_data, tail, train_tokenizer, wait_for_idle_cpu, wait_for_quiet,
                          word_level_tokenizer, worker_build)

# name -> model shape, batching, steps (warm-up + measured; quick variants)
CONFIGS = {
    "tiny": dict(model="tiny", packing=False, micro_batch=8, warmup=5, steps=40,
                 quick_warmup=2, quick_steps=8),
    "tiny-packed": dict(model="tiny", packing=True, micro_batch=8, warmup=3, steps=20,
                        quick_warmup=1, quick_steps=4),
    "100m": dict(model="100m", packing=False, micro_batch=8, warmup=2, steps=10,
                 quick_warmup=1, quick_steps=2),
    "100m-packed": dict(model="100m", packing=True, micro_batch=4, warmup=1, steps=4,
                        quick_warmup=1, quick_steps=1),
}
SIDES = ("flywheel", "torch", "trl")
MAX_SEQ_LEN = 256
TOKENIZER_VOCAB = 512
SYNTH_N, SYNTH_SEED = 6000, 1
SEED = 1
OPTIM = dict(lr=1e-4, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.0, grad_clip=1.0)
set_log_tag("sft-bench")
# The models (bench_common.MODELS): tiny = the shape of configs/sft/tiny.yaml, vocab = the
# tokenizer's 512; 100m = ~125M parameters, the vocab padded up to 32000 (Llama-2's).


# ---- the driver -------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default=None, help="flywheel (default: BUILD_DIR/bin/flywheel)")
    p.add_argument("--build-dir", default="build", help="where to find bin/flywheel")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads for every side")
    p.add_argument("--quick", action="store_true", help="few steps (a smoke run, ~2 minutes)")
    p.add_argument("--steps", type=int, default=None, help="measured steps per config (after warm-up)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps per config (dropped)")
    p.add_argument("--rounds", type=int, default=1,
                   help="run every side this many times, alternating the order (medians pool all rounds)")
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma list of: " + ", ".join(CONFIGS))
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
    p.add_argument("--worker", choices=("torch", "trl", "build"), help=argparse.SUPPRESS)
    p.add_argument("--spec", help=argparse.SUPPRESS)
    return p.parse_args()


def prepare_data(args, work, binary):
    """synth data -> tokenizer.model (trained by flywheel) -> our tokenization; writes the
    kept conversations to train.jsonl (a multiple of 8 of them) and returns the examples."""
    import sentencepiece as spm
    data_dir = os.path.join(work, "synth")
    synth_data(binary, data_dir, SYNTH_N, SYNTH_SEED)
    # A one-step run from scratch trains flywheel's sentencepiece model on the data.
    tok_path = train_tokenizer(binary, work, os.path.join(data_dir, "sft.jsonl"), TOKENIZER_VOCAB)
    sp = spm.SentencePieceProcessor(model_file=tok_path)
    bos, eos, pad = sp.bos_id(), sp.eos_id(), sp.pad_id()
    if min(bos, eos, pad) < 0:
        raise SystemExit("the tokenizer lacks bos/eos/pad")
    lines, examples = [], []
    with open(os.path.join(data_dir, "sft.jsonl")) as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            ids, mask = encode_plain(sp, rec["messages"], bos, eos)
            if len(ids) > MAX_SEQ_LEN or not any(mask[1:]):
                continue  # flywheel drops these too (truncation: drop; no trainable token)
            lines.append(line if line.endswith("\n") else line + "\n")
            examples.append((ids, mask))
    keep = len(examples) // 8 * 8
    lines, examples = lines[:keep], examples[:keep]
    train = os.path.join(work, "train.jsonl")
    with open(train, "w") as f:
        f.writelines(lines)
    return dict(train=train, tokenizer=tok_path, examples=examples, pad=pad, bos=bos, eos=eos,
                vocab=sp.get_piece_size())


def build_model(args, name, vocab):
    """The model folder for `name` (built by a worker process once, then reused)."""
    return common_build_model(args.cache, args.work_dir, name, vocab, args.threads)


def flywheel_recipe(case, data, model_path, out_dir, threads, total_steps):
    o = OPTIM
    return f"""# written by bench/sft_vs_python.py
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
  train: [{data['train']}]
  max_seq_len: {MAX_SEQ_LEN}
  packing: {str(case['packing']).lower()}
  mask: all_assistant
  truncation: drop
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
eval:
  every_steps: 0
  prompts: ""
"""


def batch_counts(examples, plan, steps):
    """Per step: (real tokens, trainable tokens), as flywheel's collate_sft counts them."""
    out = []
    for mb in plan[:steps]:
        tokens = trainable = 0
        for row in mb:
            for i in row:
                ids, mask = examples[i]
                tokens += len(ids)
                trainable += sum(mask[1:])
        out.append((tokens, trainable))
    return out


def run_flywheel(args, case, data, model_path, cdir, total):
    out_dir = os.path.join(cdir, "flywheel")
    shutil.rmtree(out_dir, ignore_errors=True)
    recipe = os.path.join(cdir, "flywheel.yaml")
    with open(recipe, "w") as f:
        f.write(flywheel_recipe(case, data, model_path, out_dir, args.threads, total))
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    log_path = os.path.join(cdir, "flywheel.log")
    run = run_measured([args.binary, "sft", recipe], env, log_path)
    if run["rc"] != 0:
        raise RuntimeError(f"flywheel sft failed (exit {run['rc']}):\n{tail(log_path)}")
    steps = []
    with open(os.path.join(out_dir, "metrics.jsonl")) as f:
        for line in f:
            m = json.loads(line)
            if "timing/step" in m:
                steps.append(dict(step=m["step"], seconds=m["timing/step"], loss=m["loss"],
                                  trainable=m["num_trainable_tokens"],
                                  tokens=round(m["tokens_per_second"] * m["timing/step"]),
                                  data=m["timing/data"], forward_backward=m["timing/forward_backward"],
                                  optimizer=m["timing/optimizer"]))
    shutil.rmtree(out_dir, ignore_errors=True)  # checkpoints of a 100M model are large
    return dict(steps=steps, **run)


def run_python_side(args, side, case, data, model_path, plan, cdir, total):
    spec = dict(side=side, model=model_path, threads=args.threads, steps=total, packing=case["packing"],
                micro_batch=case["micro_batch"], max_seq_len=MAX_SEQ_LEN, pad=data["pad"], bos=data["bos"],
                eos=data["eos"], tokenizer=data["tokenizer"], optim=OPTIM, seed=SEED,
                examples=data["examples"], plan=plan[:total], out=os.path.join(cdir, f"{side}.result.json"),
                scratch=os.path.join(cdir, f"{side}-scratch"))
    spec_path = os.path.join(cdir, f"{side}.spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    log_path = os.path.join(cdir, f"{side}.log")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", side, "--spec", spec_path]
    run = run_measured(cmd, python_env(args.threads), log_path)
    if run["rc"] != 0:
        raise RuntimeError(f"{side} worker failed (exit {run['rc']}):\n{tail(log_path)}")
    with open(spec["out"]) as f:
        res = json.load(f)
    shutil.rmtree(spec["scratch"], ignore_errors=True)
    res.update(run)
    return res


def summarise(runs, counts, warmup):
    """Medians over the measured steps (step index >= warmup) of all the runs of a side."""
    measured = [(s, c) for res in runs for s, c in list(zip(res["steps"], counts))[warmup:]]
    if not measured:
        return {}
    secs = [s["seconds"] for s, _ in measured]
    return dict(
        measured_steps=len(measured),
        median_step_s=statistics.median(secs),
        trainable_tokens_per_s=statistics.median(c[1] / s["seconds"] for s, c in measured),
        tokens_per_s=statistics.median(c[0] / s["seconds"] for s, c in measured),
        aggregate_trainable_tokens_per_s=sum(c[1] for _, c in measured) / sum(secs),
        aggregate_tokens_per_s=sum(c[0] for _, c in measured) / sum(secs),
    )


def run_side(args, side, case, data, model_path, plan, cdir, total, counts):
    """One run of one side (after waiting for the other processes to go quiet); checks
    that its batches are the plan's."""
    waited = wait_for_idle_cpu(args.max_busy, args.max_wait)
    if side == "flywheel":
        res = run_flywheel(args, case, data, model_path, cdir, total)
    else:
        res = run_python_side(args, side, case, data, model_path, plan, cdir, total)
    got = [(s["tokens"], s["trainable"]) for s in res["steps"]]
    if got != counts:
        bad = next((i for i, (a, b) in enumerate(zip(got, counts)) if a != b), min(len(got), len(counts)))
        raise RuntimeError(f"{side}'s batches differ from the plan at step {bad + 1}: (tokens, trainable) "
                           f"{got[bad] if bad < len(got) else None} vs {counts[bad] if bad < len(counts) else None}")
    res["waited_for_idle_s"] = waited
    return res


def table(results, sides):
    lines = ["| config | side | trainable tok/s | all tok/s | median step | flywheel / side | peak RSS |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, r in results["configs"].items():
        fw = r["sides"].get("flywheel", {}).get("summary", {}).get("trainable_tokens_per_s")
        for side in sides:
            s = r["sides"].get(side)
            if not s:
                continue
            if "error" in s:
                lines.append(f"| {name} | {side} | failed: {s['error'].splitlines()[0][:60]} | | | | |")
                continue
            m = s["summary"]
            ratio = "—" if side == "flywheel" or not fw else f"{fw / m['trainable_tokens_per_s']:.2f}x"
            if s.get("other_cpu_share", 0) > NOISY:
                side += " (noisy*)"
            lines.append(f"| {name} | {side} | {human_int(m['trainable_tokens_per_s'])} | "
                         f"{human_int(m['tokens_per_s'])} | {m['median_step_s'] * 1000:,.0f} ms | {ratio} | "
                         f"{s['peak_rss_mib']:,.0f} MiB |")
    noisy = [(n, sd) for n, r in results["configs"].items() for sd, v in r["sides"].items()
             if v.get("other_cpu_share", 0) > NOISY]
    if noisy:
        lines.append(f"\n\\* other processes used more than {NOISY:.0%} of the CPU during this run: "
                     "its figures are low; rerun on a quiet machine.")
    return "\n".join(lines)


def main(args):
    args.binary = args.binary or os.path.join(args.build_dir, "bin", "flywheel")
    if not os.access(args.binary, os.X_OK):
        raise SystemExit(f"no flywheel binary at {args.binary} (build it: ninja -C build flywheel)")
    args.binary = os.path.abspath(args.binary)
    configs = [c for c in args.configs.split(",") if c]
    sides = [s for s in args.sides.split(",") if s]
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"unknown config {c!r} (expected: {', '.join(CONFIGS)})")
    for s in sides:
        if s not in SIDES:
            raise SystemExit(f"unknown side {s!r} (expected: {', '.join(SIDES)})")
    os.makedirs(args.cache, exist_ok=True)
    tmp = None
    if args.work:
        os.makedirs(args.work, exist_ok=True)
        args.work_dir = os.path.abspath(args.work)
    else:
        tmp = tempfile.mkdtemp(prefix="sft-bench-")
        args.work_dir = tmp
    try:
        return run_all(args, configs, sides)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def run_all(args, configs, sides):
    import torch
    import transformers
    import trl
    data = prepare_data(args, args.work_dir, args.binary)
    n = len(data["examples"])
    log(f"data: {n} conversations, {sum(len(e[0]) for e in data['examples'])} tokens, "
        f"{sum(sum(e[1][1:]) for e in data['examples'])} trainable; vocab {data['vocab']}")
    models = {}
    for c in configs:
        name = CONFIGS[c]["model"]
        if name not in models:
            models[name] = build_model(args, name, data["vocab"])

    load_before, waited = wait_for_quiet(args.max_load, args.max_wait)
    results = dict(
        settings=dict(threads=args.threads, quick=args.quick, rounds=args.rounds, max_seq_len=MAX_SEQ_LEN, optim=OPTIM,
                      synth=dict(n=SYNTH_N, seed=SYNTH_SEED), seed=SEED, conversations=n,
                      sides=sides, configs={c: CONFIGS[c] for c in configs},
                      models={k: dict(MODELS[k], vocab_size=MODELS[k]["vocab_size"] or data["vocab"]) for k in models}),
        machine=dict(cpu=cpu_name(), cores=os.cpu_count(), load_before=load_before, waited_s=waited,
                     torch=torch.__version__, transformers=transformers.__version__, trl=trl.__version__,
                     python=platform.python_version(), date=time.strftime("%Y-%m-%d %H:%M:%S")),
        configs={})
    for c in configs:
        case = CONFIGS[c]
        warmup = args.warmup if args.warmup is not None else case["quick_warmup" if args.quick else "warmup"]
        measured = args.steps if args.steps is not None else case["quick_steps" if args.quick else "steps"]
        total = warmup + measured
        lengths = [len(e[0]) for e in data["examples"]]
        plan = plan_epoch(lengths, MAX_SEQ_LEN, case["micro_batch"], case["packing"], SEED)
        if total > len(plan):
            raise SystemExit(f"{c}: {total} steps need more data than one epoch ({len(plan)} micro-batches)")
        counts = batch_counts(data["examples"], plan, total)
        cdir = os.path.join(args.work_dir, c)
        os.makedirs(cdir, exist_ok=True)
        model_path = models[case["model"]]
        entry = dict(warmup=warmup, measured=measured, micro_batch=case["micro_batch"], packing=case["packing"],
                     rows_per_step=[len(mb) for mb in plan[:total]],
                     longest_row=[max(sum(lengths[i] for i in row) for row in mb) for mb in plan[:total]],
                     counts=counts, sides={})
        results["configs"][c] = entry
        runs = {side: [] for side in sides}
        for rnd in range(args.rounds):
            # Later rounds reverse the order, so a slow drift of the machine hits every side alike.
            for side in (sides if rnd % 2 == 0 else sides[::-1]):
                log(f"{c}: {side}{f' (round {rnd + 1}/{args.rounds})' if args.rounds > 1 else ''}, {warmup} warm-up "
                    f"+ {measured} measured steps, micro-batch {case['micro_batch']}, "
                    f"{'packed' if case['packing'] else 'unpacked'}")
                if runs[side] and "error" in runs[side][-1]:
                    continue
                try:
                    res = run_side(args, side, case, data, model_path, plan, cdir, total, counts)
                    res["summary"] = summarise([res], counts, warmup)
                    runs[side].append(res)
                    m = res["summary"]
                    log(f"{c}: {side}: {m['trainable_tokens_per_s']:,.0f} trainable tok/s, "
                        f"{m['tokens_per_s']:,.0f} tok/s, median step {m['median_step_s'] * 1000:.0f} ms, "
                        f"peak RSS {res['peak_rss_mib']:,.0f} MiB, step-1 loss {res['steps'][0]['loss']:.6f}, "
                        f"other processes {res['other_cpu_share']:.0%} of the CPU")
                except Exception as e:  # keep the other sides' figures
                    log(f"{c}: {side} FAILED: {e}")
                    runs[side].append(dict(error=str(e)))
        for side, rs in runs.items():
            if not rs or "error" in rs[-1]:
                entry["sides"][side] = dict(error=rs[-1]["error"] if rs else "not run")
                continue
            entry["sides"][side] = dict(
                summary=summarise(rs, counts, warmup), peak_rss_mib=max(r["peak_rss_mib"] for r in rs),
                other_cpu_share=max(r["other_cpu_share"] for r in rs), loss_step1=rs[0]["steps"][0]["loss"],
                runs=rs)
    results["machine"]["load_after"] = load1()

    print(f"## SFT throughput: flywheel vs Python ({args.threads} threads, fp32, CPU)\n")
    print(f"{results['machine']['cpu']}, {results['machine']['cores']} cores; torch {torch.__version__}, "
          f"transformers {transformers.__version__}, trl {trl.__version__}; "
          f"load average before {load_before:.2f}\n")
    print(table(results, sides))
    print()
    for c, entry in results["configs"].items():
        losses = {s: v["loss_step1"] for s, v in entry["sides"].items() if "loss_step1" in v}
        tok = [x[0] for x in entry["counts"][entry["warmup"]:]]
        trn = [x[1] for x in entry["counts"][entry["warmup"]:]]
        print(f"- {c}: {entry['measured']} measured steps after {entry['warmup']} warm-up"
              f"{f' (x {args.rounds} rounds)' if args.rounds > 1 else ''}; micro-batch "
              f"{entry['micro_batch']} {'packed' if entry['packing'] else 'unpacked'} rows, "
              f"{statistics.mean(tok):.0f} tokens / {statistics.mean(trn):.0f} trainable per step on average; "
              "step-1 loss " + ", ".join(f"{s} {l:.5f}" for s, l in losses.items()))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
        log(f"wrote {args.out}")
    failed = [(c, s) for c, e in results["configs"].items() for s, v in e["sides"].items() if "error" in v]
    return 1 if failed else 0


# ---- workers (one process per side) -----------------------------------------------------

def collate(examples, mb, pad, packed):
    """Python side of fw::data::collate_sft: ids, next-token labels (-100 where not
    trained), positions restarting per example; right padding continues the positions."""
    T = max(sum(len(examples[i][0]) for i in row) for row in mb)
    ids, labels, pos = [], [], []
    tokens = trainable = 0
    for row in mb:
        r_ids, r_lab, r_pos = [], [], []
        for i in row:
            e_ids, e_mask = examples[i]
            n = len(e_ids)
            r_ids += e_ids
            r_pos += range(n)
            r_lab += [e_ids[k + 1] if e_mask[k + 1] else IGNORE for k in range(n - 1)] + [IGNORE]
            tokens += n
            trainable += sum(e_mask[1:])
        k = len(r_ids)
        r_pos += range(k, T)
        r_ids += [pad] * (T - k)
        r_lab += [IGNORE] * (T - k)
        ids.append(r_ids)
        labels.append(r_lab)
        pos.append(r_pos)
    return ids, labels, pos, tokens, trainable


def worker_torch(spec):
    torch = setup_torch(spec["threads"])
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM
    torch.manual_seed(spec["seed"])
    model = AutoModelForCausalLM.from_pretrained(spec["model"], dtype=torch.float32, attn_implementation="sdpa")
    model.train()
    o = spec["optim"]
    opt = torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                            weight_decay=o["weight_decay"])
    examples, packed = spec["examples"], spec["packing"]
    steps = []
    for mb in spec["plan"]:
        t0 = time.perf_counter()
        ids, labels, pos, tokens, trainable = collate(examples, mb, spec["pad"], packed)
        input_ids = torch.tensor(ids)
        labels = torch.tensor(labels)
        kwargs = dict(position_ids=torch.tensor(pos)) if packed else {}
        t1 = time.perf_counter()
        logits = model(input_ids=input_ids, use_cache=False, **kwargs).logits
        loss_sum = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index=IGNORE,
                                   reduction="sum")
        n = max(1, trainable)
        (loss_sum / n).backward()
        loss = loss_sum.item() / n
        t2 = time.perf_counter()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), o["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        # the same phases as flywheel's timing/data, timing/forward_backward, timing/optimizer
        steps.append(dict(seconds=t3 - t0, data=t1 - t0, forward_backward=t2 - t1, optimizer=t3 - t2, loss=loss,
                          grad_norm=float(grad_norm), tokens=tokens, trainable=trainable))
    with open(spec["out"], "w") as f:
        json.dump(dict(steps=steps, optimizer="torch.optim.AdamW (defaults: foreach off on CPU)",
                       attn_implementation="sdpa"), f)


def worker_trl(spec):
    torch = setup_torch(spec["threads"])
    import datasets
    import sentencepiece as spm
    import trl
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import SFTConfig, SFTTrainer
    datasets.disable_progress_bars()

    # The data is pre-tokenized, so TRL only needs the tokenizer's vocabulary and pad token:
    # the sentencepiece pieces as a word-level tokenizer (transformers cannot convert a
    # sentencepiece model without protobuf, which the venv does not have).
    sp = spm.SentencePieceProcessor(model_file=spec["tokenizer"])
    tok = word_level_tokenizer(sp, spec["bos"], spec["eos"], spec["pad"])

    # One dataset row per row of the plan, in the plan's order; the sequential sampler
    # turns every per_device_train_batch_size rows into one of the plan's micro-batches.
    examples, packed = spec["examples"], spec["packing"]
    rows = []
    for mb in spec["plan"]:
        if len(mb) != spec["micro_batch"]:
            raise SystemExit("a partial micro-batch would shift TRL's batches")
        for row in mb:
            ids, labels, lens = [], [], []
            for i in row:
                e_ids, e_mask = examples[i]
                ids += e_ids
                labels += [t if m else IGNORE for t, m in zip(e_ids, e_mask)]  # unshifted (HF)
                lens.append(len(e_ids))
            r = dict(input_ids=ids, labels=labels)
            if packed:
                r["seq_lengths"] = lens
            rows.append(r)
    ds = datasets.Dataset.from_list(rows)

    model = AutoModelForCausalLM.from_pretrained(spec["model"], dtype=torch.float32, attn_implementation="sdpa")
    o = spec["optim"]
    cfg = SFTConfig(
        output_dir=spec["scratch"], per_device_train_batch_size=spec["micro_batch"], gradient_accumulation_steps=1,
        max_steps=spec["steps"], learning_rate=o["lr"], lr_scheduler_type="constant", warmup_steps=0,
        weight_decay=o["weight_decay"], adam_beta1=o["beta1"], adam_beta2=o["beta2"], adam_epsilon=o["eps"],
        max_grad_norm=o["grad_clip"], logging_steps=1, save_strategy="no", eval_strategy="no", report_to="none",
        use_cpu=True, dataloader_num_workers=0, dataloader_pin_memory=False, train_sampling_strategy="sequential",
        packing=False, padding_free=packed, max_length=None if packed else spec["max_seq_len"],
        seed=spec["seed"], data_seed=spec["seed"], bf16=False, fp16=False, disable_tqdm=True,
        dataset_num_proc=None)

    class Timer(TrainerCallback):
        def __init__(self):
            self.begin, self.end = [], []

        def on_step_begin(self, args, state, control, **kw):
            self.begin.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kw):
            self.end.append(time.perf_counter())

    timer = Timer()
    trainer = SFTTrainer(model=model, args=cfg, train_dataset=ds, processing_class=tok, callbacks=[timer])
    trainer.train()

    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    counts = []
    for mb in spec["plan"]:
        tokens = sum(len(examples[i][0]) for row in mb for i in row)
        trainable = sum(sum(examples[i][1][1:]) for row in mb for i in row)
        counts.append((tokens, trainable))
    steps = []
    for k, (b, e) in enumerate(zip(timer.begin, timer.end)):
        seconds = e - (timer.end[k - 1] if k > 0 else b)
        steps.append(dict(seconds=seconds, begin_to_end_s=e - b, loss=losses[k] if k < len(losses) else None,
                          tokens=counts[k][0], trainable=counts[k][1]))
    with open(spec["out"], "w") as f:
        json.dump(dict(steps=steps, optimizer=str(cfg.optim), trl=trl.__version__,
                       attn_implementation="sdpa", padding_free=packed), f)


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.worker:
        with open(ARGS.spec) as f:
            SPEC = json.load(f)
        {"torch": worker_torch, "trl": worker_trl, "build": worker_build}[ARGS.worker](SPEC)
    else:
        sys.exit(main(ARGS))
