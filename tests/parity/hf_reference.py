#!/usr/bin/env python3
"""Reference outputs from Hugging Face transformers for flywheel's parity tests.

  hf_reference.py make OUT_DIR
      Builds tiny random models with transformers (Llama with GQA, Mistral, Qwen2 with
      q/k/v bias, Qwen3 with q/k norms and its own head_dim, tied embeddings, Llama-3 and linear rope scaling, MQA, a sharded bf16
      checkpoint), saves each to OUT_DIR/<name>/ with save_pretrained, and records in
      OUT_DIR/<name>/reference.safetensors:
        input_ids [2,T]            a fixed batch
        logits [2,T,V]             model(input_ids).logits
        padded_ids, padded_mask    a left-padded batch of two prompts of different length
        padded_logits              logits for it (compare only where the mask is 1)
        gen_tokens [2,32]          model.generate(padded_ids, do_sample=False,
                                   max_new_tokens=32): greedy continuations
  hf_reference.py logits MODEL_DIR IDS.safetensors OUT.safetensors
      Loads MODEL_DIR with transformers (AutoModelForCausalLM, or
      AutoModelForSequenceClassification when the config says so) and writes its logits
      for the "input_ids" tensor of IDS.safetensors.

Runs offline (HF_HUB_OFFLINE=1): nothing is downloaded.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
import transformers  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification,
    LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config)

transformers.logging.set_verbosity_error()
try:
    transformers.utils.logging.disable_progress_bar()
except AttributeError:
    pass

VOCAB = 97
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
              max_position_embeddings=256, initializer_range=0.1, rms_norm_eps=1e-5,
              bos_token_id=1, eos_token_id=2, pad_token_id=0)


def configs():
    return {
        "llama_gqa": LlamaConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2),
        "llama_mqa_bias": LlamaConfig(**COMMON, num_attention_heads=4, num_key_value_heads=1,
                                      attention_bias=True, mlp_bias=True),
        "mistral": MistralConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2,
                                 sliding_window=None),
        "mistral_window": MistralConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2,
                                        sliding_window=8),
        "qwen2_bias": Qwen2Config(**COMMON, num_attention_heads=4, num_key_value_heads=2),
        # Qwen3: q/k RMSNorm per head, head_dim 32 (not hidden / heads = 16), no qkv bias.
        "qwen3_headdim": Qwen3Config(**COMMON, num_attention_heads=4, num_key_value_heads=2, head_dim=32),
        "llama_tied": LlamaConfig(**COMMON, num_attention_heads=4, num_key_value_heads=4,
                                  tie_word_embeddings=True),
        "llama3_rope": LlamaConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2,
                                   rope_theta=500000.0,
                                   rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                                 "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                 "original_max_position_embeddings": 32}),
        "linear_rope_headdim": LlamaConfig(**COMMON, num_attention_heads=4, num_key_value_heads=2,
                                           head_dim=32, rope_scaling={"rope_type": "linear", "factor": 2.0}),
    }


def fixed_inputs(gen):
    input_ids = torch.randint(3, VOCAB, (2, 24), generator=gen)
    # Two prompts of lengths 11 and 5, left-padded with pad id 0.
    padded_ids = torch.zeros(2, 11, dtype=torch.long)
    padded_mask = torch.zeros(2, 11, dtype=torch.long)
    a = torch.randint(3, VOCAB, (11,), generator=gen)
    b = torch.randint(3, VOCAB, (5,), generator=gen)
    padded_ids[0] = a
    padded_mask[0] = 1
    padded_ids[1, 6:] = b
    padded_mask[1, 6:] = 1
    return input_ids, padded_ids, padded_mask


def make(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for i, (name, cfg) in enumerate(configs().items()):
        torch.manual_seed(1000 + i)
        gen = torch.Generator().manual_seed(2000 + i)
        model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32).eval()
        with torch.no_grad():  # norm weights other than transformers' ones, so a swapped or
            for pname, p in model.named_parameters():  # misloaded norm shows in the logits
                if pname.endswith("norm.weight"):
                    p.uniform_(0.5, 1.5, generator=gen)
        path = os.path.join(out_dir, name)
        model.save_pretrained(path)
        input_ids, padded_ids, padded_mask = fixed_inputs(gen)
        with torch.no_grad():
            logits = model(input_ids).logits
            padded_logits = model(padded_ids, attention_mask=padded_mask).logits
            gen_tokens = model.generate(padded_ids, attention_mask=padded_mask, do_sample=False,
                                        max_new_tokens=32, min_new_tokens=32, eos_token_id=None,
                                        pad_token_id=0)[:, padded_ids.shape[1]:]
        save_file({"input_ids": input_ids, "logits": logits.contiguous(),
                   "padded_ids": padded_ids, "padded_mask": padded_mask,
                   "padded_logits": padded_logits.contiguous(),
                   "gen_tokens": gen_tokens.contiguous()},
                  os.path.join(path, "reference.safetensors"))

    # A sharded bf16 checkpoint, as large models are stored.
    torch.manual_seed(7)
    cfg = configs()["llama_gqa"]
    model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16).eval()
    path = os.path.join(out_dir, "llama_sharded_bf16")
    model.save_pretrained(path, max_shard_size="100KB")
    input_ids, _, _ = fixed_inputs(torch.Generator().manual_seed(99))
    with torch.no_grad():
        logits = model.float()(input_ids).logits
    save_file({"input_ids": input_ids, "logits": logits.contiguous()},
              os.path.join(path, "reference.safetensors"))
    with open(os.path.join(out_dir, "versions.json"), "w") as f:
        json.dump({"torch": torch.__version__, "transformers": transformers.__version__}, f)


def logits(model_dir, ids_file, out_file):
    cfg = AutoConfig.from_pretrained(model_dir)
    archs = getattr(cfg, "architectures", None) or []
    cls = AutoModelForSequenceClassification if any("SequenceClassification" in a for a in archs) \
        else AutoModelForCausalLM
    model = cls.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    ids = load_file(ids_file)["input_ids"]
    with torch.no_grad():
        out = model(ids).logits
    save_file({"logits": out.contiguous()}, out_file)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "logits":
        logits(*sys.argv[2:])
    else:
        sys.exit(__doc__)
