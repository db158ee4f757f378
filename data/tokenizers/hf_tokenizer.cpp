// HfTokenizer: loading a tokenizer.json, the encode pipeline, decoding and streaming.
#include "data/tokenizers/hf_tokenizer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "data/tokenizers/hf_added_tokens.h"
#include "data/tokenizers/hf_components.h"

namespace fw::data {

using hf::json;

struct HfTokenizer::Impl {
  std::string source;
  std::unique_ptr<hf::Normalizer> normalizer;
  std::unique_ptr<hf::PreTokenizer> pre_tokenizer;
  std::unique_ptr<hf::Model> model;
  std::unique_ptr<hf::PostProcessor> post_processor;
  std::unique_ptr<hf::Decoder> decoder;
  hf::AddedVocab added;
  std::vector<std::string> id_to_token;  // model and added tokens; "" = no token
  std::vector<std::string> decode_token;  // the same, with normalized added tokens normalized
  std::vector<uint8_t> special;          // per id: an added token marked special
  hf::TokenMap added_ids;                // added token content -> id
  const hf::Pattern* byte_level_cut = nullptr;  // the pre-tokenizer's byte-level shape, if it has it
  uint64_t uid = 0;  // keys this tokenizer's per-thread piece cache
};

namespace {

// A split of the input that the normalizer left as it is, through a pre-tokenizer of
// GPT-2's byte-level shape (PreTokenizer::byte_level_cut) and the model: the pieces are the
// cut's matches and the text between them; each piece's bytes become byte-level characters
// in one reused buffer, each mapped byte aligned to the input character it came from, as
// Split + to_byte_level + original_range would align it (a character's bytes all map to
// its whole range). The same ids and offsets as the general path, without a
// NormalizedString and an alignment vector per piece.
// Each byte's byte-level character as 1 or 2 UTF-8 bytes (hf::byte_to_char, flattened).
struct ByteChar {
  char bytes[2];
  uint8_t size;
};
const std::array<ByteChar, 256>& byte_chars() {
  static const std::array<ByteChar, 256> table = [] {
    std::array<ByteChar, 256> t{};
    for (int b = 0; b < 256; ++b) {
      const std::string& u = hf::byte_to_char(static_cast<uint8_t>(b));  // U+0021..U+0143: 1 or 2 bytes
      t[b].size = static_cast<uint8_t>(u.size());
      for (size_t k = 0; k < u.size() && k < 2; ++k) t[b].bytes[k] = u[k];
    }
    return t;
  }();
  return table;
}

// A piece's tokens with offsets relative to it, per tokenizer and thread: a repeated
// piece (a word, a template's markup) skips the mapping and the model.
struct CachedToken {
  int32_t id;
  uint32_t begin, end;
};
using PieceCache = std::unordered_map<std::string, std::vector<CachedToken>, hf::StringHash, std::equal_to<>>;
constexpr size_t kCachedPieceBytes = 256, kPieceCacheCapacity = 20000;
std::atomic<uint64_t> g_next_uid{1};

void encode_byte_level(const hf::Model& model, const hf::Pattern& cut, std::string_view text, uint32_t shift,
                       uint64_t uid, Encoding& e) {
  const std::array<ByteChar, 256>& chars = byte_chars();
  const std::vector<std::string>& vocab = model.id_to_token();
  PieceCache& cache = hf::per_thread_cache<PieceCache>(uid);
  std::vector<CachedToken> fresh;
  std::string mapped;
  std::vector<hf::Align> from;
  std::vector<hf::Token> toks;
  auto piece = [&](size_t b, size_t end) {
    if (b >= end) return;
    const std::string_view raw = text.substr(b, end - b);
    const uint32_t at = shift + static_cast<uint32_t>(b);
    if (raw.size() <= kCachedPieceBytes) {
      const auto it = cache.find(raw);
      if (it != cache.end()) {
        for (const CachedToken& t : it->second) {
          e.ids.push_back(t.id);
          e.tokens.push_back(vocab[static_cast<size_t>(t.id)]);
          e.offsets.emplace_back(at + t.begin, at + t.end);
        }
        return;
      }
    }
    mapped.clear();
    from.clear();
    for (size_t i = b; i < end;) {
      size_t len = 1;
      if (static_cast<unsigned char>(text[i]) >= 0x80) hf::decode_utf8(text, i, &len);
      const hf::Align a{shift + static_cast<uint32_t>(i), shift + static_cast<uint32_t>(i + len)};
      for (size_t k = 0; k < len; ++k) {
        const ByteChar& c = chars[static_cast<unsigned char>(text[i + k])];
        mapped.append(c.bytes, c.size);
        from.push_back(a);
        if (c.size == 2) from.push_back(a);
      }
      i += len;
    }
    toks.clear();
    model.tokenize(mapped, toks);
    // Cached when every token is its vocabulary entry, as it is given back from the cache.
    bool cacheable = raw.size() <= kCachedPieceBytes && cache.size() < kPieceCacheCapacity;
    fresh.clear();
    for (auto& t : toks) {
      const auto [ob, oe] = t.begin < t.end ? std::pair{from[t.begin].begin, from[t.end - 1].end}
                                            : std::pair{from[0].begin + t.begin, from[0].begin + t.begin};
      cacheable = cacheable && t.id >= 0 && static_cast<size_t>(t.id) < vocab.size() && vocab[static_cast<size_t>(t.id)] == t.value;
      if (cacheable) fresh.push_back({t.id, ob - at, oe - at});
      e.ids.push_back(t.id);
      e.tokens.push_back(std::move(t.value));
      e.offsets.emplace_back(ob, oe);
    }
    if (cacheable) cache.emplace(std::string(raw), fresh);
  };
  size_t at = 0;
  for (const auto& [mb, me] : cut.find_all(text)) {
    piece(at, mb);
    piece(mb, me);
    at = me;
  }
  piece(at, text.size());
}

}  // namespace

HfTokenizer::HfTokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

HfTokenizer HfTokenizer::load(const std::string& path) {
  std::string file = path;
  if (std::filesystem::is_directory(path)) file = (std::filesystem::path(path) / "tokenizer.json").string();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw_invalid("cannot open the tokenizer file", {.file = file});
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw_runtime("error reading the tokenizer file", {.file = file});
  return from_json(ss.str(), file);
}

HfTokenizer HfTokenizer::from_json(std::string_view json_text, const std::string& source) {
  auto impl = std::make_shared<Impl>();
  impl->uid = g_next_uid++;
  impl->source = source;
  json j;
  try {
    j = json::parse(json_text.begin(), json_text.end());
  } catch (const json::parse_error& e) {
    throw_invalid(std::string("not valid JSON (truncated or corrupt?): ") + e.what(), {.file = source});
  }
  const hf::Where root{&impl->source, ""};
  if (!j.is_object()) root.fail("expected a JSON object at the top (a tokenizer.json)");
  auto member = [&](const char* key) -> const json* {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  if (const json* n = member("normalizer")) impl->normalizer = hf::make_normalizer(*n, root.at("normalizer"));
  if (const json* p = member("pre_tokenizer")) {
    impl->pre_tokenizer = hf::make_pre_tokenizer(*p, root.at("pre_tokenizer"));
    // FLYWHEEL_BYTE_LEVEL_PATH=0 keeps such tokenizers on the general path (the tests
    // compare the two).
    const char* env = std::getenv("FLYWHEEL_BYTE_LEVEL_PATH");
    if (!env || std::string_view(env) != "0") impl->byte_level_cut = impl->pre_tokenizer->byte_level_cut();
  }
  const json* m = member("model");
  if (!m) root.at("model").fail("missing");
  impl->model = hf::make_model(*m, root.at("model"));
  if (const json* p = member("post_processor")) impl->post_processor = hf::make_post_processor(*p, root.at("post_processor"));
  if (const json* d = member("decoder")) impl->decoder = hf::make_decoder(*d, root.at("decoder"));
  if (const json* a = member("added_tokens")) impl->added.load(*a, root.at("added_tokens"), impl->normalizer.get());

  impl->id_to_token = impl->model->id_to_token();
  for (const auto& a : impl->added.tokens()) {
    const auto id = static_cast<size_t>(a.id);
    if (id >= impl->id_to_token.size()) {
      if (id > impl->id_to_token.size() + 2 * impl->added.tokens().size() + 1024)
        root.at("added_tokens").fail("id " + std::to_string(a.id) + " of \"" + a.content + "\" is out of range");
      impl->id_to_token.resize(id + 1);
    }
    impl->id_to_token[id] = a.content;
    impl->added_ids[a.content] = a.id;
  }
  impl->decode_token = impl->id_to_token;
  for (const auto& a : impl->added.tokens()) impl->decode_token[static_cast<size_t>(a.id)] = a.decoded;
  impl->special.assign(impl->id_to_token.size(), 0);
  for (const auto& a : impl->added.tokens())
    if (a.special) impl->special[static_cast<size_t>(a.id)] = 1;
  return HfTokenizer(std::move(impl));
}

Encoding HfTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  if (text.size() > 0xFFFFFFF0u) throw_invalid("text too long to encode (" + std::to_string(text.size()) + " bytes)");
  const Impl& im = *impl_;
  Encoding e;
  // Valid UTF-8 that the normalizer leaves as it is: the added tokens cut it into byte
  // ranges of the input, aligned character to character, which the byte-level path needs.
  const bool byte_level =
      im.byte_level_cut && hf::is_valid_utf8(text) && (!im.normalizer || im.normalizer->leaves_unchanged(text));
  if (byte_level) {
    for (const auto& pc : im.added.cut(text)) {
      const std::string_view piece = text.substr(pc.begin, pc.end - pc.begin);
      if (pc.token < 0) {
        encode_byte_level(*im.model, *im.byte_level_cut, piece, static_cast<uint32_t>(pc.begin), im.uid, e);
        continue;
      }
      e.ids.push_back(im.added.tokens()[static_cast<size_t>(pc.token)].id);
      e.tokens.emplace_back(piece);
      e.offsets.emplace_back(static_cast<uint32_t>(pc.begin), static_cast<uint32_t>(pc.end));
    }
  } else {
    hf::PreTokenized p = im.added.extract_and_normalize(text, im.normalizer.get());
    if (im.pre_tokenizer) im.pre_tokenizer->pre_tokenize(p);
    std::vector<hf::Token> toks;
    for (auto& sp : p.splits) {
      if (!sp.tokens) {
        toks.clear();
        im.model->tokenize(sp.normalized.text(), toks);
        sp.tokens = std::move(toks);
        toks = {};
      }
      for (auto& t : *sp.tokens) {
        const hf::Align a = sp.normalized.original_range(t.begin, t.end);
        e.ids.push_back(t.id);
        e.tokens.push_back(std::move(t.value));
        e.offsets.emplace_back(a.begin, a.end);
      }
    }
  }
  e.special_tokens_mask.assign(e.ids.size(), 0);
  e.type_ids.assign(e.ids.size(), 0);
  if (im.post_processor) im.post_processor->process(e, text, add_special_tokens);
  return e;
}

std::vector<int32_t> HfTokenizer::encode_ids(std::string_view text, bool add_special_tokens) const {
  return encode(text, add_special_tokens).ids;
}

std::vector<Encoding> HfTokenizer::encode_batch(std::span<const std::string> texts, bool add_special_tokens,
                                                int num_threads) const {
  std::vector<Encoding> out(texts.size());
  size_t n = num_threads > 0 ? static_cast<size_t>(num_threads) : std::max(1u, std::thread::hardware_concurrency());
  n = std::min(n, texts.size());
  if (n <= 1) {
    for (size_t i = 0; i < texts.size(); ++i) out[i] = encode(texts[i], add_special_tokens);
    return out;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (size_t i; !failed && (i = next++) < texts.size();) {
      try {
        out[i] = encode(texts[i], add_special_tokens);
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 0; t + 1 < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return out;
}

std::string HfTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& im = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= im.id_to_token.size())
      throw_invalid("token id " + std::to_string(id) + " is out of range (vocabulary of " +
                        std::to_string(im.id_to_token.size()) + ")",
                    {.file = im.source});
    const std::string& t = im.decode_token[static_cast<size_t>(id)];
    if (t.empty()) continue;
    if (skip_special_tokens && im.special[static_cast<size_t>(id)]) continue;
    tokens.push_back(t);
  }
  if (!im.decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out += ' ';
      out += tokens[i];
    }
    return out;
  }
  im.decoder->decode_chain(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

std::optional<std::string> HfTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_token.size()) return std::nullopt;
  const std::string& t = impl_->id_to_token[static_cast<size_t>(id)];
  if (t.empty()) return std::nullopt;
  return t;
}

int32_t HfTokenizer::token_to_id(std::string_view token) const {
  const int32_t a = hf::find_id(impl_->added_ids, token);
  return a >= 0 ? a : hf::find_id(impl_->model->vocab(), token);
}

int32_t HfTokenizer::vocab_size() const { return static_cast<int32_t>(impl_->id_to_token.size()); }

bool HfTokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->special.size() && impl_->special[static_cast<size_t>(id)];
}

const std::string& HfTokenizer::source() const { return impl_->source; }

HfDecodeStream::HfDecodeStream(const HfTokenizer& tok, bool skip_special_tokens)
    : tok_(tok), skip_special_(skip_special_tokens) {}

namespace {
bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}
}  // namespace

// tokenizers' step_decode_stream: decode a window of recent ids; what it adds beyond the
// window's earlier text is new, unless it ends in U+FFFD (an incomplete character).
std::string HfDecodeStream::step(int32_t id) {
  if (prefix_.empty() && !ids_.empty()) {
    std::string p = tok_.decode(ids_, skip_special_);
    if (!ends_with_replacement(p)) {
      prefix_ = std::move(p);
      prefix_index_ = ids_.size();
    }
  }
  ids_.push_back(id);
  const std::string s = tok_.decode(ids_, skip_special_);
  if (s.size() <= prefix_.size() || ends_with_replacement(s)) return {};
  if (s.compare(0, prefix_.size(), prefix_) != 0)
    throw_runtime("streaming decode: the text of the earlier tokens changed at token " + std::to_string(id) +
                  " (expected it to start with \"" + prefix_ + "\", got \"" + s + "\")");
  std::string fresh = s.substr(prefix_.size());
  const size_t new_prefix_index = ids_.size() - prefix_index_;
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<long>(prefix_index_));
  prefix_ = tok_.decode(ids_, skip_special_);
  prefix_index_ = new_prefix_index;
  return fresh;
}

}  // namespace fw::data
