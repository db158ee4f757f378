// fw::data::Tokenizer — the one tokenizer interface: a Hugging Face tokenizer.json (the
// `tokenizers` serialization, loaded natively by data/tokenizers/hf_tokenizer.h) or a
// sentencepiece model (Llama's tokenizer.model format), plus the special-token settings of
// a Hugging Face model folder; and training of small sentencepiece models. A folder with
// both files uses tokenizer.json, as transformers' fast tokenizers do.
//
// Token ids are std::vector<int32_t>; nothing here needs torch.
//
// Special ids (bos_id(), eos_id(), pad_id(), unk_id()) are -1 when the tokenizer has no
// such token, as sentencepiece reports them. pad_or_eos_id() is the id to pad with: pad if
// there is one, else eos (the usual choice for Llama checkpoints, which have no pad).
//
// Dummy prefix. Sentencepiece models in Llama's style add a "▁" (a space) before the text
// of each encode call, so encode("Hello") gives "▁Hello" — the same token as " Hello" in
// the middle of a sentence. encode() does this, as sentencepiece and Hugging Face do.
// encode_continuation() encodes text that continues earlier text (a later piece of one
// string that the caller encodes in parts): no "▁" is added, and leading/trailing
// whitespace is kept as it is. The chat templates use both (see chat_template.h).
//
// A Tokenizer is an immutable value: copies share the loaded model and every method is
// const (sentencepiece's encode/decode are const too), so one instance can serve several
// threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/enum_names.h"

namespace fw::data {

// Which file a tokenizer was loaded from.
enum class TokenizerFormat { SentencePiece, TokenizerJson };
constexpr std::array<EnumName<TokenizerFormat>, 2> enum_names(TokenizerFormat) {
  return {{{TokenizerFormat::SentencePiece, "tokenizer.model"}, {TokenizerFormat::TokenizerJson, "tokenizer.json"}}};
}

// Token ids with the byte range [begin, end) of the input each came from.
struct TokensWithOffsets {
  std::vector<int32_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
};

// Char: one piece per character (plus byte fallback), no merges: every word is spelled
// out, which letter-level tasks (first letter, counting letters) need in a tiny model.
enum class SpModelType { Bpe, Unigram, Char };
constexpr std::array<EnumName<SpModelType>, 3> enum_names(SpModelType) {
  return {{{SpModelType::Bpe, "bpe"}, {SpModelType::Unigram, "unigram"}, {SpModelType::Char, "char"}}};
}

// "bpe" | "unigram" | "char" (throws fw::Error naming `key` otherwise).
SpModelType sp_model_type_from_name(const std::string& name, const std::string& key = "model_type");
const char* sp_model_type_name(SpModelType type);

// Training a sentencepiece model (SentencePieceTrainer). The defaults follow Llama's
// tokenizer: BPE, byte fallback, digits split, identity normalisation (text is kept
// byte-exact, so decode(encode(s)) == s for any UTF-8 string), unk 0, bos 1, eos 2, and a
// pad token at 3 so padding never has to borrow eos.
struct TrainOptions {
  std::vector<std::string> input_files;  // text files, one sentence per line (read in order)
  std::vector<std::string> sentences;    // in-memory sentences, used after the files
  std::string model_path;    // write the model here (e.g. "out/tokenizer.model"); "" = don't
  int vocab_size = 512;      // total pieces, specials and the 256 byte pieces included
  SpModelType model_type = SpModelType::Bpe;
  double character_coverage = 1.0;  // share of characters that get their own piece
  std::vector<std::string> user_defined_symbols;  // always one id each, e.g. "<|im_start|>"
  bool byte_fallback = true;  // unknown characters become <0xNN> byte pieces, never <unk>
  bool split_digits = true;   // every digit is its own piece (as in Llama)
  std::string normalization_rule_name = "identity";  // or nmt_nfkc, nfkc, ... (sentencepiece)
  int unk_id = 0;  // must be >= 0
  int bos_id = 1;  // -1 = no bos token
  int eos_id = 2;  // -1 = no eos token
  int pad_id = 3;  // -1 = no pad token
  std::string unk_piece = "<unk>";
  std::string bos_piece = "<s>";
  std::string eos_piece = "</s>";
  std::string pad_piece = "<pad>";
  int max_sentence_length = 16384;  // bytes; longer sentences are skipped by the trainer
  // 0 = train on every sentence (deterministic). > 0 = sample that many sentences, with
  // sentencepiece's random generator seeded by `seed`.
  int64_t input_sentence_size = 0;
  uint32_t seed = 42;
  int num_threads = 1;   // 1 keeps training deterministic: same input -> same model bytes
  bool verbose = false;  // let sentencepiece log its progress (quiet by default)
  // Further sentencepiece trainer flags, name -> value (e.g. {"max_sentencepiece_length",
  // "8"}); they override the fields above.
  std::vector<std::pair<std::string, std::string>> extra_flags;
};

class Tokenizer {
 public:
  // `path_or_dir` is a tokenizer.json or sentencepiece model file, or a model folder
  // holding `tokenizer.json` (preferred) or `tokenizer.model`. In a folder, Hugging Face's
  // `tokenizer_config.json` (bos_token,
  // eos_token, pad_token, unk_token, added_tokens_decoder), `special_tokens_map.json` and
  // `added_tokens.json` are read when present (tokenizer_config.json wins over
  // special_tokens_map.json). Token strings may be plain or {"content": "<s>", ...}.
  // Added tokens whose id is not already that piece in the model (e.g. a `<pad>` at 32000)
  // are matched in text before sentencepiece runs and extend vocab_size().
  // A missing or corrupt model file, or a special token that is not in the vocabulary,
  // throws fw::Error naming the file.
  static Tokenizer load(const std::string& path_or_dir);

  // From the bytes of a serialized model; `source` names it in error messages.
  static Tokenizer from_serialized(std::string model_proto, const std::string& source = "<memory>");

  // Trains a model. Returns the serialized model, and writes it to opts.model_path when
  // that is set. Bad options and trainer failures throw fw::Error.
  static std::string train(const TrainOptions& opts);

  // Encodes `text` (with the dummy prefix; see the top of this file). User-defined symbols
  // and added tokens in the text become their single ids. add_bos/add_eos throw fw::Error
  // when the tokenizer has no such token.
  std::vector<int32_t> encode(std::string_view text, bool add_bos = false,
                              bool add_eos = false) const;
  // Encodes text that continues earlier text: no dummy prefix, whitespace kept. A
  // tokenizer.json has no dummy prefix of its own: the same as encode(text).
  std::vector<int32_t> encode_continuation(std::string_view text) const;
  // Encodes `text` as one string (as transformers' apply_chat_template(tokenize=True) does:
  // no bos/eos added, special tokens in the text matched) with each token's byte range.
  // add_special_tokens: what the tokenizer adds around a text by itself (tokenizer.json's
  // post-processor; bos for a sentencepiece model that has one), at offsets (0, 0).
  TokensWithOffsets encode_with_offsets(std::string_view text, bool add_special_tokens = false) const;

  // Text of the ids. Control tokens (bos, eos, pad, special added tokens) are skipped
  // (skip_special_tokens);
  // user-defined symbols keep their text; a leading dummy-prefix space is dropped.
  // An id outside [0, vocab_size()) throws fw::Error.
  // skip_special_tokens false: control tokens are written as their text ("<|im_end|>").
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = true) const;

  std::string id_to_piece(int32_t id) const;    // throws fw::Error for an unknown id
  int32_t piece_to_id(std::string_view piece) const;  // -1 if `piece` is not in the vocab
  int32_t vocab_size() const;                   // ids are 0 .. vocab_size() - 1

  int32_t unk_id() const;
  int32_t bos_id() const;   // -1 if none
  int32_t eos_id() const;   // -1 if none
  int32_t pad_id() const;   // -1 if none
  int32_t pad_or_eos_id() const;  // pad if present, else eos (-1 only if neither exists)
  bool is_control(int32_t id) const;  // decodes to no text (bos, eos, pad, special added)
  bool adds_dummy_prefix() const;     // the model's add_dummy_prefix normaliser setting

  // The special tokens' strings (bos, eos, pad, the added tokens marked special), longest
  // first: what can end an assistant turn in a rendered chat.
  const std::vector<std::string>& special_token_strings() const;

  TokenizerFormat format() const;
  // The model's bytes (what `tokenizer.model` or `tokenizer.json` holds), and a crash-safe
  // write of them; file_name() is the name they go under in a model folder.
  const std::string& serialized_model() const;
  void save(const std::string& path) const;
  const char* file_name() const;
  const std::string& source() const;  // the file it was loaded from, or "<memory>"

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace fw::data
