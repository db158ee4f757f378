// Shared pieces of the tokenizer.json components: error paths, JSON accessors, patterns,
// vocabularies and the byte-level alphabet.
#include "data/tokenizers/hf_components.h"

#include <array>

#include "core/error.h"

namespace fw::data::hf {

void Where::fail(const std::string& message) const { throw_invalid(message, {.file = *file, .key = path}); }

namespace {
const json* find(const json& obj, std::string_view key, const Where& w) {
  if (!obj.is_object()) w.fail("expected an object, got " + std::string(obj.type_name()));
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

const json& required(const json& obj, std::string_view key, const Where& w) {
  const json* v = find(obj, key, w);
  if (!v) w.at(key).fail("missing");
  return *v;
}

bool get_bool(const json& obj, std::string_view key, bool def, const Where& w) {
  const json* v = find(obj, key, w);
  if (!v) return def;
  if (!v->is_boolean()) w.at(key).fail("expected true or false, got " + v->dump());
  return v->get<bool>();
}

int64_t get_int(const json& obj, std::string_view key, int64_t def, const Where& w) {
  const json* v = find(obj, key, w);
  if (!v) return def;
  if (!v->is_number_integer()) w.at(key).fail("expected an integer, got " + v->dump());
  return v->get<int64_t>();
}

double get_double(const json& obj, std::string_view key, double def, const Where& w) {
  const json* v = find(obj, key, w);
  if (!v) return def;
  if (!v->is_number()) w.at(key).fail("expected a number, got " + v->dump());
  return v->get<double>();
}

std::string get_string(const json& obj, std::string_view key, const std::string& def, const Where& w) {
  const json* v = find(obj, key, w);
  if (!v) return def;
  if (!v->is_string()) w.at(key).fail("expected a string, got " + v->dump());
  return v->get<std::string>();
}

const json& get_array(const json& obj, std::string_view key, const Where& w) {
  const json& v = required(obj, key, w);
  if (!v.is_array()) w.at(key).fail("expected an array, got " + std::string(v.type_name()));
  return v;
}

std::string type_of(const json& obj, const Where& w) {
  const json& t = required(obj, "type", w);
  if (!t.is_string()) w.at("type").fail("expected a string, got " + t.dump());
  return t.get<std::string>();
}

void unknown_type(const std::string& type, const Where& w) { w.at("type").fail("unknown \"" + type + "\""); }

Pattern::Pattern(const json& j, const Where& w) {
  if (!j.is_object() || j.size() != 1) w.fail("expected {\"String\": ...} or {\"Regex\": ...}");
  if (j.contains("String")) {
    literal_ = get_string(j, "String", "", w);
  } else if (j.contains("Regex")) {
    const Where rw = w.at("Regex");
    regex_ = std::make_unique<Regex>(get_string(j, "Regex", "", w), *w.file, rw.path);
  } else {
    w.fail("expected {\"String\": ...} or {\"Regex\": ...}, got " + j.dump());
  }
}

std::vector<std::pair<size_t, size_t>> Pattern::find_all(std::string_view text) const {
  if (regex_) return regex_->find_all(text);
  std::vector<std::pair<size_t, size_t>> out;
  if (literal_.empty()) return out;
  for (size_t p = text.find(literal_); p != std::string_view::npos; p = text.find(literal_, p + literal_.size()))
    out.emplace_back(p, p + literal_.size());
  return out;
}

int32_t find_id(const TokenMap& m, std::string_view s) {
  auto it = m.find(s);
  return it == m.end() ? -1 : it->second;
}

void Model::set_vocab(TokenMap vocab, const Where& w) {
  int32_t max_id = -1;
  for (const auto& [tok, id] : vocab) {
    if (id < 0 || id > kMaxId) w.fail("id " + std::to_string(id) + " of \"" + tok + "\" is out of range");
    max_id = std::max(max_id, id);
  }
  if (static_cast<int64_t>(max_id) >= 2 * static_cast<int64_t>(vocab.size()) + 1024)
    w.fail("ids go up to " + std::to_string(max_id) + " for " + std::to_string(vocab.size()) +
           " tokens (out of range)");
  tokens_.assign(static_cast<size_t>(max_id + 1), std::string());
  std::vector<bool> seen(tokens_.size());
  for (const auto& [tok, id] : vocab) {
    if (seen[static_cast<size_t>(id)])
      w.fail("id " + std::to_string(id) + " is given to both \"" + tokens_[static_cast<size_t>(id)] + "\" and \"" +
             tok + "\"");
    seen[static_cast<size_t>(id)] = true;
    tokens_[static_cast<size_t>(id)] = tok;
  }
  vocab_ = std::move(vocab);
}

std::unique_ptr<Model> make_model(const json& j, const Where& w) {
  if (!j.is_object()) w.fail("expected an object");
  std::string type;
  if (j.contains("type")) {
    type = type_of(j, w);
  } else if (j.contains("merges")) {  // old files leave the type out
    type = "BPE";
  } else if (j.contains("vocab") && j["vocab"].is_array()) {
    type = "Unigram";
  } else if (j.contains("max_input_chars_per_word")) {
    type = "WordPiece";
  } else {
    type = "WordLevel";
  }
  if (type == "BPE") return make_bpe(j, w);
  if (type == "Unigram") return make_unigram(j, w);
  if (type == "WordPiece") return make_wordpiece(j, w);
  if (type == "WordLevel") return make_wordlevel(j, w);
  unknown_type(type, w);
}

namespace {
struct ByteTable {
  std::array<std::string, 256> to_char;
  std::array<int, 324> from_char{};
  ByteTable() {
    from_char.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      append_utf8(to_char[static_cast<size_t>(b)], c);
      from_char[c] = b;
    }
  }
};
const ByteTable& byte_table() {
  static const ByteTable t;
  return t;
}
}  // namespace

const std::string& byte_to_char(uint8_t b) { return byte_table().to_char[b]; }

int byte_of_char(char32_t c) { return c < 324 ? byte_table().from_char[c] : -1; }

}  // namespace fw::data::hf
