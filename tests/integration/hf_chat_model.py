"""A tiny random chat model folder as users bring them from the Hub, for
tests/integration/test_hf_chat_model.cpp: a Qwen3 model (q/k norms, explicit head_dim)
saved by transformers, a byte-level BPE tokenizer.json trained here on the given JSONL
text (with <|im_start|>, <|im_end|> and <|endoftext|> as special tokens), no
tokenizer.model, and a real chat template (the file given, e.g. Qwen2.5-Instruct's),
all written by save_pretrained; generation_config.json lists both end ids.

usage: hf_chat_model.py TEXT.jsonl TEMPLATE.jinja OUT_DIR
"""

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM  # noqa: E402


def texts(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            for m in record.get("messages", []):
                yield m["content"]
            for key in ("prompt", "chosen", "rejected"):
                if isinstance(record.get(key), str):
                    yield record[key]
    yield "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def main():
    data, template_file, out = sys.argv[1:4]
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts(data), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    with open(template_file, encoding="utf-8") as f:
        fast.chat_template = f.read()
    fast.save_pretrained(out)
    eos, pad = fast.convert_tokens_to_ids("<|im_end|>"), fast.convert_tokens_to_ids("<|endoftext|>")
    torch.manual_seed(0)
    config = Qwen3Config(vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=32, max_position_embeddings=512,
                         tie_word_embeddings=True, bos_token_id=None, eos_token_id=eos, pad_token_id=pad)
    model = Qwen3ForCausalLM(config)
    model.save_pretrained(out)
    GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad).save_pretrained(out)
    assert not os.path.exists(os.path.join(out, "tokenizer.model"))


if __name__ == "__main__":
    main()
