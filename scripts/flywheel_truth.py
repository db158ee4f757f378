#!/usr/bin/env python3
"""How well the flywheel's offline Elo tracks the truth, on the synthetic domain.

After a flywheel run (e.g. `make demo`), battles every model of its final leaderboard
(the competitors and each target snapshot) on a large held-out set the run never
evaluated on — the held-out prompts after its test set — with the rule judge, takes each
model's true accuracy (the share of its answers the verifier scores 10), and reports the
Spearman correlation between the run's offline Elo and the true accuracy: over the
competitors (the paper's consistency check, its analogue is 98.8 %) and over all models.

    scripts/flywheel_truth.py [--run runs/flywheel-tiny] [--heldout runs/synth/heldout.jsonl]
                              [--flywheel build/bin/flywheel]
"""
import argparse
import json
import os
import subprocess
import sys

import yaml
from scipy.stats import spearmanr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="runs/flywheel-tiny")
    ap.add_argument("--heldout", default="runs/synth/heldout.jsonl")
    ap.add_argument("--flywheel", default="build/bin/flywheel")
    args = ap.parse_args()

    summary = json.load(open(os.path.join(args.run, "summary.json")))
    config = yaml.safe_load(open(os.path.join(args.run, "config.yaml")))
    # The run's test set is the first eval.max_prompts held-out prompts; the truth set is the rest.
    max_test = int(config["eval"].get("max_prompts", 0))
    lines = open(args.heldout).read().splitlines()
    truth = lines[max_test:] if 0 < max_test < len(lines) else lines
    out = os.path.join(args.run, "truth")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "prompts.jsonl"), "w") as f:
        f.write("\n".join(truth) + "\n")

    # Every model as a battle competitor: the run's competitors as they were, each snapshot a local folder.
    snapshots = {s["name"]: s["path"] for s in summary["snapshots"]}
    competitors = list(config["competitors"])
    for name, path in snapshots.items():
        competitors.append({"name": name, "kind": "local", "model": path, "max_batch": 64,
                            "sampling": config["target"]["sampling"]})
    recipe = {"output_dir": out + "/battle", "prompts": [out + "/prompts.jsonl"], "pairs": "all",
              "judge": {"kind": "rule"}, "competitors": competitors}
    with open(os.path.join(out, "battle.yaml"), "w") as f:
        yaml.safe_dump(recipe, f, sort_keys=False)
    subprocess.run([args.flywheel, "battle", os.path.join(out, "battle.yaml")], check=True)

    scores = {}  # model -> {question: score}
    with open(os.path.join(out, "battle", "battles.jsonl")) as f:
        for line in f:
            b = json.loads(line)
            g = b["games"][0]
            scores.setdefault(b["model_a"], {})[b["question_id"]] = g["score_a"]
            scores.setdefault(b["model_b"], {})[b["question_id"]] = g["score_b"]
    accuracy = {m: sum(1 for s in q.values() if s == 10) / len(q) for m, q in scores.items()}
    elo = {e["model"]: e["elo"] for e in summary["final_leaderboard"]}
    competitors = [m for m in elo if m not in snapshots]

    def rho(models):
        r = spearmanr([elo[m] for m in models], [accuracy[m] for m in models])
        return float(r.correlation if hasattr(r, "correlation") else r[0])

    rows = sorted(elo, key=lambda m: -elo[m])
    print(f"| model | offline Elo | true accuracy ({len(truth)} held-out prompts) |")
    print("|:---|---:|---:|")
    for m in rows:
        print(f"| {m}{' (competitor)' if m in competitors else ''} | {elo[m]:.0f} | {100 * accuracy[m]:.1f} % |")
    result = {"truth_prompts": len(truth), "accuracy": accuracy, "elo": elo,
              "spearman_competitors": rho(competitors), "spearman_all": rho(rows)}
    print(f"\nSpearman (competitors): {result['spearman_competitors']:.3f}; (all models): {result['spearman_all']:.3f}")
    json.dump(result, open(os.path.join(out, "truth.json"), "w"), indent=2)


if __name__ == "__main__":
    sys.exit(main())
