#!/usr/bin/env python3
"""Encode throughput of the native tokenizer.json loader (fw::data::HfTokenizer) against the
`tokenizers` library: same tokenizer.json, same corpus, one thread and all threads.

    ~/.cache/flywheel/venv/bin/python bench/tokenizer_encode.py --binary build/bin/fw-bench-tokenizer \
        [--vocabs gpt2,whisper_multilingual] [--mb 4] [--rounds 3] [--reps 2] [--out results.json]

Tokenizers: the real vocabularies of tests/parity/hf_real_vocabularies.py (GPT-2's ranks from
openai-whisper, converted by transformers; whisper_multilingual: Whisper's ranks under the
Llama-3 split regex), saved as tokenizer.json. Corpus: bench/tokenizer_corpus.py's mixed
documents (`--mb` MB, seed 1). Sides, each in its own process that loads the tokenizer,
encodes the corpus once untimed, then `--reps` timed passes:
  ours        fw-bench-tokenizer: HfTokenizer::encode_batch(docs, add_special_tokens, threads)
  tokenizers  Tokenizer.encode_batch(docs) (full Encodings: ids, tokens, offsets), with
              RAYON_NUM_THREADS=1 for one thread and unset (its default, all cores) for all.
Rounds interleave the four runs (order rotating), so a burst of other work hits all alike.
MB/s = corpus bytes / median pass seconds; ratio = ours / tokenizers (above 1: we are faster).
Every run's ids are compared with the first one's (they must be identical).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "parity"))


def tokenizers_side(args):
    """The peer, run as its own process (RAYON_NUM_THREADS is read once per process)."""
    from tokenizers import Tokenizer
    with open(args.corpus, encoding="utf-8") as f:
        docs = json.load(f)
    t0 = time.perf_counter()
    tok = Tokenizer.from_file(args.tokenizer)
    load_s = time.perf_counter() - t0
    for _ in range(args.warmup):
        out = tok.encode_batch(docs)
    secs = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        out = tok.encode_batch(docs)
        secs.append(time.perf_counter() - t0)
    if args.dump_ids:
        import array
        a = array.array("i")
        for e in out:
            a.extend(e.ids)
        with open(args.dump_ids, "wb") as f:
            a.tofile(f)
    print(json.dumps({"bytes": sum(len(d.encode("utf-8")) for d in docs), "docs": len(docs),
                      "threads": os.environ.get("RAYON_NUM_THREADS", "default"),
                      "tokens": sum(len(e.ids) for e in out), "load_s": load_s, "seconds": secs}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/bin/fw-bench-tokenizer")
    ap.add_argument("--vocabs", default="gpt2,whisper_multilingual")
    ap.add_argument("--mb", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--all-threads", type=int, default=os.cpu_count())
    ap.add_argument("--max-load", type=float, default=0.7)
    ap.add_argument("--max-wait", type=float, default=300)
    ap.add_argument("--out", default=None)
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    # the peer side (internal)
    ap.add_argument("--side", choices=["tokenizers"])
    ap.add_argument("--tokenizer")
    ap.add_argument("--corpus")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--dump-ids")
    args = ap.parse_args()
    if args.side:
        return tokenizers_side(args)

    from bench_common import cpu_name, load1, log, set_log_tag, wait_for_quiet
    import hf_real_vocabularies
    from tokenizer_corpus import mixed_corpus
    set_log_tag("tokenizer_encode")
    work = args.work or tempfile.mkdtemp(prefix="fw-bench-tokenizer.")
    os.makedirs(work, exist_ok=True)
    docs = mixed_corpus(int(args.mb * 1e6), seed=1)
    corpus = os.path.join(work, "corpus.json")
    with open(corpus, "w", encoding="utf-8") as f:
        json.dump(docs, f, ensure_ascii=False)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    log(f"corpus: {len(docs)} documents, {nbytes / 1e6:.2f} MB")
    builders = {b.__name__: b for b in hf_real_vocabularies.BUILDERS}
    files = {}
    for v in args.vocabs.split(","):
        hf_tok, _ = builders[v](work)
        folder = os.path.join(work, "tok_" + v)
        hf_tok.save_pretrained(folder)
        files[v] = os.path.join(folder, "tokenizer.json")

    load_before, waited = wait_for_quiet(args.max_load, args.max_wait)
    nall = args.all_threads
    sides = [("ours", 1), ("tokenizers", 1), ("ours", nall), ("tokenizers", nall)]
    results = {}
    for v, path in files.items():
        runs = {s: [] for s in sides}
        ref_ids = None
        for r in range(args.rounds):
            order = sides[r % len(sides):] + sides[:r % len(sides)]
            for side, threads in order:
                dump = os.path.join(work, f"ids.{v}.{side}.{threads}.bin")
                if side == "ours":
                    cmd = [args.binary, "--tokenizer", path, "--corpus", corpus, "--threads", str(threads),
                           "--reps", str(args.reps), "--dump-ids", dump]
                    env = dict(os.environ)
                else:
                    cmd = [sys.executable, os.path.abspath(__file__), "--side", "tokenizers", "--tokenizer", path,
                           "--corpus", corpus, "--reps", str(args.reps), "--dump-ids", dump]
                    env = dict(os.environ, TOKENIZERS_PARALLELISM="true")
                    env.pop("RAYON_NUM_THREADS", None)
                    if threads == 1:
                        env["RAYON_NUM_THREADS"] = "1"
                l1 = load1()
                res = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
                res["load1"] = l1
                runs[(side, threads)].append(res)
                with open(dump, "rb") as f:
                    ids = f.read()
                if ref_ids is None:
                    ref_ids = ids
                elif ids != ref_ids:
                    raise SystemExit(f"{v}: {side} with {threads} threads gave other ids than the first run")
                log(f"{v} round {r + 1}: {side:10s} threads {threads}: "
                    f"{' '.join(f'{nbytes / s / 1e6:.2f}' for s in res['seconds'])} MB/s")
        results[v] = {f"{s}/{t}": {"seconds": [x for run in rs for x in run["seconds"]],
                                   "median_s": statistics.median(x for run in rs for x in run["seconds"]),
                                   "load_s": statistics.median(run["load_s"] for run in rs),
                                   "tokens": rs[0]["tokens"], "load1": [run["load1"] for run in rs]}
                      for (s, t), rs in runs.items()}

    print(f"Encode throughput, {nbytes / 1e6:.2f} MB mixed corpus ({len(docs)} documents), "
          f"{cpu_name()}, load average before {load_before:.2f}\n")
    print("| tokenizer.json | threads | tokens | ours MB/s | tokenizers MB/s | ours / tokenizers |")
    print("|---|---|---|---|---|---|")
    for v, res in results.items():
        for t in (1, nall):
            o, p = res[f"ours/{t}"], res[f"tokenizers/{t}"]
            print(f"| {v} | {t} | {o['tokens']:,} | {nbytes / o['median_s'] / 1e6:.2f} | "
                  f"{nbytes / p['median_s'] / 1e6:.2f} | {p['median_s'] / o['median_s']:.2f} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"bytes": nbytes, "docs": len(docs), "cpu": cpu_name(), "load_before": load_before,
                       "waited_s": waited, "all_threads": nall, "rounds": args.rounds, "reps": args.reps,
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
