"""Reference outputs for `flywheel template` (tests/parity/test_template_cli.cpp).

For each real chat template under tests/data/chat_templates, a tokenizer folder is made as
transformers saves one (save_pretrained of a PreTrainedTokenizerFast): a byte-level BPE
tokenizer.json trained here on the conversations' text, with the real model's special
tokens and the template's structural tokens as added special tokens, and the template.
Then, for every conversation of chat_templates.py, with the generation prompt off and on:
apply_chat_template(tokenize=False) and (tokenize=True) ids, and, for templates with
{% generation %} blocks, return_assistant_tokens_mask.

usage: template_cli_reference.py TEMPLATE_DIR OUT_DIR [NAME]   (NAME: that template only)
  OUT_DIR/<template>/            the tokenizer folder
  OUT_DIR/<template>/gen<0|1>.jsonl         input lines {"messages", "tools", "kwargs"}
  OUT_DIR/<template>/gen<0|1>.expected.jsonl {"text", "ids", "assistant_masks"?} or {"error"}
"""

import json
import os
import re
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402

import chat_templates  # noqa: E402

# Tokens the templates write around turns; each becomes one special id, as in the real models.
STRUCTURAL = ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>", "<|python_tag|>",
              "<|im_start|>", "<|im_end|>", "<|endoftext|>", "[INST]", "[/INST]", "[TOOL_CALLS]",
              "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[SYSTEM_PROMPT]",
              "[/SYSTEM_PROMPT]", "<start_of_turn>", "<end_of_turn>", "<|user|>", "<|assistant|>", "<|end|>",
              "<|system|>", "<|im_sep|>", "<｜User｜>", "<｜Assistant｜>", "<｜tool▁calls▁begin｜>",
              "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>",
              "<｜tool▁outputs▁begin｜>", "<｜tool▁outputs▁end｜>", "<｜tool▁output▁begin｜>",
              "<｜tool▁output▁end｜>"]


def corpus():
    for _, messages, tools in chat_templates.conversations():
        for m in messages:
            c = m.get("content")
            if isinstance(c, str):
                yield c
        if tools:
            yield json.dumps(tools)
    yield "You are a helpful assistant. Cutting Knowledge Date: December 2023 Today Date: 26 Jul 2024"


def make_folder(name, template, out_dir):
    special = chat_templates.SPECIAL.get(name, {"eos_token": "</s>"})
    added = list(dict.fromkeys(list(special.values()) + STRUCTURAL))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=added,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **special)
    fast.chat_template = template
    folder = os.path.join(out_dir, name)
    fast.save_pretrained(folder)
    return fast, folder


def ids_of(result):
    return list(result["input_ids"]) if hasattr(result, "keys") else list(result)


def main():
    template_dir, out_dir = sys.argv[1], sys.argv[2]
    only = sys.argv[3] if len(sys.argv) > 3 else None
    os.makedirs(out_dir, exist_ok=True)
    kwarg_variants = [{}, {"enable_thinking": False}, {"enable_thinking": True}, {"date_string": "03 Mar 2025"}]
    for file in sorted(os.listdir(template_dir)):
        if not file.endswith(".jinja"):
            continue
        name = file[: -len(".jinja")]
        if only and name != only:
            continue
        with open(os.path.join(template_dir, file), encoding="utf-8") as f:
            template = f.read()
        marked = re.search(r"\{%-?\s*generation\s*-?%\}", template) is not None
        tokenizer, folder = make_folder(name, template, out_dir)
        for gen in (False, True):
            with open(os.path.join(folder, f"gen{int(gen)}.jsonl"), "w", encoding="utf-8") as fin, \
                 open(os.path.join(folder, f"gen{int(gen)}.expected.jsonl"), "w", encoding="utf-8") as fexp:
                for i, (_, messages, tools) in enumerate(chat_templates.conversations()):
                    kwargs = kwarg_variants[(2 * i + gen) % len(kwarg_variants)]
                    fin.write(json.dumps({"messages": messages, "tools": tools, "kwargs": kwargs},
                                         ensure_ascii=False) + "\n")
                    try:
                        text = tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=gen,
                                                             tokenize=False, **kwargs)
                        result = tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=gen,
                                                               tokenize=True, return_dict=True,
                                                               return_assistant_tokens_mask=marked, **kwargs)
                        rec = {"text": text, "ids": ids_of(result)}
                        if marked:
                            rec["assistant_masks"] = list(result["assistant_masks"])
                    except Exception as e:  # the template refuses the conversation
                        rec = {"error": f"{type(e).__name__}: {e}"}
                    fexp.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
