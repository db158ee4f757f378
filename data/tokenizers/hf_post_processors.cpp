// tokenizer.json post-processors: TemplateProcessing (single sequences), ByteLevel (offset
// trimming), RobertaProcessing, BertProcessing, Sequence.
#include "data/tokenizers/hf_components.h"

namespace fw::data::hf {
namespace {

struct SpecialPiece {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
};

void push_special(Encoding& e, const SpecialPiece& p, uint32_t type_id) {
  for (size_t i = 0; i < p.ids.size(); ++i) {
    e.ids.push_back(p.ids[i]);
    e.tokens.push_back(p.tokens[i]);
    e.offsets.emplace_back(0, 0);
    e.special_tokens_mask.push_back(1);
    e.type_ids.push_back(type_id);
  }
}

void append(Encoding& out, const Encoding& e, uint32_t type_id) {
  out.ids.insert(out.ids.end(), e.ids.begin(), e.ids.end());
  out.tokens.insert(out.tokens.end(), e.tokens.begin(), e.tokens.end());
  out.offsets.insert(out.offsets.end(), e.offsets.begin(), e.offsets.end());
  out.special_tokens_mask.insert(out.special_tokens_mask.end(), e.special_tokens_mask.begin(), e.special_tokens_mask.end());
  out.type_ids.insert(out.type_ids.end(), e.ids.size(), type_id);
}

// tokenizers' process_offsets: leading/trailing spaces ('Ġ' or white space) of a token are
// not part of its offsets, except the one space add_prefix_space put before the first.
bool is_char_start(std::string_view text, size_t i) {
  return i >= text.size() || (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
}

// `n` characters of `text` after byte `pos` (stopping at the end).
uint32_t advance_chars(std::string_view text, uint32_t pos, size_t n) {
  for (; n > 0 && pos < text.size(); --n)
    do ++pos; while (!is_char_start(text, pos));
  return pos;
}

// `n` characters before byte `pos`, or -1 when there are fewer.
int64_t retreat_chars(std::string_view text, uint32_t pos, size_t n) {
  int64_t p = std::min<int64_t>(pos, static_cast<int64_t>(text.size()));
  for (; n > 0; --n) {
    if (p == 0) return -1;
    do --p; while (p > 0 && !is_char_start(text, static_cast<size_t>(p)));
  }
  return p;
}

void trim_offsets(Encoding& e, std::string_view text, bool add_prefix_space) {
  const std::string& g = byte_to_char(' ');
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    const std::string& t = e.tokens[i];
    auto& [b, end] = e.offsets[i];
    auto is_space = [&](size_t at, size_t* len) {
      const char32_t c = decode_utf8(t, at, len);
      return t.compare(at, g.size(), g) == 0 || is_whitespace(c);
    };
    size_t lead = 0, trail = 0;
    for (size_t k = 0; k < t.size();) {
      size_t len;
      if (!is_space(k, &len)) break;
      ++lead;
      k += len;
    }
    for (size_t k = t.size(); k > 0;) {
      size_t s = k - 1;
      while (s > 0 && (static_cast<unsigned char>(t[s]) & 0xC0) == 0x80) --s;
      size_t len;
      if (!is_space(s, &len)) break;
      ++trail;
      k = s;
    }
    if (lead == 0 && trail == 0) continue;
    if (lead > 0) {
      const bool first = i == 0 || b == 0;
      if (first && add_prefix_space && lead == 1) lead = 0;
      b = std::min<uint32_t>(advance_chars(text, b, lead), end);
    }
    if (trail > 0) {
      const int64_t back = retreat_chars(text, end, trail);
      if (back >= 0) end = std::max<uint32_t>(static_cast<uint32_t>(back), b);
    }
  }
}

SpecialPiece id_pair(const json& j, std::string_view key, const Where& w) {
  const json& v = required(j, key, w);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer())
    w.at(key).fail("expected [\"token\", id], got " + v.dump());
  const int64_t id = v[1].get<int64_t>();
  if (id < 0 || id > kMaxId) w.at(key).fail("id " + std::to_string(id) + " is out of range");
  return {{static_cast<int32_t>(id)}, {v[0].get<std::string>()}};
}

class Template final : public PostProcessor {
 public:
  Template(const json& j, const Where& w) {
    const json& specials = required(j, "special_tokens", w);
    if (!specials.is_object()) w.at("special_tokens").fail("expected an object");
    std::unordered_map<std::string, SpecialPiece> pieces;
    for (auto it = specials.begin(); it != specials.end(); ++it) {
      const Where sw = w.at("special_tokens").at(it.key());
      const json& ids = get_array(it.value(), "ids", sw);
      const json& toks = get_array(it.value(), "tokens", sw);
      if (ids.size() != toks.size()) sw.fail("ids and tokens differ in length");
      SpecialPiece p;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (!ids[i].is_number_integer() || ids[i].get<int64_t>() < 0 || ids[i].get<int64_t>() > kMaxId)
          sw.at("ids").at(i).fail("id " + ids[i].dump() + " is out of range");
        if (!toks[i].is_string()) sw.at("tokens").at(i).fail("expected a string");
        p.ids.push_back(ids[i].get<int32_t>());
        p.tokens.push_back(toks[i].get<std::string>());
      }
      pieces.emplace(it.key(), std::move(p));
    }
    const json& single = get_array(j, "single", w);
    for (size_t i = 0; i < single.size(); ++i) {
      const Where pw = w.at("single").at(i);
      const json& item = single[i];
      if (!item.is_object() || item.size() != 1) pw.fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      Item out;
      if (item.contains("Sequence")) {
        out.sequence = true;
        out.type_id = static_cast<uint32_t>(get_int(item["Sequence"], "type_id", 0, pw.at("Sequence")));
      } else if (item.contains("SpecialToken")) {
        const std::string id = get_string(item["SpecialToken"], "id", "", pw.at("SpecialToken"));
        auto it = pieces.find(id);
        if (it == pieces.end()) pw.at("SpecialToken").at("id").fail("\"" + id + "\" is not in special_tokens");
        out.special = it->second;
        out.type_id = static_cast<uint32_t>(get_int(item["SpecialToken"], "type_id", 0, pw.at("SpecialToken")));
      } else {
        pw.fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      }
      items_.push_back(std::move(out));
    }
  }
  void process(Encoding& e, std::string_view text, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    Encoding out;
    for (const auto& item : items_) {
      if (item.sequence) append(out, e, item.type_id);
      else push_special(out, item.special, item.type_id);
    }
    e = std::move(out);
  }

 private:
  struct Item {
    bool sequence = false;
    SpecialPiece special;
    uint32_t type_id = 0;
  };
  std::vector<Item> items_;
};

class ByteLevel final : public PostProcessor {
 public:
  ByteLevel(const json& j, const Where& w)
      : add_prefix_space_(get_bool(j, "add_prefix_space", true, w)), trim_(get_bool(j, "trim_offsets", true, w)) {}
  void process(Encoding& e, std::string_view text, bool) const override {
    if (trim_) trim_offsets(e, text, add_prefix_space_);
  }

 private:
  bool add_prefix_space_, trim_;
};

class Wrap final : public PostProcessor {  // RobertaProcessing and BertProcessing
 public:
  Wrap(const json& j, const Where& w, bool roberta)
      : cls_(id_pair(j, "cls", w)), sep_(id_pair(j, "sep", w)), roberta_(roberta) {
    if (roberta) {
      trim_ = get_bool(j, "trim_offsets", true, w);
      add_prefix_space_ = get_bool(j, "add_prefix_space", true, w);
    }
  }
  void process(Encoding& e, std::string_view text, bool add_special_tokens) const override {
    if (roberta_ && trim_) trim_offsets(e, text, add_prefix_space_);
    if (!add_special_tokens) return;
    Encoding out;
    push_special(out, cls_, 0);
    append(out, e, 0);
    push_special(out, sep_, 0);
    e = std::move(out);
  }

 private:
  SpecialPiece cls_, sep_;
  bool roberta_, trim_ = false, add_prefix_space_ = false;
};

class Sequence final : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void process(Encoding& e, std::string_view text, bool add_special_tokens) const override {
    for (const auto& p : parts_) p->process(e, text, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& j, const Where& w) {
  const std::string type = type_of(j, w);
  if (type == "TemplateProcessing") return std::make_unique<Template>(j, w);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>(j, w);
  if (type == "RobertaProcessing") return std::make_unique<Wrap>(j, w, true);
  if (type == "BertProcessing") return std::make_unique<Wrap>(j, w, false);
  if (type == "Sequence") {
    const json& arr = get_array(j, "processors", w);
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < arr.size(); ++i) parts.push_back(make_post_processor(arr[i], w.at("processors").at(i)));
    return std::make_unique<Sequence>(std::move(parts));
  }
  unknown_type(type, w);
}

}  // namespace fw::data::hf
