// tokenizer.json pre-tokenizers: Sequence, ByteLevel, Split, Metaspace, Digits,
// Punctuation, Whitespace, WhitespaceSplit, BertPreTokenizer, CharDelimiterSplit.
#include "core/error.h"
#include "data/tokenizers/hf_components.h"

namespace fw::data::hf {
namespace {

SplitBehavior behavior_of(const json& j, const Where& w, SplitBehavior def) {
  const std::string b = get_string(j, "behavior", "", w);
  if (b.empty()) return def;
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  w.at("behavior").fail("unknown \"" + b + "\"");
}

template <class Pred>
void split_chars(PreTokenized& p, Pred pred, SplitBehavior behavior) {
  p.split([&](NormalizedString&& s, std::vector<NormalizedString>& out) {
    split_by(s, char_matches(s.text(), pred), behavior, out);
  });
}

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(PreTokenized& p) const override {
    for (const auto& part : parts_) part->pre_tokenize(p);
  }
  const Pattern* byte_level_cut() const override {
    if (parts_.size() == 2 && parts_[1]->maps_bytes_only()) return parts_[0]->isolating_pattern();
    return parts_.size() == 1 ? parts_[0]->byte_level_cut() : nullptr;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

const Pattern& gpt2_regex() {
  static const std::string file = "<builtin>";
  static const Pattern re(
      json{{"Regex", R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"}},
      Where{&file, "ByteLevel"});
  return re;
}


class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(const json& j, const Where& w)
      : add_prefix_space_(get_bool(j, "add_prefix_space", true, w)), use_regex_(get_bool(j, "use_regex", true, w)) {
    if (use_regex_) gpt2_regex();
  }
  void pre_tokenize(PreTokenized& p) const override {
    p.split([&](NormalizedString&& s, std::vector<NormalizedString>& out) {
      if (add_prefix_space_ && (s.text().empty() || s.text()[0] != ' ')) s.prepend(" ");
      if (use_regex_) split_by(s, range_matches(s.text(), gpt2_regex().find_all(s.text())), SplitBehavior::Isolated, out);
      else out.push_back(std::move(s));
    });
    for (auto& sp : p.splits)
      if (!sp.tokens) to_byte_level(sp.normalized);
  }
  const Pattern* byte_level_cut() const override { return use_regex_ && !add_prefix_space_ ? &gpt2_regex() : nullptr; }
  bool maps_bytes_only() const override { return !use_regex_ && !add_prefix_space_; }

 private:
  bool add_prefix_space_, use_regex_;
};

class SplitPre final : public PreTokenizer {
 public:
  SplitPre(const json& j, const Where& w)
      : pattern_(required(j, "pattern", w), w.at("pattern")),
        behavior_(behavior_of(j, w, SplitBehavior::Isolated)),
        invert_(get_bool(j, "invert", false, w)) {
    if (!j.contains("behavior")) w.at("behavior").fail("missing");
  }
  void pre_tokenize(PreTokenized& p) const override {
    p.split([&](NormalizedString&& s, std::vector<NormalizedString>& out) {
      Matches m = range_matches(s.text(), pattern_.find_all(s.text()));
      if (invert_)
        for (auto& x : m) x.second = !x.second;
      split_by(s, std::move(m), behavior_, out);
    });
  }
  const Pattern* isolating_pattern() const override {
    return behavior_ == SplitBehavior::Isolated && !invert_ ? &pattern_ : nullptr;
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

enum class PrependScheme { Always, First, Never };

class Metaspace final : public PreTokenizer {
 public:
  Metaspace(const json& j, const Where& w) : replacement_(get_string(j, "replacement", "\xE2\x96\x81", w)) {
    if (count_chars(replacement_) != 1) w.at("replacement").fail("expected one character");
    size_t len;
    replacement_char_ = decode_utf8(replacement_, 0, &len);
    split_ = get_bool(j, "split", true, w);
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      const std::string s = get_string(j, "prepend_scheme", "always", w);
      if (s == "always") scheme_ = PrependScheme::Always;
      else if (s == "first") scheme_ = PrependScheme::First;
      else if (s == "never") scheme_ = PrependScheme::Never;
      else w.at("prepend_scheme").fail("unknown \"" + s + "\" (always, first or never)");
    } else {
      scheme_ = get_bool(j, "add_prefix_space", true, w) ? PrependScheme::Always : PrependScheme::Never;
    }
  }
  void pre_tokenize(PreTokenized& p) const override {
    p.split([&](NormalizedString&& s, std::vector<NormalizedString>& out) {
      std::vector<std::pair<size_t, size_t>> spaces;
      for (size_t i = 0; i < s.text().size(); ++i)
        if (s.text()[i] == ' ') spaces.emplace_back(i, i + 1);
      s.replace_ranges(spaces, replacement_);
      const bool starts = s.text().compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && s.shift() == 0)))
        s.prepend(replacement_);
      if (split_) {
        const char32_t rc = replacement_char_;
        split_by(s, char_matches(s.text(), [rc](char32_t c) { return c == rc; }), SplitBehavior::MergedWithNext, out);
      } else {
        out.push_back(std::move(s));
      }
    });
  }

 private:
  std::string replacement_;
  char32_t replacement_char_ = 0;
  PrependScheme scheme_ = PrependScheme::Always;
  bool split_ = true;
};

class Digits final : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void pre_tokenize(PreTokenized& p) const override {
    split_chars(p, is_numeric, individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  }

 private:
  bool individual_;
};

class Punctuation final : public PreTokenizer {
 public:
  explicit Punctuation(SplitBehavior b) : behavior_(b) {}
  void pre_tokenize(PreTokenized& p) const override { split_chars(p, is_punctuation, behavior_); }

 private:
  SplitBehavior behavior_;
};

// \w+|[^\w\s]+ (the Rust regex crate's classes), everything else removed.
class Whitespace final : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenized& p) const override {
    p.split([&](NormalizedString&& s, std::vector<NormalizedString>& out) {
      const std::string& t = s.text();
      std::vector<std::pair<size_t, size_t>> runs;
      size_t i = 0;
      while (i < t.size()) {
        size_t len;
        const char32_t c = decode_utf8(t, i, &len);
        const int cls = is_word_char(c) ? 1 : is_whitespace(c) ? 0 : 2;
        if (cls == 0) {
          i += len;
          continue;
        }
        const size_t b = i;
        i += len;
        while (i < t.size()) {
          const char32_t d = decode_utf8(t, i, &len);
          const int dc = is_word_char(d) ? 1 : is_whitespace(d) ? 0 : 2;
          if (dc != cls) break;
          i += len;
        }
        runs.emplace_back(b, i);
      }
      Matches m = range_matches(t, runs);
      for (auto& x : m) x.second = !x.second;
      split_by(s, std::move(m), SplitBehavior::Removed, out);
    });
  }
};

class WhitespaceSplit final : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenized& p) const override { split_chars(p, is_whitespace, SplitBehavior::Removed); }
};

class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenized& p) const override {
    split_chars(p, is_whitespace, SplitBehavior::Removed);
    split_chars(p, is_punctuation, SplitBehavior::Isolated);
  }
};

class CharDelimiterSplit final : public PreTokenizer {
 public:
  explicit CharDelimiterSplit(char32_t d) : delim_(d) {}
  void pre_tokenize(PreTokenized& p) const override {
    const char32_t d = delim_;
    split_chars(p, [d](char32_t c) { return c == d; }, SplitBehavior::Removed);
  }

 private:
  char32_t delim_;
};

}  // namespace

// Every byte becomes its byte-level character, aligned to the character it came from.
void to_byte_level(NormalizedString& s) {
  NormalizedString::Rewriter r(s);
  const std::string& t = s.text();
  while (!r.done()) {
    size_t len;
    r.peek(&len);
    const size_t at = r.pos();
    for (size_t k = 0; k < len; ++k) {
      const std::string& u = byte_to_char(static_cast<uint8_t>(t[at + k]));
      size_t l;
      const char32_t c = decode_utf8(u, 0, &l);
      if (k == 0) r.replace_char(c);
      else r.insert(c);
    }
  }
  r.finish();
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const Where& w) {
  const std::string type = type_of(j, w);
  if (type == "Sequence") {
    const json& arr = get_array(j, "pretokenizers", w);
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < arr.size(); ++i) parts.push_back(make_pre_tokenizer(arr[i], w.at("pretokenizers").at(i)));
    return std::make_unique<Sequence>(std::move(parts));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevel>(j, w);
  if (type == "Split") return std::make_unique<SplitPre>(j, w);
  if (type == "Metaspace") return std::make_unique<Metaspace>(j, w);
  if (type == "Digits") return std::make_unique<Digits>(get_bool(j, "individual_digits", false, w));
  if (type == "Punctuation") return std::make_unique<Punctuation>(behavior_of(j, w, SplitBehavior::Isolated));
  if (type == "Whitespace") return std::make_unique<Whitespace>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "CharDelimiterSplit") {
    const std::string d = get_string(j, "delimiter", "", w);
    if (count_chars(d) != 1) w.at("delimiter").fail("expected one character");
    size_t len;
    return std::make_unique<CharDelimiterSplit>(decode_utf8(d, 0, &len));
  }
  unknown_type(type, w);
}

}  // namespace fw::data::hf
