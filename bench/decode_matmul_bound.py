#!/usr/bin/env python3
"""The matrix products of one decode step, timed alone: a ceiling on generation tokens/s.

  decode_matmul_bound.py [--threads 2] [--batch 32] [--dtypes float32,bfloat16]

For the `100m` model of model_vs_transformers.py (hidden 768, 12 layers, 12 heads / 4 KV
heads of 64, MLP 2048, vocab 32000, untied head), one decode step at --batch rows runs,
per layer, q/k/v (768 -> 1280), o (768 -> 768), gate/up (768 -> 4096) and down
(2048 -> 768), then the LM head (768 -> 32000): `torch.nn.functional.linear` on each
shape, as both flywheel and transformers call it. The sum of their median times is what
no implementation on this CPU goes below, so batch / that time bounds tokens/s; the
generation benchmark's ratios are read against it (docs/benchmarks.md).
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

HIDDEN, LAYERS, VOCAB = 768, 12, 32000
PER_LAYER = [(768, 1280), (768, 768), (768, 4096), (2048, 768)]  # (in, out) of each product


def median_seconds(fn, reps):
    for _ in range(5):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dtypes", default="float32,bfloat16")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shapes = [(k, n, LAYERS) for k, n in PER_LAYER] + [(HIDDEN, VOCAB, 1)]
    for name in args.dtypes.split(","):
        dtype = getattr(torch, name)
        step_s, flops = 0.0, 0
        for k, n, times in shapes:
            x, w = torch.randn(args.batch, k, dtype=dtype), torch.randn(n, k, dtype=dtype)
            step_s += times * median_seconds(lambda: F.linear(x, w), 50 if n < VOCAB else 20)
            flops += times * 2 * args.batch * k * n
        print(f"{name}: the products of one decode step (batch {args.batch}, {args.threads} threads) take "
              f"{step_s * 1e3:.1f} ms, {flops / step_s / 1e9:.0f} GFLOP/s: at most {args.batch / step_s:,.0f} tokens/s")


if __name__ == "__main__":
    main()
