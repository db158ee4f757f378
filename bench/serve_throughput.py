#!/usr/bin/env python3
"""Serving throughput: `flywheel serve` under concurrent OpenAI chat requests.

  serve_throughput.py [--binary build/bin/flywheel] [--threads 1] [--concurrency 1,4,16,64]
                      [--max-tokens 32] [--max-batch 32] [--requests N] [--model DIR]
                      [--max-load 0.7] [--max-wait 300] [--out results.json]

One server process per configuration, clients in this process (one thread per
concurrent client, each with its own keep-alive connection, stdlib http.client), every
request a different one-turn prompt, greedy, `max_tokens` new tokens (the random model
rarely ends early; the table counts the tokens the server reports in `usage`).

  batched    `flywheel serve --max-batch B`: concurrent requests are generated together
             (the worker takes up to B queued requests per rollout::generate call)
  unbatched  the same server with `--max-batch 1`: one request per generate call, the
             control that shows what batching buys
  streamed   the batched server, every request with "stream": true (server-sent events,
             stream_options.include_usage): the same batches, text as it is generated;
             time to first token (TTFT) is when the first content delta arrives (for the
             non-streamed sides it is the whole latency: nothing arrives before the end)

Then the stalled-connections check (issue 18): the median latency of a one-token request
alone, and the worst of 21 behind --stalled sockets that connected and never sent a
request (half of them half a request line); the difference is what stalled clients cost
a served one.

For each concurrency c the driver sends a few warm-up requests, then R requests
(default max(24, 4c)) through c client threads, and reports requests/s and generated
tokens/s over the wall time of those R requests, the median and 95th-percentile latency,
and the mean batch size the server ran (from /v1/stats: requests / batches).

Model: the `tiny` benchmark model of bench_common (hidden 128, 4 layers, 4 heads / 2 KV
heads, vocab 512; transformers' seeded random init) with a tokenizer trained by flywheel
on `flywheel synth` conversations; fp32 on the CPU, `--threads` torch threads in the
server. Or any model folder with --model.
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (build_model, cpu_name, default_model_cache, load1, log, set_log_tag,  # noqa: E402
                          synth_data, train_tokenizer, wait_for_quiet)

SYNTH_N, SYNTH_SEED, TOKENIZER_VOCAB = 2000, 7, 512


def prepare_model(args):
    """The tiny benchmark model as a flywheel model folder (weights + tokenizer.model)."""
    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    data_dir = os.path.join(work, "synth")
    synth_data(args.binary, data_dir, SYNTH_N, SYNTH_SEED, extra=("--max-difficulty", "1"))
    tok = train_tokenizer(args.binary, work, os.path.join(data_dir, "sft.jsonl"), TOKENIZER_VOCAB)
    src = build_model(args.cache, work, "tiny", TOKENIZER_VOCAB, args.threads)
    dst = os.path.join(work, "serve-tiny")
    os.makedirs(dst, exist_ok=True)
    for name in ("config.json", "model.safetensors", "generation_config.json"):
        if os.path.exists(os.path.join(src, name)):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
    shutil.copyfile(tok, os.path.join(dst, "tokenizer.model"))
    prompts = []
    with open(os.path.join(data_dir, "sft.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            msgs = rec.get("messages")
            if msgs and msgs[0]["role"] == "user":
                prompts.append(msgs[0]["content"])
    return dst, prompts


class Server:
    def __init__(self, binary, model, max_batch, threads, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--model", model, "--port", "0", "--name", "tiny", "--max-batch", str(max_batch),
             "--threads", str(threads)],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads)))
        line = self.proc.stdout.readline()
        if "serving" not in line:
            raise SystemExit(f"flywheel serve did not start (see {log_path})")
        url = line.split(" on ")[1].strip()  # http://HOST:PORT/v1
        self.host, self.port = url[len("http://"):-len("/v1")].rsplit(":", 1)
        self.port = int(self.port)

    def get(self, path):
        c = http.client.HTTPConnection(self.host, self.port, timeout=60)
        c.request("GET", path)
        return json.loads(c.getresponse().read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


def run_level(server, prompts, concurrency, n_requests, max_tokens, offset, stream=False):
    local = threading.local()

    def one(i):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(server.host, server.port, timeout=300)
        req = {"model": "tiny", "messages": [{"role": "user", "content": prompts[(offset + i) % len(prompts)]}],
               "temperature": 0, "max_tokens": max_tokens}
        if stream:
            req.update(stream=True, stream_options={"include_usage": True})
        t0 = time.perf_counter()
        local.conn.request("POST", "/v1/chat/completions", json.dumps(req), {"Content-Type": "application/json"})
        resp = local.conn.getresponse()
        if not stream:
            data = json.loads(resp.read())
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}: {data}")
            latency = time.perf_counter() - t0
            return latency, latency, data["usage"]["completion_tokens"]
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {resp.read()}")
        ttft, tokens = None, 0
        while True:
            line = resp.readline()
            if not line:
                raise RuntimeError("the stream ended without [DONE]")
            if not line.startswith(b"data: "):
                continue
            payload = line[6:].strip()
            if payload == b"[DONE]":
                break
            chunk = json.loads(payload)
            if ttft is None and any(c.get("delta", {}).get("content") for c in chunk["choices"]):
                ttft = time.perf_counter() - t0
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
        resp.read()  # the chunked body's end, so the connection can be reused
        latency = time.perf_counter() - t0
        return latency, ttft if ttft is not None else latency, tokens

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(min(concurrency, 8))))  # warm-up: connections, allocator, caches
        before = server.get("/v1/stats")
        t0 = time.perf_counter()
        results = list(pool.map(one, range(n_requests)))
        wall = time.perf_counter() - t0
        after = server.get("/v1/stats")
    lat = sorted(r[0] for r in results)
    ttft = sorted(r[1] for r in results)
    tokens = sum(r[2] for r in results)
    batches = after["batches"] - before["batches"]
    return dict(concurrency=concurrency, requests=n_requests, wall_s=wall, requests_per_s=n_requests / wall,
                tokens=tokens, tokens_per_s=tokens / wall, p50_s=statistics.median(lat),
                ttft_p50_s=statistics.median(ttft),
                p95_s=lat[min(len(lat) - 1, int(0.95 * len(lat)))],
                mean_batch=(after["completed"] - before["completed"]) / max(batches, 1),
                max_batch_seen=after["max_batch_seen"])


def stalled_delay(server, n_stalled, reps=21):
    """A one-token request's latency alone (median) and behind n_stalled stalled sockets (worst)."""
    import socket

    def one():
        c = http.client.HTTPConnection(server.host, server.port, timeout=60)
        body = json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1,
                           "temperature": 0})
        t0 = time.perf_counter()
        c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        c.getresponse().read()
        c.close()
        return time.perf_counter() - t0

    one()
    alone = statistics.median(one() for _ in range(reps))
    socks = []
    for i in range(n_stalled):
        s = socket.create_connection((server.host, server.port))
        if i % 2:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\n")
        socks.append(s)
    time.sleep(0.2)
    # The first request right behind them is the one a fixed pool makes wait out its read
    # timeout (the server then drops the stalled sockets); the worst of reps requests.
    behind = max(one() for _ in range(reps))
    for s in socks:
        s.close()
    return alone, behind


def main():
    set_log_tag("serve")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/bin/flywheel")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads of the server (the clients share the machine; see docs/benchmarks.md)")
    ap.add_argument("--concurrency", default="1,4,16,64")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--requests", type=int, default=0, help="requests per level (default max(24, 4c))")
    ap.add_argument("--model", default="", help="a model folder (default: the tiny benchmark model)")
    ap.add_argument("--sides", default="batched,unbatched,streamed")
    ap.add_argument("--stalled", type=int, default=64, help="stalled sockets for the stalled-connections check (0: skip)")
    ap.add_argument("--cache", default=default_model_cache())
    ap.add_argument("--work-dir", default=os.path.join(os.environ.get("FLYWHEEL_CACHE", os.path.expanduser("~/.cache/flywheel")), "bench-serve"))
    ap.add_argument("--max-load", type=float, default=0.7)
    ap.add_argument("--max-wait", type=float, default=300)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)

    if args.model:
        model = args.model
        prompts = [f"What is {i} plus {i * 7 % 13}?" for i in range(500)]
    else:
        model, prompts = prepare_model(args)
    levels = [int(c) for c in args.concurrency.split(",")]
    load_before, waited = wait_for_quiet(args.max_load, args.max_wait)
    rows = []
    for side in args.sides.split(","):
        max_batch = 1 if side == "unbatched" else args.max_batch
        server = Server(args.binary, model, max_batch, args.threads, os.path.join(args.work_dir, f"serve-{side}.log"))
        try:
            offset = 0
            for c in levels:
                n = args.requests or max(24, 4 * c)
                r = run_level(server, prompts, c, n, args.max_tokens, offset, stream=side == "streamed")
                offset += n
                r.update(side=side, max_batch=max_batch)
                log(f"{side} c={c}: {r['requests_per_s']:.1f} req/s, {r['tokens_per_s']:.0f} tok/s, "
                    f"p50 {r['p50_s'] * 1000:.0f} ms, TTFT p50 {r['ttft_p50_s'] * 1000:.0f} ms, "
                    f"mean batch {r['mean_batch']:.1f}")
                rows.append(r)
        finally:
            server.stop()
    stalled = None
    if args.stalled:
        server = Server(args.binary, model, args.max_batch, args.threads, os.path.join(args.work_dir, "serve-stalled.log"))
        try:
            stalled = stalled_delay(server, args.stalled)
        finally:
            server.stop()

    print(f"flywheel serve, tiny model, greedy, max_tokens {args.max_tokens}, {args.threads} thread(s), "
          f"{cpu_name()}, load average {load_before:.2f} before, {load1():.2f} after\n")
    print("| server | concurrency | requests/s | generated tokens/s | p50 latency | p95 latency | p50 TTFT | mean batch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    names = {"batched": "batched (--max-batch {})", "unbatched": "unbatched (--max-batch 1)",
             "streamed": "streamed, batched (--max-batch {})"}
    for r in rows:
        name = names[r["side"]].format(r["max_batch"])
        print(f"| {name} | {r['concurrency']} | {r['requests_per_s']:.1f} | {r['tokens_per_s']:,.0f} | "
              f"{r['p50_s'] * 1000:.0f} ms | {r['p95_s'] * 1000:.0f} ms | {r['ttft_p50_s'] * 1000:.0f} ms | "
              f"{r['mean_batch']:.1f} |")
    by = {(r["side"], r["concurrency"]): r for r in rows}
    for c in levels:
        if ("streamed", c) in by and ("batched", c) in by:
            s, b = by[("streamed", c)], by[("batched", c)]
            print(f"\nconcurrency {c}: streamed/non-streamed throughput {s['tokens_per_s'] / b['tokens_per_s']:.2f}x, "
                  f"TTFT {s['ttft_p50_s'] * 1000:.0f} ms vs {b['ttft_p50_s'] * 1000:.0f} ms "
                  f"({b['ttft_p50_s'] / s['ttft_p50_s']:.1f}x sooner)", end="")
    print()
    if stalled:
        print(f"\none-token request: alone {stalled[0] * 1000:.1f} ms (median of 21), behind {args.stalled} stalled "
              f"connections {stalled[1] * 1000:.1f} ms (the worst of 21; +{(stalled[1] - stalled[0]) * 1000:.1f} ms)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(rows=rows, stalled=stalled, threads=args.threads, max_tokens=args.max_tokens, cpu=cpu_name(),
                           load_before=load_before, waited_s=waited, model=model), f, indent=1)


if __name__ == "__main__":
    main()
