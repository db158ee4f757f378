"""Real tokenizer vocabularies shipped inside PyPI packages, converted to tokenizer.json at
test time with transformers' own converters (nothing is downloaded at run time).

| name | package (pinned in scripts/bootstrap.sh) | file | converted by |
|---|---|---|---|
| gpt2 | openai-whisper | whisper/assets/gpt2.tiktoken (GPT-2's 50256 BPE ranks) | TikTokenConverter's vocab/merges extraction, then GPT2Tokenizer (GPT-2's pipeline) |
| whisper_multilingual | openai-whisper | whisper/assets/multilingual.tiktoken | TikTokenConverter (Llama-3 split regex, ignore_merges, specials) |
| mistral_v1 | mistral-common | mistral_common/data/tokenizer.model.v1 (Mistral-7B sentencepiece BPE, byte fallback) | LlamaTokenizer.from_pretrained (SentencePieceExtractor + LlamaConverter), BOS on |
| mistral_v3 | mistral-common | mistral_common/data/mistral_instruct_tokenizer_240323.model.v3 (32768 pieces, control tokens) | same, BOS and EOS on |
| clip | clip-anytorch | clip/bpe_simple_vocab_16e6.txt.gz (CLIP's merges) | vocab built as CLIP's simple_tokenizer does, then CLIPTokenizer (CLIPConverter's pipeline) |

A missing package is an error naming it and the bootstrap script, not a skip: these are test
peers installed by scripts/bootstrap.sh like `tokenizers` itself, so a venv without them is a
broken set-up, and a silent skip would hide that the real vocabularies went unchecked.

build_all(work_dir) returns [(name, transformers tokenizer object, lossless)], each with its
backend `tokenizers.Tokenizer` (`tok.backend_tokenizer`).
"""
import gzip
import importlib.util
import os
import shutil
import sys

PACKAGES = {"whisper": "openai-whisper", "mistral_common": "mistral-common", "clip": "clip-anytorch",
            "tiktoken": "tiktoken", "google.protobuf": "protobuf"}


class MissingPeer(RuntimeError):
    pass


def package_dir(module):
    try:
        spec = importlib.util.find_spec(module)  # finds the folder without importing the package
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        raise MissingPeer(f"the real-vocabulary parity needs the PyPI package '{PACKAGES[module]}' (module "
                          f"'{module}') in this Python ({sys.executable}); run scripts/bootstrap.sh, "
                          f"which installs the pinned test peers")
    return list(spec.submodule_search_locations)[0] if spec.submodule_search_locations else os.path.dirname(spec.origin)


def asset(module, *parts):
    path = os.path.join(package_dir(module), *parts)
    if not os.path.isfile(path):
        raise MissingPeer(f"{PACKAGES[module]} is installed but has no {os.path.join(*parts)} (expected {path})")
    return path


def gpt2(work):
    from transformers import GPT2Tokenizer
    from transformers.convert_slow_tokenizer import TikTokenConverter
    package_dir("tiktoken")
    ranks = asset("whisper", "assets", "gpt2.tiktoken")
    vocab, merges = TikTokenConverter(ranks).extract_vocab_merges_from_model(ranks)
    return GPT2Tokenizer(vocab=vocab, merges=merges), True  # <|endoftext|> = 50256, as GPT-2's


def whisper_multilingual(work):
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter
    package_dir("tiktoken")
    ranks = asset("whisper", "assets", "multilingual.tiktoken")
    specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]
    backend = TikTokenConverter(ranks, extra_special_tokens=specials).converted()
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>"), True


def _sentencepiece(work, name, file, **kw):
    from transformers import LlamaTokenizer
    package_dir("google.protobuf")
    folder = os.path.join(work, name + ".spm")
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(asset("mistral_common", "data", file), os.path.join(folder, "tokenizer.model"))
    return LlamaTokenizer.from_pretrained(folder, **kw)


def mistral_v1(work):
    return _sentencepiece(work, "mistral_v1", "tokenizer.model.v1", add_bos_token=True, add_eos_token=False), False


def mistral_v3(work):
    return _sentencepiece(work, "mistral_v3", "mistral_instruct_tokenizer_240323.model.v3",
                          add_bos_token=True, add_eos_token=True), False


def clip(work):
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode
    with gzip.open(asset("clip", "bpe_simple_vocab_16e6.txt.gz")) as f:
        lines = f.read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]  # clip/simple_tokenizer.py
    vocab = list(bytes_to_unicode().values())
    vocab += [v + "</w>" for v in vocab] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={t: i for i, t in enumerate(vocab)}, merges=merges), False


BUILDERS = [gpt2, whisper_multilingual, mistral_v1, mistral_v3, clip]


def build_all(work):
    return [(b.__name__, *b(work)) for b in BUILDERS]
