#!/usr/bin/env python3
"""Bradley–Terry Elo with bootstrap CIs: `flywheel elo` next to Python.

  elo_vs_python.py [--binary build/bin/flywheel] [--battles 1600000] [--models 100] [--rounds 100]
                   [--threads 2] [--fastchat-rounds 3] [--reps 3] [--sides flywheel,python-fast,fastchat]
                   [--quick] [--max-load 0.7] [--max-wait 120] [--work DIR] [--out results.json]

One battle set (seeded: --models models with known ratings, pairs drawn uniformly, 10 % ties,
the rest won with the Bradley–Terry probability) is written once as battle JSONL; then each
side, in its own process and one after the other, reads it, fits Bradley–Terry Elo on all
battles (scale 400, base 10, init 1000, ties half) and runs --rounds bootstrap rounds
(median + 2.5 / 97.5 % percentiles):

  flywheel     `flywheel elo --battles F --out D --bootstrap R --threads T --no-categories`:
               the process's wall time, and its phases from its "elo timing:" log line
               (read, tabulate, fit, bootstrap, online Elo + pairwise views, write).
  python-fast  the fastest Python we could set up: pyarrow's multi-threaded JSON reader, ids
               by pyarrow.compute.index_in, the battles deduplicated into (a, b, outcome) rows
               with np.bincount, FastChat's pair rows with sample weights into scikit-learn's
               LogisticRegression (lbfgs, no penalty, tol 1e-6, warm-started from the full
               fit), each bootstrap round a numpy multinomial draw of the row counts (the
               distribution of resampling all battles), rounds spread over T forked worker
               processes with one BLAS thread each (threaded BLAS on matrices this small
               made it 3x slower).
  fastchat     FastChat's own path: pandas.read_json, compute_mle_elo (pivot tables +
               scikit-learn) on all battles, then get_bootstrap_result's loop, each round
               compute_mle_elo on battles.sample(frac=1.0, replace=True). A round takes
               seconds at this size, so it runs --fastchat-rounds rounds and the --rounds
               time is extrapolated from their mean (the table marks it).

Each side but fastchat runs --reps times, interleaved with the others; the table keeps each
side's median run by compute (every run's times are printed below it and kept in --out).
"compute" = tabulate + fit + bootstrap (what the Elo costs once the battles are in memory);
"end to end" = the process's wall time (start-up, reading the file, writing results). The
ratios are python / flywheel (above 1 = flywheel is faster). The Python fits are checked
against ours (largest difference of the full-data MLE, in Elo).
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

from bench_common import cpu_name, log, python_env, run_measured, set_log_tag, wait_for_quiet

SCALE, BASE, INIT = 400, 10, 1000


# ---- the battle set -------------------------------------------------------------------------

def make_battles(path, n, p, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    elo = np.sort(rng.normal(1000, 150, p))[::-1]
    a = rng.integers(0, p, n)
    b = rng.integers(0, p - 1, n)
    b = b + (b >= a)
    pa = 1 / (1 + 10 ** ((elo[b] - elo[a]) / 400))
    u, t = rng.random(n), rng.random(n)
    w = np.where(t < 0.1, 2, np.where(u < pa, 0, 1))
    names = [f"model-{i:03d}" for i in range(p)]
    winners = ["model_a", "model_b", "tie"]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for i in range(n):
            f.write('{"question_id": "q%d", "model_a": "%s", "model_b": "%s", "winner": "%s", "judge": "sim", '
                    '"tstamp": %d}\n' % (i, names[a[i]], names[b[i]], winners[w[i]], i))
    os.replace(tmp, path)


# ---- python-fast ------------------------------------------------------------------------------

def fast_fit(W, lr):
    """W: p x p pair wins (ties half). FastChat's rows: for each pair with battles, Y = 1
    weighted 2 W[i, j] and Y = 0 weighted 2 W[j, i], X = +log(BASE) at i, -log(BASE) at j."""
    import numpy as np
    p = W.shape[0]
    iu, ju = np.triu_indices(p, 1)
    n = W[iu, ju] + W[ju, iu]
    keep = n > 0
    iu, ju = iu[keep], ju[keep]
    m = len(iu)
    X = np.zeros((2 * m, p))
    rows = np.arange(m)
    for half in (0, 1):
        X[half * m + rows, iu] = math.log(BASE)
        X[half * m + rows, ju] = -math.log(BASE)
    Y = np.concatenate([np.ones(m), np.zeros(m)])
    sw = np.concatenate([2 * W[iu, ju], 2 * W[ju, iu]])
    lr.fit(X, Y, sample_weight=sw)
    return SCALE * lr.coef_[0] + INIT


def pair_wins(counts, p):
    """counts over keys (a p + b) 3 + outcome (a < b; 0 = a wins, 1 = b wins, 2 = tie)."""
    import numpy as np
    c = counts.reshape(p, p, 3)
    W = c[:, :, 0] + 0.5 * c[:, :, 2]
    W = W + (c[:, :, 1] + 0.5 * c[:, :, 2]).T
    return W


_BOOT = {}


def _boot_rounds(args):
    import warnings
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    rounds, seed = args
    keys, counts, p, n, warm = _BOOT["keys"], _BOOT["counts"], _BOOT["p"], _BOOT["n"], _BOOT["warm"]
    out = []
    lr = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-6, warm_start=True, max_iter=1000)
    for r in rounds:
        rng = np.random.default_rng([seed, r])
        draw = rng.multinomial(n, counts / n)
        full = np.zeros(p * p * 3)
        full[keys] = draw
        lr.coef_ = ((warm - INIT) / SCALE).reshape(1, -1).copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(fast_fit(pair_wins(full, p), lr))
    return out


def side_python_fast(spec):
    import multiprocessing as mp
    import warnings
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj
    from sklearn.linear_model import LogisticRegression
    pa.set_cpu_count(spec["threads"])
    res = {}
    t0 = time.perf_counter()
    table = pj.read_json(spec["battles"])
    res["read_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    a_col, b_col = table.column("model_a"), table.column("model_b")
    models = pc.unique(pa.concat_arrays([pc.unique(a_col), pc.unique(b_col)])).to_pylist()
    models = sorted(set(models))
    p = len(models)
    value_set = pa.array(models)
    a = pc.index_in(a_col, value_set=value_set).to_numpy().astype(np.int64)
    b = pc.index_in(b_col, value_set=value_set).to_numpy().astype(np.int64)
    w = pc.index_in(table.column("winner"), value_set=pa.array(["model_a", "model_b", "tie", "tie (bothbad)"]))
    w = np.minimum(w.to_numpy().astype(np.int64), 2)
    swap = a > b
    lo, hi = np.where(swap, b, a), np.where(swap, a, b)
    o = np.where(swap & (w < 2), 1 - w, w)
    full = np.bincount((lo * p + hi) * 3 + o, minlength=p * p * 3)
    keys = np.nonzero(full)[0]
    counts = full[keys].astype(np.float64)
    n = int(counts.sum())
    res["tabulate_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    lr = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-6, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mle = fast_fit(pair_wins(full.astype(np.float64), p), lr)
    res["fit_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    _BOOT.update(keys=keys, counts=counts, p=p, n=n, warm=mle)
    workers = max(1, spec["threads"])
    shares = [(list(range(k, spec["rounds"], workers)), spec["seed"]) for k in range(workers)]
    if workers == 1:
        parts = [_boot_rounds(shares[0])]
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_boot_rounds, shares)
    boot = np.zeros((spec["rounds"], p))
    for (rounds, _), part in zip(shares, parts):
        for r, row in zip(rounds, part):
            boot[r] = row
    median = np.median(boot, axis=0)
    lo_q, hi_q = np.quantile(boot, 0.025, axis=0), np.quantile(boot, 0.975, axis=0)
    res["bootstrap_s"] = time.perf_counter() - t0
    res["compute_s"] = res["tabulate_s"] + res["fit_s"] + res["bootstrap_s"]
    res["models"] = models
    res["mle_elo"] = mle.tolist()
    res["median"] = median.tolist()
    res["ci_width_mean"] = float(np.mean(hi_q - lo_q))
    return res


# ---- fastchat ---------------------------------------------------------------------------------

def compute_mle_elo(df):
    """FastChat's compute_mle_elo (fastchat/serve/monitor/elo_analysis.py), as it is: the
    parity test's copy (tests/parity/elo_reference.py) with FastChat's own solver settings."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "parity"))
    from elo_reference import compute_mle_elo as reference  # noqa: E402
    elo = reference(df, LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-6))  # FastChat: penalty=None
    return pd.Series(elo).sort_values(ascending=False)


def side_fastchat(spec):
    import warnings
    import pandas as pd
    res = {}
    t0 = time.perf_counter()
    battles = pd.read_json(spec["battles"], lines=True, dtype=False)
    res["read_s"] = time.perf_counter() - t0
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    mle = compute_mle_elo(battles)
    res["fit_s"] = time.perf_counter() - t0
    res["tabulate_s"] = 0.0  # inside every compute_mle_elo call
    rows, times = [], []
    for _ in range(spec["fastchat_rounds"]):  # get_bootstrap_result's loop
        t1 = time.perf_counter()
        rows.append(compute_mle_elo(battles.sample(frac=1.0, replace=True)))
        times.append(time.perf_counter() - t1)
    res["round_s"] = times
    res["rounds_run"] = len(times)
    res["bootstrap_s"] = sum(times) / len(times) * spec["rounds"]  # extrapolated
    res["bootstrap_extrapolated"] = True
    res["compute_s"] = res["fit_s"] + res["bootstrap_s"]
    res["models"] = list(mle.index)
    res["mle_elo"] = [float(v) for v in mle.values]
    return res


# ---- the driver -------------------------------------------------------------------------------

def worker_main(side, spec_path, out_path):
    spec = json.load(open(spec_path))
    res = side_python_fast(spec) if side == "python-fast" else side_fastchat(spec)
    json.dump(res, open(out_path, "w"))


def run_flywheel(args, battles, work):
    out_dir = os.path.join(work, "flywheel-out")
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [args.binary, "elo", "--battles", battles, "--out", out_dir, "--bootstrap", str(args.rounds),
           "--threads", str(args.threads), "--seed", "0", "--no-categories"]
    log_path = os.path.join(work, "flywheel.log")
    m = run_measured(cmd, python_env(args.threads), log_path)
    text = open(log_path).read()
    if m["rc"] != 0:
        raise SystemExit(f"flywheel elo failed (rc {m['rc']}):\n{text[-3000:]}")
    timing = re.search(r"elo timing: (.*)", text).group(1)
    phases = {k: float(v) for k, v in re.findall(r"(\w+) ([0-9.]+) s", timing)}
    lb = json.load(open(os.path.join(out_dir, "leaderboard.json")))
    res = dict(read_s=phases["read"], tabulate_s=phases["tabulate"], fit_s=phases["fit"],
               bootstrap_s=phases["bootstrap"], views_s=phases["views"], write_s=phases["write"],
               compute_s=phases["tabulate"] + phases["fit"] + phases["bootstrap"],
               models=[e["model"] for e in lb["models"]], mle_elo=[e["mle_elo"] for e in lb["models"]],
               median=[e["elo"] for e in lb["models"]],
               ci_width_mean=sum(e["ci_high"] - e["ci_low"] for e in lb["models"]) / len(lb["models"]))
    res.update(wall_s=m["wall_s"], peak_rss_mib=m["peak_rss_mib"], other_cpu_share=m["other_cpu_share"])
    return res


def run_python(args, side, battles, work):
    spec = dict(battles=battles, rounds=args.rounds, threads=args.threads, seed=0,
                fastchat_rounds=args.fastchat_rounds)
    spec_path, out_path = os.path.join(work, f"{side}.spec.json"), os.path.join(work, f"{side}.out.json")
    json.dump(spec, open(spec_path, "w"))
    log_path = os.path.join(work, f"{side}.log")
    env = python_env(args.threads)
    if side == "python-fast":
        # Its parallelism is T worker processes; BLAS threads inside each only contend (the
        # matrices are ~10k x 100), so each runs one. pyarrow's reader gets T threads.
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    m = run_measured([sys.executable, os.path.abspath(__file__), "worker", side, spec_path, out_path], env, log_path)
    if m["rc"] != 0:
        raise SystemExit(f"{side} failed (rc {m['rc']}):\n{open(log_path).read()[-3000:]}")
    res = json.load(open(out_path))
    res.update(wall_s=m["wall_s"], peak_rss_mib=m["peak_rss_mib"], other_cpu_share=m["other_cpu_share"])
    if side == "fastchat":  # the process ran only a few rounds: extrapolate its wall time too
        res["wall_s_measured"] = m["wall_s"]
        res["wall_s"] = m["wall_s"] - sum(res["round_s"]) + res["bootstrap_s"]
    return res


def max_diff(ours, theirs):
    o = dict(zip(ours["models"], ours["mle_elo"]))
    return max(abs(o[m] - v) for m, v in zip(theirs["models"], theirs["mle_elo"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/bin/flywheel")
    ap.add_argument("--battles", type=int, default=1_600_000)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fastchat-rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3, help="runs of each side but fastchat (median kept)")
    ap.add_argument("--sides", default="flywheel,python-fast,fastchat")
    ap.add_argument("--quick", action="store_true", help="200k battles, 1 FastChat round")
    ap.add_argument("--max-load", type=float, default=0.7)
    ap.add_argument("--max-wait", type=float, default=120)
    ap.add_argument("--work", default=None, help="keep the battle file here (default: a temporary folder)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    set_log_tag("elo")
    if args.quick:
        args.battles, args.fastchat_rounds, args.reps = 200_000, 1, 1
    work = args.work or tempfile.mkdtemp(prefix="fw-elo-bench-")
    os.makedirs(work, exist_ok=True)
    battles = os.path.join(work, f"battles-{args.battles}-{args.models}.jsonl")
    if not os.path.exists(battles):
        log(f"writing {args.battles:,} battles among {args.models} models to {battles}")
        make_battles(battles, args.battles, args.models, seed=1)
    sides = args.sides.split(",")
    # --reps runs of every side but FastChat's (slow, run once), interleaved so a burst of
    # other work on the machine slows both alike; each side keeps its median run by compute.
    runs = {side: [] for side in sides}
    for rep in range(args.reps):
        for side in sides:
            if side == "fastchat" and rep > 0:
                continue
            load, waited = wait_for_quiet(args.max_load, args.max_wait)
            log(f"{side} run {rep + 1} (load {load:.2f})")
            r = run_flywheel(args, battles, work) if side == "flywheel" else run_python(args, side, battles, work)
            r["load_before"] = load
            runs[side].append(r)
            log(f"{side}: compute {r['compute_s']:.3f} s, wall {r['wall_s']:.2f} s")
    results = {}
    for side in sides:
        ordered = sorted(runs[side], key=lambda r: r["compute_s"])
        results[side] = dict(ordered[len(ordered) // 2])
        results[side]["compute_s_runs"] = [r["compute_s"] for r in runs[side]]
        results[side]["wall_s_runs"] = [r["wall_s"] for r in runs[side]]

    ours = results.get("flywheel")
    print(f"## Bradley-Terry Elo + {args.rounds} bootstrap rounds: {args.battles:,} battles, {args.models} models, "
          f"{args.threads} threads\n")
    print("| side | read s | tabulate s | fit s | bootstrap s | compute s | end to end s | compute: x slower than "
          "flywheel | end to end: x | max |MLE diff| vs flywheel |")
    print("|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for side in sides:
        r = results[side]
        mark = " (extrapolated from %d rounds)" % r["rounds_run"] if r.get("bootstrap_extrapolated") else ""
        ratio_c = r["compute_s"] / ours["compute_s"] if ours else float("nan")
        ratio_w = r["wall_s"] / ours["wall_s"] if ours else float("nan")
        diff = max_diff(ours, r) if ours and side != "flywheel" else 0.0
        r["compute_ratio"], r["wall_ratio"], r["mle_max_diff"] = ratio_c, ratio_w, diff
        print(f"| {side}{mark} | {r['read_s']:.2f} | {r['tabulate_s']:.3f} | {r['fit_s']:.3f} | {r['bootstrap_s']:.3f} | "
              f"{r['compute_s']:.3f} | {r['wall_s']:.2f} | {ratio_c:.1f} | {ratio_w:.1f} | {diff:.4f} |")
    for side in sides:
        if len(runs[side]) > 1:
            print(f"\n{side}: compute per run " + ", ".join(f"{c:.3f}" for c in results[side]["compute_s_runs"]) +
                  " s; end to end " + ", ".join(f"{w:.2f}" for w in results[side]["wall_s_runs"]) + " s (median kept)")
    if ours:
        print(f"\nflywheel phases: read {ours['read_s']:.3f} s, tabulate {ours['tabulate_s']:.3f} s, fit {ours['fit_s']:.4f} s, "
              f"bootstrap {ours['bootstrap_s']:.3f} s, views (online Elo, pairwise) {ours['views_s']:.3f} s, "
              f"write {ours['write_s']:.3f} s; peak RSS {ours['peak_rss_mib']:.0f} MiB")
    info = dict(cpu=cpu_name(), cores=os.cpu_count(), python=platform.python_version(), battles=args.battles,
                models=args.models, rounds=args.rounds, threads=args.threads, results=results)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(info, f, indent=1)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker_main(*sys.argv[2:5])
    else:
        main()
