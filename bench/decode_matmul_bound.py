#!/usr/bin/env python3
"""The matrix products of one decode step, timed alone, and the memory floor under them.

  decode_matmul_bound.py [--threads 2] [--batch 32] [--dtypes float32,bfloat16] [--reps 9]

For the `100m` model of model_vs_transformers.py (hidden 768, 12 layers, 12 heads / 4 KV
heads of 64, MLP 2048, vocab 32000, untied head), one decode step at --batch rows runs,
per layer, q/k/v (768 -> 1280), o (768 -> 768), gate/up (768 -> 4096) and down
(2048 -> 768), then the LM head (768 -> 32000). Each layer has its own weights, as in the
model, so they stream from memory as they do in a real step (100M float32 weights do not
fit in the cache; one matrix timed over and over would). Per dtype it prints the step's
products through

  F.linear   what transformers' generate() runs (float32: MKL's sgemm; bfloat16: oneDNN)
  oneDNN     torch.ops.mkldnn._linear_pointwise on weights packed once
             (mkldnn._reorder_linear_weight), what flywheel's bfloat16 decode step runs

and the floor no implementation goes below: the weights' bytes over the read bandwidth
(a sum over a 1 GiB tensor). flywheel's float32 decode step runs its own kernel
(model/panel_linear.h); its whole step time is fw-bench-model's decode_median_s / 127.
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

HIDDEN, LAYERS, VOCAB = 768, 12, 32000
PER_LAYER = [(768, 1280), (768, 768), (768, 4096), (2048, 768)]  # (in, out) of each product


def median_seconds(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def read_bandwidth():
    x = torch.ones(1 << 28)  # 1 GiB of float32
    return x.numel() * 4 / median_seconds(lambda: x.sum(), 5)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--reps", type=int, default=9, help="timed steps per variant (median kept)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    bandwidth = read_bandwidth()
    print(f"read bandwidth {bandwidth / 1e9:.1f} GB/s ({args.threads} threads)")
    shapes = [(k, n) for _ in range(LAYERS) for k, n in PER_LAYER] + [(HIDDEN, VOCAB)]
    flops = sum(2 * args.batch * k * n for k, n in shapes)
    for name in args.dtypes.split(","):
        dtype = getattr(torch, name)
        weights = [torch.randn(n, k).to(dtype) for k, n in shapes]
        inputs = {k: torch.randn(args.batch, k).to(dtype) for k, _ in shapes}
        packed = [torch.ops.mkldnn._reorder_linear_weight(w, args.batch) for w in weights]
        sides = {
            "F.linear": lambda: [F.linear(inputs[w.size(1)], w) for w in weights],
            "oneDNN": lambda: [torch.ops.mkldnn._linear_pointwise(inputs[w.size(1)], p, None, "none", [], "")
                               for w, p in zip(weights, packed)],
        }
        floor = sum(w.numel() * w.element_size() for w in weights) / bandwidth
        print(f"{name}, batch {args.batch}: memory floor {floor * 1e3:.1f} ms "
              f"(at most {args.batch / floor:,.0f} tokens/s)")
        for side, fn in sides.items():
            s = median_seconds(fn, args.reps)
            print(f"  {side:9s} {s * 1e3:6.1f} ms, {flops / s / 1e9:4.0f} GFLOP/s: at most {args.batch / s:,.0f} tokens/s")


if __name__ == "__main__":
    main()
