#!/usr/bin/env python3
"""Data-parallel scaling of `flywheel sft` on CPU: 2 ranks x 1 thread (Gloo) against 1 rank
x 1 thread on the same global batch.

  dp_scaling.py [--binary build/bin/flywheel] [--launcher build/bin/flywheel-launch]
                [--models tiny,100m] [--quick] [--max-load 0.7] [--out results.json]

Both sides are flywheel itself: the single rank runs `flywheel sft` with micro-batch 2m,
the two ranks run under `flywheel-launch --nproc-per-node 2` with micro-batch m each, so
they train on exactly the same batches (the step plan is made for the global micro-batch;
the final weights agree to float rounding). Models: bench_common's `tiny` (the tiny SFT
recipe's shape) and `100m` (124.7M parameters), built by transformers once; data from
`flywheel synth`, packed rows of 256 tokens. Figures from rank 0's metrics.jsonl, medians
over the steps after the first two:

  step time       timing/step
  throughput      tokens/s = tokens per step / step time; the ratio two / one (the target
                  is 1.7x: two cores, some of it spent communicating)
  all-reduce      timing/grad_sync of the 2-rank run: the part of the gradient all-reduce
                  that the backward pass did not hide, as a share of the step

Runs interleaved one / two / one / two ... (--rounds), so background load hits both.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402

SHAPES = {  # model -> (micro-batch per rank m, steps)
    "tiny": (4, 40),
    "100m": (2, 8),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default="build/bin/flywheel")
    p.add_argument("--launcher", default=None, help="default: flywheel-launch next to --binary")
    p.add_argument("--models", default="tiny,100m")
    p.add_argument("--rounds", type=int, default=2, help="interleaved repetitions per side")
    p.add_argument("--quick", action="store_true", help="one round, fewer steps")
    p.add_argument("--max-load", type=float, default=0.7)
    p.add_argument("--max-wait", type=float, default=300)
    p.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument("--out", default=None)
    return p.parse_args()


def metrics(run_dir):
    rows = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if "timing/step" in r:
                rows.append(r)
    return rows


def summarise(rows):
    body = rows[2:] if len(rows) > 4 else rows
    step = statistics.median(r["timing/step"] for r in body)
    tokens = statistics.median(r["tokens_per_second"] * r["timing/step"] for r in body)
    sync = statistics.median(r.get("timing/grad_sync", 0.0) for r in body)
    return dict(step_s=step, tokens_per_step=tokens, tokens_per_s=tokens / step, grad_sync_s=sync)


def main():
    a = parse_args()
    binary = os.path.abspath(a.binary)
    launcher = os.path.abspath(a.launcher or os.path.join(os.path.dirname(binary), "flywheel-launch"))
    work = a.work or tempfile.mkdtemp(prefix="fw-dp-bench-")
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "synth")
    bc.synth_data(binary, data, 4000, 1, ("--max-difficulty", "1"))
    tok = bc.train_tokenizer(binary, work, os.path.join(data, "sft.jsonl"), 512)
    load0, _ = bc.wait_for_quiet(a.max_load, a.max_wait)
    results = []
    rounds = 1 if a.quick else a.rounds
    for name in a.models.split(","):
        model = bc.build_model(bc.default_model_cache(), work, name, 512, 1)
        m, steps = SHAPES[name]
        if a.quick:
            steps = max(6, steps // 4)
        common = [f"model.path={model}", f"tokenizer.path={tok}", f"data.train=[{data}/sft.jsonl]",
                  "data.max_seq_len=256", "data.packing=true", "threads=1", f"train.max_steps={steps}",
                  "checkpoint.every_steps=0", "checkpoint.resume=never", 'eval.prompts=""', "optim.lr=1e-4",
                  "schedule.warmup_steps=0", "log_every_steps=1"]
        recipe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "sft", "tiny.yaml")
        sides = {"one": [], "two": []}
        for r in range(rounds):
            for side in ("one", "two"):
                out_dir = os.path.join(work, f"{name}-{side}-{r}")
                args = [binary, "sft", recipe, f"output_dir={out_dir}", *common,
                        f"train.micro_batch_size={2 * m if side == 'one' else m}"]
                if side == "two":
                    args = [launcher, "--nproc-per-node", "2", "--master-port", "0", "--", *args]
                bc.log(f"{name} {side}: {steps} steps, round {r + 1}/{rounds}")
                run = bc.run_measured(args, bc.python_env(1), os.path.join(work, f"{name}-{side}-{r}.log"))
                if run["rc"] != 0:
                    sys.exit(f"{side} failed:\n" + bc.tail(os.path.join(work, f"{name}-{side}-{r}.log")))
                s = summarise(metrics(out_dir))
                s.update(wall_s=run["wall_s"], other_cpu_share=run["other_cpu_share"])
                sides[side].append(s)
        best = {k: min(v, key=lambda s: s["step_s"]) for k, v in sides.items()}
        results.append(dict(model=name, micro_batch_per_rank=m, global_micro_batch=2 * m, steps=steps, runs=sides,
                            best=best, speedup=best["one"]["step_s"] / best["two"]["step_s"],
                            grad_sync_share=best["two"]["grad_sync_s"] / best["two"]["step_s"]))
    print("| model | global batch | 1 rank x 1 thread | 2 ranks x 1 thread | speed-up | all-reduce share (2 ranks) |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        one, two = r["best"]["one"], r["best"]["two"]
        print(f"| {r['model']} | {r['global_micro_batch']} rows x 256 | {one['tokens_per_s']:,.0f} tok/s "
              f"({one['step_s'] * 1000:.0f} ms) | {two['tokens_per_s']:,.0f} tok/s ({two['step_s'] * 1000:.0f} ms) | "
              f"{r['speedup']:.2f}x | {100 * r['grad_sync_share']:.1f} % |")
    print(f"\n{bc.cpu_name()}, {os.cpu_count()} cores; load average {load0:.2f} at start, {bc.load1():.2f} at end; "
          f"best of {rounds} interleaved round(s) per side.")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(dict(results=results, load_start=load0, load_end=bc.load1()), f, indent=1)


if __name__ == "__main__":
    main()
