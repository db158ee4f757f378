#!/usr/bin/env python3
"""Reference Elo for tests/parity/test_elo_parity.cpp: FastChat's own recipes, run with
pandas and scikit-learn on a battle JSONL file.

  elo_reference.py BATTLES.jsonl OUT.json

Writes {"sklearn_version", "models", "mle_weighted", "mle_rows", "mle_drop", "online"}:
  mle_weighted  FastChat's compute_mle_elo (fastchat/serve/monitor/elo_analysis.py, the
                current version): pivot tables of wins per ordered pair, ties added to
                both sides, X[i, a] = +log(BASE), X[i, b] = -log(BASE), two rows per pair
                (Y = 1 with weight 2 * a-wins + ties, Y = 0 with 2 * b-wins + ties),
                LogisticRegression(fit_intercept=False, no penalty, tol=1e-6), Elo =
                SCALE * coef + INIT.
  mle_rows      the earlier version (the LMSYS Elo notebook): every battle duplicated, a tie
                labelled 1 in the first copy and 0 in the second, no sample weights.
  mle_drop      mle_weighted on the battles without ties.
  online        compute_online_elo: K = 4, battles in file order, ties = 0.5.
FastChat's fits run without a penalty; scikit-learn >= 1.8 spells that C=np.inf (the
`penalty` argument is deprecated). No anchor: the ratings have mean INIT (the fit starts
at 0 and every gradient sums to 0).
"""
import json
import math
import sys
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression

SCALE, BASE, INIT = 400, 10, 1000


def no_penalty_lr(tol):
    return LogisticRegression(fit_intercept=False, C=np.inf, tol=tol, max_iter=1000)


def compute_mle_elo(df, lr=None):
    """FastChat's current compute_mle_elo (sample-weighted pair rows). `lr`: the
    LogisticRegression to fit (default: unpenalised, tol 1e-6, max_iter 1000 for parity;
    bench/elo_vs_python.py passes FastChat's own, max_iter 100)."""
    ptbl_a_win = pd.pivot_table(df[df["winner"] == "model_a"], index="model_a", columns="model_b", aggfunc="size",
                                fill_value=0)
    ties = df[df["winner"].isin(["tie", "tie (bothbad)"])]
    if len(ties) == 0:
        ptbl_tie = pd.DataFrame(0, index=ptbl_a_win.index, columns=ptbl_a_win.columns)
    else:
        ptbl_tie = pd.pivot_table(ties, index="model_a", columns="model_b", aggfunc="size", fill_value=0)
        ptbl_tie = ptbl_tie + ptbl_tie.T
    ptbl_b_win = pd.pivot_table(df[df["winner"] == "model_b"], index="model_a", columns="model_b", aggfunc="size",
                                fill_value=0)
    ptbl_win = ptbl_a_win * 2 + ptbl_b_win.T * 2 + ptbl_tie

    models = pd.Series(np.arange(len(ptbl_win.index)), index=ptbl_win.index)
    p = len(models)
    X = np.zeros([p * (p - 1) * 2, p])
    Y = np.zeros(p * (p - 1) * 2)
    cur_row = 0
    sample_weights = []
    for m_a in ptbl_win.index:
        for m_b in ptbl_win.columns:
            if m_a == m_b:
                continue
            if math.isnan(ptbl_win.loc[m_a, m_b]) or math.isnan(ptbl_win.loc[m_b, m_a]):
                continue
            X[cur_row, models[m_a]] = +math.log(BASE)
            X[cur_row, models[m_b]] = -math.log(BASE)
            Y[cur_row] = 1.0
            sample_weights.append(ptbl_win.loc[m_a, m_b])
            X[cur_row + 1, models[m_a]] = math.log(BASE)
            X[cur_row + 1, models[m_b]] = -math.log(BASE)
            Y[cur_row + 1] = 0.0
            sample_weights.append(ptbl_win.loc[m_b, m_a])
            cur_row += 2
    X = X[:cur_row]
    Y = Y[:cur_row]
    lr = lr if lr is not None else no_penalty_lr(1e-6)
    lr.fit(X, Y, sample_weight=sample_weights)
    elo = SCALE * lr.coef_[0] + INIT
    return dict(zip(models.index, elo))


def compute_mle_elo_rows(df):
    """The notebook's compute_mle_elo: every battle twice, no weights."""
    models = pd.concat([df["model_a"], df["model_b"]]).unique()
    models = pd.Series(np.arange(len(models)), index=models)
    df = pd.concat([df, df], ignore_index=True)
    p = len(models.index)
    n = df.shape[0]
    X = np.zeros([n, p])
    X[np.arange(n), models[df["model_a"]]] = +math.log(BASE)
    X[np.arange(n), models[df["model_b"]]] = -math.log(BASE)
    Y = np.zeros(n)
    Y[df["winner"] == "model_a"] = 1.0
    tie_idx = ((df["winner"] == "tie") | (df["winner"] == "tie (bothbad)")).to_numpy().copy()
    tie_idx[len(tie_idx) // 2:] = False
    Y[tie_idx] = 1.0
    lr = no_penalty_lr(1e-8)
    lr.fit(X, Y)
    elo = SCALE * lr.coef_[0] + INIT
    return dict(zip(models.index, elo))


def compute_online_elo(df, K=4):
    rating = defaultdict(lambda: INIT)
    for model_a, model_b, winner in df[["model_a", "model_b", "winner"]].itertuples(index=False):
        ra, rb = rating[model_a], rating[model_b]
        ea = 1 / (1 + BASE ** ((rb - ra) / SCALE))
        eb = 1 / (1 + BASE ** ((ra - rb) / SCALE))
        if winner == "model_a":
            sa = 1
        elif winner == "model_b":
            sa = 0
        elif winner in ("tie", "tie (bothbad)"):
            sa = 0.5
        else:
            raise ValueError(f"unexpected vote {winner}")
        rating[model_a] += K * (sa - ea)
        rating[model_b] += K * (1 - sa - eb)
    return dict(rating)


def main():
    src, out = sys.argv[1], sys.argv[2]
    rows = []
    with open(src) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                rows.append((r["model_a"], r["model_b"], r["winner"]))
    df = pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = compute_mle_elo(df)
        by_rows = compute_mle_elo_rows(df)
        drop = compute_mle_elo(df[~df["winner"].isin(["tie", "tie (bothbad)"])])
    online = compute_online_elo(df)
    models = sorted(weighted)
    res = {
        "sklearn_version": sklearn.__version__,
        "models": models,
        "mle_weighted": [weighted[m] for m in models],
        "mle_rows": [by_rows[m] for m in models],
        "mle_drop": [drop[m] for m in models],
        "online": [online[m] for m in models],
    }
    with open(out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
