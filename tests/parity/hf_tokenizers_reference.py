"""Reference tokenizer.json files and encodings for the native tokenizer.json parity test.

Usage: hf_tokenizers_reference.py OUT_DIR

Trains small tokenizers with the installed `tokenizers` library at test time, one per style
(GPT-2 / Llama-3 / Qwen2 byte-level BPE with their real Split regexes, Llama-2 / Mistral /
Gemma sentencepiece-style BPE with byte_fallback, Unigram, WordPiece, WordLevel) and one per
remaining component, so every normalizer, pre-tokenizer, post-processor and decoder the
native loader supports appears in at least one file. Each is saved as OUT_DIR/<name>.json;
OUT_DIR/reference.json holds, per tokenizer and corpus string, what `tokenizers` gives:
ids, tokens, offsets (characters), decode with and without skip_special_tokens, and the
pieces a DecodeStream emits.

Then the real vocabularies that PyPI packages ship (hf_real_vocabularies.py: GPT-2, Whisper's
multilingual ranks, Mistral's sentencepiece models, CLIP), converted with transformers' own
converters and saved with save_pretrained as OUT_DIR/real_<name>/tokenizer.json, over the same
corpus plus documents of the benchmark's mixed corpus (bench/tokenizer_corpus.py). For these
each case also holds what transformers gives: the converting tokenizer object, AutoTokenizer
on the saved folder and PreTrainedTokenizerFast(tokenizer_file=...), with add_special_tokens
on and off. OUT_DIR/real_status.json names them, or holds the error (a missing package).
"""
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import hf_real_vocabularies  # noqa: E402
from tokenizer_corpus import mixed_corpus  # noqa: E402

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers as pre
from tokenizers import processors, trainers

GPT2_RE = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
            r"|\s*[\r\n]+|\s+(?!\S)|\s+")

CORPUS = [
    "", " ", "Hello world", "Hello, world! How's it going? I'm fine, we'll see; they'd've done it.",
    "HELLO World hElLo don't DON'T Don'T", "Über Straße, café, naïve façade — déjà vu",
    "Привет, как дела? Всё хорошо.", "مرحبا بالعالم", "नमस्ते दुनिया", "Γειά σου Κόσμε ΣΊΣΥΦΟΣ ς",
    "İstanbul'da ılık bir gün", "東京は日本の首都です。", "我爱自然语言处理！今天天气很好。",
    "한국어 텍스트입니다", "I ❤️ 🍕 and 👨‍👩‍👧‍👦 families 🏳️‍🌈 👍🏽",
    "def f(x):\n    return x**2  # square\n", "for (int i = 0; i < n; ++i) { a[i] += b[i]; }",
    "<div class=\"x\">&amp;</div>", "3.14159 1234567890 1,000,000 0x1F 2024-01-01 ½ ² Ⅻ ① ٣٤٥",
    "a  b   c    d", "   leading and trailing   ", "\t\ttabs\tand\u3000ideographic\u00a0nbsp",
    "line1\nline2\r\nline3\r\n\r\nend", "\n\n\n", "\ufffd\ufffd replacement", "\\xff\\xfe not bytes",
    "Ã©tÃ© mojibake", "\u200b zero width \u200d joiner", "e\u0301 combining a\u0308", "ﬁ ligature ﬀ ﬃ",
    "\x00\x01 control \x7f del", "\u0085 next line", "<|endoftext|>", "hello<|im_start|>user\nhi<|im_end|>",
    "<s> </s> <unk> [CLS] [SEP] [MASK] <mask>", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>",
    "<|im_sta partial <<|im_end|>>", "x <mask> y<mask>z hello world helloworld [TOOL]   after",
    "a" * 300, "ab" * 150, "The quick brown fox jumps over the lazy dog. " * 3,
    "snake_case camelCase kebab-case CONSTANT_CASE", "email@example.com https://example.org/path?q=1&r=2",
    "   ", "\r\n", "multiple\n\n\nnewlines\n\n", "ends with space ", " starts with space",
]

TRAIN = CORPUS + [
    "The quick brown fox jumps over the lazy dog.",
    "Tokenizers split text into tokens; the model sees ids.",
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife.",
] * 20


def bytes_alphabet_tokens():
    return [f"<0x{b:02X}>" for b in range(256)]


def train_bpe(tok, vocab_size=600, specials=(), **kw):
    t = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), show_progress=False, **kw)
    tok.train_from_iterator(TRAIN, trainer=t)
    return tok


def add_byte_fallback_tokens(tok):
    """Put <0x00>..<0xFF> into the model vocabulary (not as added tokens), as Llama-2 has them."""
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    next_id = max(list(vocab.values()) + [a["id"] for a in data["added_tokens"]]) + 1
    for t in bytes_alphabet_tokens():
        if t not in vocab:
            vocab[t] = next_id
            next_id += 1
    return Tokenizer.from_str(json.dumps(data))


def gpt2():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    train_bpe(tok, specials=["<|endoftext|>"], initial_alphabet=pre.ByteLevel.alphabet())
    return tok, True


def gpt2_split():  # the GPT-2 regex given as a Split, and merges saved as "a b" strings
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre.Sequence([pre.Split(Regex(GPT2_RE), "isolated"),
                                      pre.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    train_bpe(tok, specials=["<|endoftext|>"], initial_alphabet=pre.ByteLevel.alphabet())
    data = json.loads(tok.to_str())
    data["model"]["merges"] = [" ".join(m) for m in data["model"]["merges"]]
    return Tokenizer.from_str(json.dumps(data)), True


def llama3():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre.Sequence([pre.Split(Regex(LLAMA3_RE), "isolated"),
                                      pre.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    train_bpe(tok, vocab_size=800, specials=specials, initial_alphabet=pre.ByteLevel.alphabet())
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    return tok, True


def qwen2():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre.Sequence([pre.Split(Regex(QWEN2_RE), "isolated"),
                                      pre.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    train_bpe(tok, vocab_size=700, specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
              initial_alphabet=pre.ByteLevel.alphabet())
    return tok, False


def roberta():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    train_bpe(tok, specials=["<s>", "<pad>", "</s>", "<unk>"], initial_alphabet=pre.ByteLevel.alphabet())
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=True)
    return tok, False


def llama2():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    train_bpe(tok, vocab_size=500, specials=["<unk>", "<s>", "</s>"], limit_alphabet=150)
    tok = add_byte_fallback_tokens(tok)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok, False


def mistral():  # Metaspace pre-tokenizer with prepend_scheme "first", Metaspace decoder
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="first")])
    train_bpe(tok, vocab_size=500, specials=["<unk>", "<s>", "</s>"], limit_alphabet=120)
    tok = add_byte_fallback_tokens(tok)
    tok.add_special_tokens(["[INST]", "[/INST]"])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[
        ("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    return tok, False


def gemma():  # normalizer Replace(" ", "▁"), no pre-tokenizer, byte fallback, no unk fusing
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=False))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    train_bpe(tok, vocab_size=500, specials=["<pad>", "<eos>", "<bos>", "<unk>"], limit_alphabet=100)
    tok = add_byte_fallback_tokens(tok)
    tok.add_special_tokens(["<start_of_turn>", "<end_of_turn>"])
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", tok.token_to_id("<bos>"))])
    return tok, True


def metaspace_split():  # Metaspace splitting on ▁ with prepend "always"; unk without byte fallback
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Strip(left=True, right=False)])
    tok.pre_tokenizer = pre.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    train_bpe(tok, vocab_size=400, specials=["<unk>"], limit_alphabet=60)
    return tok, False


def unigram():
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    t = trainers.UnigramTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>",
                                show_progress=False)
    tok.train_from_iterator(TRAIN, trainer=t)
    return tok, False


def unigram_bytes():
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    t = trainers.UnigramTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"] + bytes_alphabet_tokens(),
                                unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(TRAIN, trainer=t)
    data = json.loads(tok.to_str())
    data["model"]["byte_fallback"] = True
    # the byte pieces belong to the model, not to the added tokens (as in converted Llama files)
    data["added_tokens"] = [a for a in data["added_tokens"] if not a["content"].startswith("<0x")]
    return Tokenizer.from_str(json.dumps(data)), False


def bert():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=True)
    tok.pre_tokenizer = pre.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    t = trainers.WordPieceTrainer(vocab_size=600, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                  show_progress=False)
    tok.train_from_iterator(TRAIN, trainer=t)
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    return tok, False


def bert_cased():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=20))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, handle_chinese_chars=False)
    tok.pre_tokenizer = pre.Sequence([pre.WhitespaceSplit(), pre.Punctuation("isolated"), pre.Digits(individual_digits=True)])
    tok.decoder = decoders.WordPiece(cleanup=False)
    t = trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"], show_progress=False)
    tok.train_from_iterator(TRAIN, trainer=t)
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $0 [SEP]", special_tokens=[
        ("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return tok, False


def normalizer_mix():  # NFKD + StripAccents + Lowercase + regex Replace; Whitespace; BPE suffix/prefix
    tok = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase(),
                                           normalizers.Replace(Regex(r"\d+"), "0"), normalizers.Strip()])
    tok.pre_tokenizer = pre.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    train_bpe(tok, vocab_size=500, specials=["<unk>"], continuing_subword_prefix="##", end_of_word_suffix="</w>",
              limit_alphabet=80)
    return tok, False


def nfd_wordlevel():
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre.Sequence([pre.WhitespaceSplit(), pre.Digits(individual_digits=False),
                                      pre.Punctuation("contiguous")])
    t = trainers.WordLevelTrainer(vocab_size=300, special_tokens=["<unk>"], show_progress=False)
    tok.train_from_iterator(TRAIN, trainer=t)
    return tok, False


def split_behaviours():  # every SplitDelimiterBehavior, String and Regex patterns, invert
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s{2,}"), " ")])
    tok.pre_tokenizer = pre.Sequence([
        pre.Split(" ", "merged_with_next"),
        pre.Split(Regex(r"[,.;:!?]"), "merged_with_previous"),
        pre.Split(Regex(r"\p{N}+"), "contiguous"),
        pre.Split("-", "removed"),
        pre.Split(Regex(r"[a-z]+"), "isolated", invert=True),
        pre.CharDelimiterSplit("_"),
        pre.Punctuation("merged_with_next"),
    ])
    tok.decoder = decoders.Sequence([decoders.Strip(" ", 0, 1), decoders.Fuse()])
    train_bpe(tok, vocab_size=400, specials=["<unk>"], limit_alphabet=80)
    return tok, False


def added_tokens():  # added tokens with every flag, on a byte-level BPE with a Lowercase normalizer
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    train_bpe(tok, specials=["<|endoftext|>"], initial_alphabet=pre.ByteLevel.alphabet())
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, normalized=False, special=True),
                            AddedToken("<|im_start|>", special=True, normalized=False),
                            AddedToken("<|im_end|>", special=True, normalized=False, rstrip=True)])
    tok.add_tokens([AddedToken("hello world", single_word=True, normalized=True),
                    AddedToken("[TOOL]", rstrip=True, normalized=False),
                    AddedToken("HELLO", normalized=True), AddedToken("<s>", normalized=False, lstrip=True)])
    return tok, False


BUILDERS = [gpt2, gpt2_split, llama3, qwen2, roberta, llama2, mistral, gemma, metaspace_split, unigram, unigram_bytes,
            bert, bert_cased, normalizer_mix, nfd_wordlevel, split_behaviours, added_tokens]


def stream_pieces(tok, ids, skip):
    from tokenizers.decoders import DecodeStream
    ds = DecodeStream(skip_special_tokens=skip)
    out = []
    for i in ids:
        p = ds.step(tok, i)
        out.append(p if p is not None else "")
    return out


def encode_cases(tok, texts):
    cases = []
    for text in texts:
        enc = tok.encode(text, add_special_tokens=True)
        plain = tok.encode(text, add_special_tokens=False)
        case = {"text": text, "ids": enc.ids, "tokens": enc.tokens, "offsets": [list(o) for o in enc.offsets],
                "ids_plain": plain.ids,
                "decode": tok.decode(enc.ids, skip_special_tokens=False),
                "decode_skip": tok.decode(enc.ids, skip_special_tokens=True)}
        try:
            case["stream"] = stream_pieces(tok, enc.ids, False)
        except Exception:  # tokenizers refuses some streams (a prefix that changes)
            case["stream"] = None
        cases.append(case)
    return cases


def check_lossless(name, tok, cases):
    bad = [c["text"] for c in cases if tok.decode(c["ids_plain"], skip_special_tokens=False) != c["text"]]
    assert not bad, (name, bad[:3])


REAL_TEXTS = CORPUS + mixed_corpus(48 * 1024, seed=7)


def real_vocabularies(out_dir):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast
    ref = []
    for name, hf_tok, lossless in hf_real_vocabularies.build_all(out_dir):
        folder = os.path.join(out_dir, "real_" + name)
        hf_tok.save_pretrained(folder)
        path = os.path.join(folder, "tokenizer.json")
        tok = Tokenizer.from_file(path)
        cases = encode_cases(tok, REAL_TEXTS)
        if lossless:
            check_lossless(name, tok, cases)
        auto = AutoTokenizer.from_pretrained(folder)
        from_file = PreTrainedTokenizerFast(tokenizer_file=path)
        for c in cases:
            c["transformers"] = {
                f"{side}{suffix}": t(c["text"], add_special_tokens=special)["input_ids"]
                for side, t in (("converter", hf_tok), ("auto", auto), ("tokenizer_file", from_file))
                for suffix, special in (("", True), ("_plain", False))}
        ref.append({"name": "real_" + name, "file": path, "lossless": lossless, "real": True, "cases": cases})
    return ref


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    try:
        os.remove(os.path.join(out_dir, "reference.json"))  # not complete until written again
    except FileNotFoundError:
        pass
    ref = []
    for build in BUILDERS:
        tok, lossless = build()
        path = os.path.join(out_dir, build.__name__ + ".json")
        tok.save(path)
        tok = Tokenizer.from_file(path)
        cases = encode_cases(tok, CORPUS)
        if lossless:
            check_lossless(build.__name__, tok, cases)
        ref.append({"name": build.__name__, "file": path, "lossless": lossless, "cases": cases})
    status = {"names": [], "strings": len(REAL_TEXTS), "error": None}
    try:
        real = real_vocabularies(out_dir)
        ref += real
        status["names"] = [t["name"] for t in real]
    except Exception as e:  # reported by the C++ test that checks the real vocabularies
        status["error"] = f"{type(e).__name__}: {e}" if isinstance(e, hf_real_vocabularies.MissingPeer) \
            else traceback.format_exc()
        print(status["error"], file=sys.stderr)
    with open(os.path.join(out_dir, "real_status.json"), "w", encoding="utf-8") as f:
        json.dump(status, f, ensure_ascii=False)
    # reference.json last and by rename: a folder holding it is complete.
    with open(os.path.join(out_dir, "reference.json.tmp"), "w", encoding="utf-8") as f:
        json.dump(ref, f, ensure_ascii=False)
    os.replace(os.path.join(out_dir, "reference.json.tmp"), os.path.join(out_dir, "reference.json"))
    print(f"{len(BUILDERS)} trained tokenizers x {len(CORPUS)} strings, {len(status['names'])} real vocabularies x "
          f"{len(REAL_TEXTS)} strings -> {out_dir}")


if __name__ == "__main__":
    main()
