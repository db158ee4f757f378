// The components of a tokenizer.json pipeline (internal to data/tokenizers):
//   added tokens -> normalizer -> pre-tokenizer -> model -> post-processor;  decoder.
// Each kind has one interface and one factory that reads its JSON and throws fw::Error
// naming the file and the JSON path of a bad component.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/tokenizers/hf_tokenizer.h"
#include "data/tokenizers/hf_normalized.h"
#include "data/tokenizers/hf_regex.h"

namespace fw::data::hf {

using nlohmann::json;

// Where a component comes from, for error messages: the file and the JSON path.
struct Where {
  const std::string* file;
  std::string path;
  Where at(std::string_view key) const { return {file, path.empty() ? std::string(key) : path + "." + std::string(key)}; }
  Where at(size_t index) const { return {file, path + "[" + std::to_string(index) + "]"}; }
  [[noreturn]] void fail(const std::string& message) const;
};

// JSON accessors that name the path on a type error. A missing or null optional key
// gives the default.
const json& required(const json& obj, std::string_view key, const Where& w);
bool get_bool(const json& obj, std::string_view key, bool def, const Where& w);
int64_t get_int(const json& obj, std::string_view key, int64_t def, const Where& w);
double get_double(const json& obj, std::string_view key, double def, const Where& w);
std::string get_string(const json& obj, std::string_view key, const std::string& def, const Where& w);
const json& get_array(const json& obj, std::string_view key, const Where& w);  // required
// The "type" member, checked to be a string.
std::string type_of(const json& obj, const Where& w);
[[noreturn]] void unknown_type(const std::string& type, const Where& w);

// A split/replace pattern: {"String": "..."} (a literal) or {"Regex": "..."}.
class Pattern {
 public:
  Pattern(const json& j, const Where& w);
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
};

// String -> id with lookups by string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;
int32_t find_id(const TokenMap& m, std::string_view s);  // -1 if absent

struct Where;

// One Cache per thread and owner (`uid`: unique per loaded model or tokenizer, from 1), the
// last one used found without a lookup. Owners loaded and gone (a long run reloads
// tokenizers) keep no memory past a few per thread: past that the thread starts over.
template <class Cache>
Cache& per_thread_cache(uint64_t uid) {
  constexpr size_t kMaxOwners = 4;
  thread_local std::unordered_map<uint64_t, Cache> caches;
  thread_local uint64_t last_uid = 0;
  thread_local Cache* last = nullptr;
  if (last_uid != uid) {
    auto it = caches.find(uid);
    if (it == caches.end()) {
      if (caches.size() >= kMaxOwners) caches.clear();
      it = caches.emplace(uid, Cache{}).first;
    }
    last = &it->second;  // (unordered_map nodes stay put)
    last_uid = uid;
  }
  return *last;
}

// Largest id accepted in a vocabulary: enough for any real tokenizer, small enough that
// the id -> token table stays bounded on a hostile file.
constexpr int64_t kMaxId = (int64_t{1} << 24) - 1;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& s) const = 0;
  // True when normalize() is sure to leave `text` byte for byte as it is (a cheap check,
  // e.g. NFC of ASCII text); false when it might change it.
  virtual bool leaves_unchanged(std::string_view text) const { return false; }
};
std::unique_ptr<Normalizer> make_normalizer(const json& j, const Where& w);

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(PreTokenized& p) const = 0;

  // GPT-2's byte-level shape, which GPT-2, Llama-3 and Qwen2 ship: ByteLevel with use_regex
  // and no prefix space, or a Split (Isolated, not inverted) followed by ByteLevel with
  // neither. The pattern whose matches, with the text between them, are the pieces whose
  // bytes then become byte-level characters; HfTokenizer::encode cuts and maps such input
  // itself, without a NormalizedString per piece (same ids and offsets). nullptr otherwise.
  virtual const Pattern* byte_level_cut() const { return nullptr; }
  // For a Sequence to find that shape: a Split's pattern when it isolates matches (else
  // nullptr), and whether this is a ByteLevel that only maps bytes (no regex, no prefix).
  virtual const Pattern* isolating_pattern() const { return nullptr; }
  virtual bool maps_bytes_only() const { return false; }
};
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const Where& w);

class Model {
 public:
  virtual ~Model() = default;
  // Appends the tokens of one pre-tokenized word (offsets are bytes of `word`).
  virtual void tokenize(std::string_view word, std::vector<Token>& out) const = 0;
  const TokenMap& vocab() const { return vocab_; }
  const std::vector<std::string>& id_to_token() const { return tokens_; }  // "" = no token

 protected:
  void set_vocab(TokenMap vocab, const Where& w);  // checks ids, fills tokens_
  TokenMap vocab_;
  std::vector<std::string> tokens_;
};
// The "vocab" member as {token: id}, ids checked to be in [0, kMaxId].
TokenMap read_vocab_object(const json& j, const Where& w);
std::unique_ptr<Model> make_model(const json& j, const Where& w);
std::unique_ptr<Model> make_bpe(const json& j, const Where& w);
std::unique_ptr<Model> make_unigram(const json& j, const Where& w);
std::unique_ptr<Model> make_wordpiece(const json& j, const Where& w);
std::unique_ptr<Model> make_wordlevel(const json& j, const Where& w);

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // `text` is the input (offsets are trimmed in its characters, as tokenizers does).
  virtual void process(Encoding& e, std::string_view text, bool add_special_tokens) const = 0;
};
std::unique_ptr<PostProcessor> make_post_processor(const json& j, const Where& w);

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};
std::unique_ptr<Decoder> make_decoder(const json& j, const Where& w);

// ByteLevel's byte <-> character table (GPT-2's bytes_to_unicode).
const std::string& byte_to_char(uint8_t b);          // UTF-8 of the character for b
// Every byte of `s` becomes its byte-level character, aligned to the character it came
// from (the ByteLevel normalizer and pre-tokenizer).
void to_byte_level(NormalizedString& s);
int byte_of_char(char32_t c);                        // -1 if c stands for no byte

}  // namespace fw::data::hf
