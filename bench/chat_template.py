#!/usr/bin/env python3
"""Chat templating: render + tokenize + assistant mask per 1,000 conversations,
`flywheel template` against transformers' apply_chat_template, on the same tokenizer folder.

    ~/.cache/flywheel/venv/bin/python bench/chat_template.py --flywheel build/bin/flywheel \
        [--templates Qwen-Qwen3-0.6B,meta-llama-Llama-3.1-8B-Instruct,trl-qwen3_training] [--n 1000] [--out r.json]

Folders: tests/parity/template_cli_reference.py's (a byte-level tokenizer.json trained on the
conversations, the real template of tests/data/chat_templates, saved by save_pretrained).
Conversations: chat_templates.py's set, repeated to --n, those every template accepts.
Sides, each timed over the whole set (median of --reps):
  ours          `flywheel template DIR --file convs.jsonl` (process start, load, render, encode
                once with offsets, mask, JSON out: the whole command); and the work alone: the
                same minus a one-conversation run of the command (start-up and loading the
                folder: about 10 ms, `flywheel` runs `template` without LibTorch)
  transformers  apply_chat_template(messages, tools=..., tokenize=True, return_dict=True,
                return_assistant_tokens_mask=<template has {% generation %}>) per conversation
                (the tokenizer loaded once, outside the timing)
The ids of both sides are compared (they must be equal).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "parity"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main():
    import chat_templates
    import template_cli_reference as ref
    from transformers import AutoTokenizer

    ap = argparse.ArgumentParser()
    ap.add_argument("--flywheel", required=True)
    ap.add_argument("--templates", default="Qwen-Qwen3-0.6B,meta-llama-Llama-3.1-8B-Instruct,trl-qwen3_training")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()
    tdir = os.path.join(HERE, "..", "tests", "data", "chat_templates")
    work = tempfile.mkdtemp(prefix="fw-bench-template-")
    rows = []
    for name in args.templates.split(","):
        with open(os.path.join(tdir, name + ".jinja"), encoding="utf-8") as f:
            template = f.read()
        marked = re.search(r"\{%-?\s*generation\s*-?%\}", template) is not None
        tok, folder = ref.make_folder(name, template, work)
        tok = AutoTokenizer.from_pretrained(folder)
        convs = []
        for _, messages, tools in chat_templates.conversations():
            try:
                tok.apply_chat_template(messages, tools=tools, tokenize=False)
            except Exception:
                continue  # the template refuses it
            convs.append((messages, tools))
        convs = (convs * (args.n // len(convs) + 1))[: args.n]
        path = os.path.join(folder, "bench.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for messages, tools in convs:
                f.write(json.dumps({"messages": messages, "tools": tools}, ensure_ascii=False) + "\n")
        one = os.path.join(folder, "one.jsonl")
        with open(path, encoding="utf-8") as f, open(one, "w", encoding="utf-8") as g:
            g.write(f.readline())
        ours, theirs, startup, ours_ids, their_ids = [], [], [], None, None
        for _ in range(args.reps):
            t0 = time.perf_counter()
            subprocess.run([args.flywheel, "template", folder, "--file", one], check=True, capture_output=True)
            startup.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            out = subprocess.run([args.flywheel, "template", folder, "--file", path], check=True,
                                 capture_output=True, text=True).stdout
            ours.append(time.perf_counter() - t0)
            ours_ids = [json.loads(line)["ids"] for line in out.splitlines()]
            t0 = time.perf_counter()
            their_ids = []
            for messages, tools in convs:
                r = tok.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=marked)
                their_ids.append(list(r["input_ids"]))
            theirs.append(time.perf_counter() - t0)
        assert ours_ids == their_ids, f"{name}: ids differ"
        o, t, s0 = statistics.median(ours), statistics.median(theirs), statistics.median(startup)
        work_s = max(o - s0, 1e-6)
        rows.append({"template": name, "conversations": len(convs), "generation_blocks": marked,
                     "ours_s": o, "ours_startup_s": s0, "ours_work_s": work_s, "transformers_s": t,
                     "ratio_command": t / o, "ratio_work": t / work_s, "load": os.getloadavg()[0]})
    print("| template | conversations | mask from | flywheel template (s) | of which start-up (s) | transformers (s) |"
          " ratio, whole command | ratio, work |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['template']} | {r['conversations']} | {'generation blocks' if r['generation_blocks'] else 'reply search'}"
              f" | {r['ours_s']:.3f} | {r['ours_startup_s']:.3f} | {r['transformers_s']:.3f} | {r['ratio_command']:.1f}x"
              f" | {r['ratio_work']:.1f}x |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
