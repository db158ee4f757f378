#!/usr/bin/env python3
"""Battle throughput: `flywheel battle` against `flywheel serve`, by client concurrency.

  battle_throughput.py [--binary build/bin/flywheel] [--threads 1] [--concurrency 1,4,16,64]
                       [--prompts 48] [--max-tokens 16] [--max-batch 32] [--max-load 0.7]

The tiny benchmark model of serve_throughput.py behind one `flywheel serve` (max-batch
B, `--threads` torch threads), two remote competitors on it (greedy, and sampled at
temperature 0.7 — two identities, so two responses per prompt) and a simulated one, the
rule judge, all pairs: 3 battles and 2 HTTP generations per prompt. Each concurrency level
(`client.max_concurrency`) battles its own fresh prompts (nothing cached), and reports
battles/s and generations/s over the wall time of the `flywheel battle` process
(process start-up included).
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import cpu_name, default_model_cache, load1, log, set_log_tag, wait_for_quiet  # noqa: E402
from serve_throughput import Server, prepare_model  # noqa: E402


def main():
    set_log_tag("battle")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/bin/flywheel")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--concurrency", default="1,4,16,64")
    ap.add_argument("--prompts", type=int, default=48)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--cache", default=default_model_cache())
    ap.add_argument("--work-dir", default=os.path.join(os.environ.get("FLYWHEEL_CACHE", os.path.expanduser("~/.cache/flywheel")), "bench-battle"))
    ap.add_argument("--max-load", type=float, default=0.7)
    ap.add_argument("--max-wait", type=float, default=300)
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    model, _ = prepare_model(args)
    with open(os.path.join(args.work_dir, "synth", "prompts.jsonl")) as f:
        pool = f.read().splitlines()
    levels = [int(c) for c in args.concurrency.split(",")]
    load_before, _ = wait_for_quiet(args.max_load, args.max_wait)
    server = Server(args.binary, model, args.max_batch, args.threads, os.path.join(args.work_dir, "serve.log"))
    rows = []
    try:
        base = f"http://{server.host}:{server.port}/v1"
        for k, c in enumerate(levels):
            run = os.path.join(args.work_dir, f"run-c{c}")
            subprocess.run(["rm", "-rf", run], check=True)
            os.makedirs(run)
            prompts = pool[k * args.prompts:(k + 1) * args.prompts]
            with open(os.path.join(run, "prompts.jsonl"), "w") as f:
                f.write("\n".join(prompts) + "\n")
            recipe = {
                "output_dir": run + "/out", "prompts": [run + "/prompts.jsonl"], "pairs": "all", "judge": {"kind": "rule"},
                "client": {"max_concurrency": c}, "chunk_prompts": args.prompts,
                "competitors": [
                    {"name": "greedy", "kind": "remote", "base_url": base, "model": "tiny",
                     "sampling": {"max_tokens": args.max_tokens}},
                    {"name": "sampled", "kind": "remote", "base_url": base, "model": "tiny",
                     "sampling": {"temperature": 0.7, "seed": 1, "max_tokens": args.max_tokens}},
                    {"name": "sim", "kind": "simulated", "accuracy": 0.6}]}
            with open(os.path.join(run, "battle.yaml"), "w") as f:
                json.dump(recipe, f)  # JSON is YAML
            before = server.get("/v1/stats")
            t0 = time.perf_counter()
            subprocess.run([args.binary, "battle", os.path.join(run, "battle.yaml")], check=True,
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(run, "battle.log"), "w"))
            wall = time.perf_counter() - t0
            after = server.get("/v1/stats")
            battles = sum(1 for _ in open(os.path.join(run, "out", "battles.jsonl")))
            gens = after["completed"] - before["completed"]
            batches = max(1, after["batches"] - before["batches"])
            rows.append({"concurrency": c, "battles": battles, "wall_s": wall, "battles_per_s": battles / wall,
                         "generations": gens, "generations_per_s": gens / wall, "mean_batch": gens / batches})
            log(f"c={c}: {battles} battles in {wall:.2f} s = {battles / wall:.1f} battles/s, "
                f"{gens / wall:.1f} generations/s, mean batch {gens / batches:.1f}")
    finally:
        server.stop()
    print(f"flywheel battle vs flywheel serve, tiny model, max_tokens {args.max_tokens}, server {args.threads} "
          f"thread(s), max-batch {args.max_batch}, {cpu_name()}, load average {load_before:.2f} before, {load1():.2f} after\n")
    print("| client concurrency | battles | wall | battles/s | generations/s | mean server batch |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['concurrency']} | {r['battles']} | {r['wall_s']:.2f} s | {r['battles_per_s']:.1f} | "
              f"{r['generations_per_s']:.1f} | {r['mean_batch']:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
