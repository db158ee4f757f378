#!/usr/bin/env python3
"""Helpers shared by the training benchmarks (sft_vs_python.py, dpo_vs_trl.py).

  - measuring: run_measured (one side's process: wall time, peak RSS from wait4, the CPU
    share other processes took meanwhile), wait_for_quiet / wait_for_idle_cpu, load1,
    cpu_jiffies, cpu_name;
  - the Python sides' environment (python_env, setup_torch);
  - flywheel re-implemented where the sides must agree bit for bit: its RNG and epoch plan
    (core/rng.cpp, data/batching.cpp) and the `plain` chat template (encode_plain);
  - the data and models both benchmarks use: `flywheel synth` data, a sentencepiece
    tokenizer trained by flywheel, and the Llama models built by transformers (seeded
    random init, saved once with save_pretrained under ~/.cache/flywheel/bench-sft-models/).

`python bench_common.py build SPEC.json` is the model-building worker (a process of its own,
so the driver never imports torch's thread pools before the sides run).
"""
import json
import os
import platform
import subprocess
import sys
import time

MASK64 = (1 << 64) - 1
IGNORE = -100
MODEL_SEED = 1  # the seed of the models' random init
NOISY = 0.05  # a side's run is flagged when other processes took more of the CPU than this

# The benchmark models (transformers LlamaConfig fields); vocab None = the tokenizer's.
MODELS = {
    # the shape of configs/sft/tiny.yaml; vocab = the tokenizer's 512
    "tiny": dict(hidden_size=128, intermediate_size=352, num_hidden_layers=4, num_attention_heads=4,
                 num_key_value_heads=2, tie_word_embeddings=True, vocab_size=None),
    # ~125M parameters; the vocab is padded up from the tokenizer's 512 to 32000 (Llama-2's)
    "100m": dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
                 num_key_value_heads=4, tie_word_embeddings=False, vocab_size=32000),
}

_LOG_TAG = ["bench"]


def set_log_tag(tag):
    _LOG_TAG[0] = tag


def log(msg):
    print(f"[{_LOG_TAG[0]} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def human_int(x):
    return f"{x:,.0f}"


# ---- flywheel's RNG and epoch plan (core/rng.cpp, data/batching.cpp) ---------------------

def mix64(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK64
    return z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK64


class Rng:
    """fw::Rng: xoshiro256** seeded through splitmix64."""

    def __init__(self, seed):
        state, self.s = seed & MASK64, []
        for _ in range(4):
            state = (state + 0x9e3779b97f4a7c15) & MASK64
            self.s.append(mix64(state))

    @staticmethod
    def for_index(seed, index, stream=0):
        return Rng(mix64(seed ^ 0x6a09e667f3bcc909)
                   ^ mix64((index * 0x9e3779b97f4a7c15 + 0x3c6ef372fe94f82b) & MASK64)
                   ^ mix64((stream + 0xa54ff53a5f1d36f1) & MASK64))

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform_int(self, lo, hi):
        rng = (hi - lo + 1) & MASK64
        if rng == 0:
            return self.next()
        threshold = ((1 << 64) - rng) % rng
        r = self.next()
        while r < threshold:
            r = self.next()
        return lo + r % rng

    def shuffle(self, items):
        for i in range(len(items), 1, -1):
            j = self.uniform_int(0, i - 1)
            items[i - 1], items[j] = items[j], items[i - 1]


def plan_epoch(lengths, max_seq_len, micro_batch, packing, seed, epoch=0, group_window=64):
    """fw::data::plan_epoch with shuffle on: a list of micro-batches, each a list of rows,
    each a list of example indices."""
    order = list(range(len(lengths)))
    rng = Rng.for_index(seed, epoch, 0xBA7C)
    rng.shuffle(order)
    rows = []
    if packing:
        row, used = [], 0
        for i in order:
            if row and used + lengths[i] > max_seq_len:
                rows.append(row)
                row, used = [], 0
            row.append(i)
            used += lengths[i]
        if row:
            rows.append(row)
    else:
        window = micro_batch * max(1, group_window)
        for start in range(0, len(order), window):
            order[start:start + window] = sorted(order[start:start + window], key=lambda i: lengths[i])
        rows = [[i] for i in order]
    batches = [rows[s:s + micro_batch] for s in range(0, len(rows), micro_batch)]
    if not packing:
        rng.shuffle(batches)
    return batches


# ---- the `plain` chat template (data/chat_template.cpp) ----------------------------------

def encode_plain(sp, messages, bos, eos):
    """Token ids and loss mask of one conversation, as flywheel's encode_chat(plain,
    all_assistant). A reply " {content}" continues "Assistant:" without a dummy prefix;
    with the tokenizer's remove_extra_whitespaces=false that is sp.encode(content)."""
    ids, mask = [bos], [0]
    for m in messages:
        if m["role"] == "assistant":
            head = sp.encode("Assistant:")
            reply = sp.encode(m["content"]) + [eos]
            ids += head + reply
            mask += [0] * len(head) + [1] * len(reply)
        else:
            label = "System: " if m["role"] == "system" else "User: "
            part = sp.encode(label + m["content"] + "\n")
            ids += part
            mask += [0] * len(part)
    return ids, mask


def encode_plain_generation_prompt(sp, messages, bos, eos):
    """encode_chat(plain, messages, add_generation_prompt=true): the conversation so far
    and a fresh "Assistant:"."""
    return encode_plain(sp, messages, bos, eos)[0] + sp.encode("Assistant:")


# ---- measuring ----------------------------------------------------------------------------

def python_env(threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error", TOKENIZERS_PARALLELISM="false",
               HF_DATASETS_OFFLINE="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1", PYTHONUNBUFFERED="1")
    return env


def cpu_jiffies():
    """(busy, total) CPU time of the whole machine so far, in clock ticks (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return sum(v) - v[3] - v[4], sum(v)  # minus idle and iowait


def run_measured(cmd, env, log_path, line_times=False):
    """Runs cmd to completion. Returns a dict: rc, wall_s, peak_rss_mib (the child's own
    max RSS, from wait4), cpu_s (its user + system time) and other_cpu_share: the CPU time
    that other processes used meanwhile, as a share of all cores over the run (0 on a
    quiet machine; more means the figures are contaminated). With line_times, the child's
    output goes through a pipe and `lines` holds (seconds since the start, line) for each
    line it printed (the log file gets the same lines)."""
    busy0, _ = cpu_jiffies()
    t0 = time.perf_counter()
    lines = []
    with open(log_path, "w") as logf:
        if line_times:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0)
            buf = b""
            while True:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                now = time.perf_counter() - t0
                buf += chunk
                *done, buf = buf.split(b"\n")
                for raw in done:
                    line = raw.decode("utf-8", "replace")
                    lines.append((now, line))
                    logf.write(line + "\n")
            if buf:
                lines.append((time.perf_counter() - t0, buf.decode("utf-8", "replace")))
                logf.write(lines[-1][1] + "\n")
            proc.stdout.close()
        else:
            proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    busy1, _ = cpu_jiffies()
    cpu = usage.ru_utime + usage.ru_stime
    others = max(0.0, (busy1 - busy0) / os.sysconf("SC_CLK_TCK") - cpu)
    out = dict(rc=os.waitstatus_to_exitcode(status), wall_s=wall, peak_rss_mib=usage.ru_maxrss / 1024.0,
               cpu_s=cpu, minor_page_faults=usage.ru_minflt, other_cpu_share=others / (wall * (os.cpu_count() or 1)))
    if line_times:
        out["lines"] = lines
    return out


def tail(path, n=30):
    try:
        with open(path) as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def load1():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def wait_for_quiet(max_load, max_wait):
    """Waits until the 1-minute load average is below max_load (at most max_wait s)."""
    t0 = time.time()
    while True:
        l1 = load1()
        if not (l1 >= max_load):
            log(f"load average {l1:.2f} (< {max_load}): measuring")
            return l1, time.time() - t0
        if time.time() - t0 > max_wait:
            log(f"WARNING: load average still {l1:.2f} after {max_wait:.0f} s; measuring anyway "
                "(the figures will be low and noisy)")
            return l1, time.time() - t0
        log(f"load average {l1:.2f} >= {max_load}: another job is using the CPU; waiting")
        time.sleep(20)


def wait_for_idle_cpu(max_busy, max_wait, window=3.0):
    """Before each side: waits until the machine's CPU use over `window` seconds is below
    max_busy (a share of all cores), i.e. nobody else is computing; the load average
    would still show the previous side for a minute. Returns the seconds waited."""
    t0 = time.time()
    warned = False
    while True:
        b0, n0 = cpu_jiffies()
        time.sleep(window)
        b1, n1 = cpu_jiffies()
        busy = (b1 - b0) / max(1, n1 - n0)
        if busy < max_busy:
            return time.time() - t0
        if time.time() - t0 > max_wait:
            log(f"WARNING: other processes still use {busy:.0%} of the CPU; measuring anyway")
            return time.time() - t0
        if not warned:
            log(f"other processes use {busy:.0%} of the CPU; waiting for them")
            warned = True


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---- data and models ----------------------------------------------------------------------

def synth_data(binary, data_dir, n, seed, extra=(), check_file="sft.jsonl"):
    """`flywheel synth --out data_dir --n n --seed seed [extra...]`, once."""
    if not os.path.exists(os.path.join(data_dir, check_file)):
        log(f"flywheel synth --n {n} --seed {seed}{''.join(' ' + a for a in extra)}")
        subprocess.run([binary, "synth", "--out", data_dir, "--n", str(n), "--seed", str(seed), *extra],
                       check=True, stdout=subprocess.DEVNULL)


def train_tokenizer(binary, work, sft_jsonl, vocab):
    """A sentencepiece model of `vocab` pieces trained by flywheel on the conversations of
    sft_jsonl (a one-step `flywheel sft` run from scratch trains it); returns the path of
    its tokenizer.model (made once under work/tok/)."""
    tok_path = os.path.join(work, "tok", "tokenizer", "tokenizer.model")
    if not os.path.exists(tok_path):
        log(f"training a {vocab}-piece tokenizer with flywheel")
        tiny_recipe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "sft", "tiny.yaml")
        subprocess.run([binary, "sft", tiny_recipe, f"output_dir={os.path.join(work, 'tok')}",
                        f"data.train=[{sft_jsonl}]", "train.max_steps=1",
                        'eval.prompts=""', f"tokenizer.train_vocab_size={vocab}", "threads=1",
                        "checkpoint.resume=never"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return tok_path


def default_model_cache():
    return os.path.join(os.environ.get("FLYWHEEL_CACHE", os.path.expanduser("~/.cache/flywheel")),
                        "bench-sft-models")


def model_shape(name, vocab):
    cfg = dict(MODELS[name])
    cfg["vocab_size"] = cfg["vocab_size"] or vocab
    return cfg


def build_model(cache, work_dir, name, vocab, threads):
    """The model folder for `name` (built by a worker process once, then reused)."""
    cfg = model_shape(name, vocab)
    import transformers  # noqa: F401  (only for the version in the folder name)
    tag = f"{name}-v{cfg['vocab_size']}-seed{MODEL_SEED}-tf{transformers.__version__}"
    path = os.path.join(cache, tag)
    if not os.path.exists(os.path.join(path, ".complete")):
        log(f"building the {name} model with transformers (seeded random init) in {path}")
        spec = dict(path=path, config=cfg)
        spec_path = os.path.join(work_dir, f"build-{name}.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        subprocess.run([sys.executable, os.path.abspath(__file__), "build", spec_path],
                       env=python_env(threads), check=True)
    return path


def setup_torch(threads):
    import torch
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    import transformers
    transformers.logging.set_verbosity_error()
    try:
        transformers.utils.logging.disable_progress_bar()
    except AttributeError:
        pass
    return torch


def worker_build(spec):
    torch = setup_torch(int(os.environ.get("OMP_NUM_THREADS", "2")))
    from transformers import AutoModelForCausalLM, LlamaConfig
    cfg = LlamaConfig(**spec["config"], max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
                      initializer_range=0.02, bos_token_id=1, eos_token_id=2, pad_token_id=3)
    torch.manual_seed(MODEL_SEED)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    path = spec["path"]
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path)
    n = sum(p.numel() for p in model.parameters())
    with open(os.path.join(path, "bench.json"), "w") as f:
        json.dump(dict(parameters=n, config=spec["config"]), f)
    open(os.path.join(path, ".complete"), "w").close()
    print(f"{n / 1e6:.1f}M parameters", file=sys.stderr)


def word_level_tokenizer(sp, bos, eos, pad):
    """A transformers tokenizer with the sentencepiece model's vocabulary (its pieces as a
    word-level tokenizer; transformers cannot convert a sentencepiece model without
    protobuf, which the venv does not have). For trainers fed token ids, which need only
    the vocabulary size and the special tokens."""
    from tokenizers import Tokenizer as TkTokenizer, models as tk_models
    from transformers import PreTrainedTokenizerFast
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    tok = PreTrainedTokenizerFast(tokenizer_object=TkTokenizer(tk_models.WordLevel(vocab, unk_token="<unk>")),
                                  bos_token=sp.id_to_piece(bos), eos_token=sp.id_to_piece(eos),
                                  unk_token=sp.id_to_piece(sp.unk_id()), pad_token=sp.id_to_piece(pad))
    assert tok.pad_token_id == pad
    return tok


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "build":
        with open(sys.argv[2]) as f:
            worker_build(json.load(f))
    else:
        raise SystemExit(__doc__)
