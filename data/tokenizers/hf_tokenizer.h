// fw::data::HfTokenizer — a Hugging Face `tokenizer.json` (the `tokenizers` library's
// serialization) loaded natively: the added tokens, normalizer, pre-tokenizer, model (BPE,
// Unigram, WordPiece, WordLevel), post-processor and decoder it names, with the results of
// the `tokenizers` library (ids, tokens, offsets, decoded text).
//
// Offsets are byte ranges [begin, end) of the input string (the Python library reports
// characters; a token that covers part of a character gets the whole character, as there).
// Tokens added by the post-processor (bos, [CLS], ...) have offsets (0, 0).
//
// Input that is not valid UTF-8 is read with each bad byte as U+FFFD (aligned to its byte).
//
// An HfTokenizer is an immutable value: copies share the loaded pipeline and every method is
// const, so one instance serves several threads. Nothing here needs torch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fw::data {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // bytes of the input, [begin, end)
  std::vector<uint8_t> special_tokens_mask;  // 1 for tokens the post-processor added
  std::vector<uint32_t> type_ids;
};

class HfTokenizer {
 public:
  // `path` is a tokenizer.json file or a folder holding one. A missing, truncated or
  // malformed file, or an unsupported component, throws fw::Error naming the file and the
  // JSON path of the component (e.g. `pre_tokenizer.pretokenizers[1].type`).
  static HfTokenizer load(const std::string& path);
  // From the text of a tokenizer.json; `source` names it in error messages.
  static HfTokenizer from_json(std::string_view json_text, const std::string& source = "<memory>");

  // Encodes one text: added tokens are matched first, the rest goes through the pipeline.
  // add_special_tokens: let the post-processor add its tokens (bos, [CLS] ... [SEP]).
  Encoding encode(std::string_view text, bool add_special_tokens = true) const;
  std::vector<int32_t> encode_ids(std::string_view text, bool add_special_tokens = true) const;
  // Many texts over `num_threads` threads (0 = hardware concurrency); results in order.
  std::vector<Encoding> encode_batch(std::span<const std::string> texts, bool add_special_tokens = true,
                                     int num_threads = 0) const;

  // Text of the ids. skip_special_tokens drops added tokens marked special. An id outside
  // [0, vocab_size()) throws fw::Error; ids with no token (holes) are skipped, as there.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  std::optional<std::string> id_to_token(int32_t id) const;  // added tokens included
  int32_t token_to_id(std::string_view token) const;          // -1 if none
  int32_t vocab_size() const;   // 1 + the largest id (model and added tokens)
  bool is_special(int32_t id) const;  // an added token marked special
  const std::string& source() const;

 private:
  struct Impl;
  explicit HfTokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
  friend class HfDecodeStream;
};

// Incremental decoding for streaming (tokenizers' DecodeStream): feed ids one at a time;
// each step returns the text that is now final — never half a UTF-8 character, and never
// text a later token could still change at the end (a trailing U+FFFD waits).
class HfDecodeStream {
 public:
  explicit HfDecodeStream(const HfTokenizer& tok, bool skip_special_tokens = false);
  std::string step(int32_t id);  // "" when nothing new is final yet

 private:
  HfTokenizer tok_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  std::string prefix_;
  size_t prefix_index_ = 0;
};

}  // namespace fw::data
