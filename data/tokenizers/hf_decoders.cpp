// tokenizer.json decoders: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace,
// WordPiece, BPEDecoder, Sequence. Each maps the list of token strings to a new list; the
// text is their concatenation.
#include "data/tokenizers/hf_components.h"

namespace fw::data::hf {
namespace {

class ByteLevel final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      std::string mine;
      bool all = true;
      for (size_t i = 0; i < t.size();) {
        size_t len;
        const int b = byte_of_char(decode_utf8(t, i, &len));
        if (b < 0) {
          all = false;
          break;
        }
        mine += static_cast<char>(b);
        i += len;
      }
      bytes += all ? mine : t;
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

enum class PrependScheme { Always, First, Never };

class Metaspace final : public Decoder {
 public:
  Metaspace(const json& j, const Where& w) : replacement_(get_string(j, "replacement", "\xE2\x96\x81", w)) {
    if (count_chars(replacement_) != 1) w.at("replacement").fail("expected one character");
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      const std::string s = get_string(j, "prepend_scheme", "always", w);
      if (s == "never") prepend_ = false;
      else if (s != "always" && s != "first") w.at("prepend_scheme").fail("unknown \"" + s + "\" (always, first or never)");
    } else {
      prepend_ = get_bool(j, "add_prefix_space", true, w);
    }
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (size_t p = 0; p < t.size();) {
        if (t.compare(p, replacement_.size(), replacement_) == 0) {
          if (!(i == 0 && prepend_)) out += ' ';
          p += replacement_.size();
        } else {
          out += t[p++];
        }
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool prepend_ = true;
};

class ByteFallback final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t nbytes = 0;
    auto flush = [&] {
      if (nbytes == 0) return;
      if (is_valid_utf8(bytes)) out.push_back(bytes);
      else
        for (size_t k = 0; k < nbytes; ++k) out.emplace_back("\xEF\xBF\xBD");
      bytes.clear();
      nbytes = 0;
    };
    for (auto& t : tokens) {
      int b = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
          std::isxdigit(static_cast<unsigned char>(t[4])))
        b = std::stoi(t.substr(3, 2), nullptr, 16);
      if (b >= 0) {
        bytes += static_cast<char>(b);
        ++nbytes;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }
};

class Fuse final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class Strip final : public Decoder {
 public:
  Strip(const json& j, const Where& w)
      : content_(get_string(j, "content", " ", w)),
        start_(static_cast<size_t>(std::max<int64_t>(0, get_int(j, "start", 0, w)))),
        stop_(static_cast<size_t>(std::max<int64_t>(0, get_int(j, "stop", 0, w)))) {
    if (count_chars(content_) != 1) w.at("content").fail("expected one character");
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::vector<std::pair<size_t, size_t>> chars;  // byte ranges
      for (size_t i = 0; i < t.size();) {
        size_t len;
        decode_utf8(t, i, &len);
        chars.emplace_back(i, i + len);
        i += len;
      }
      auto is_content = [&](size_t k) { return t.compare(chars[k].first, chars[k].second - chars[k].first, content_) == 0; };
      size_t start_cut = 0;
      for (size_t k = 0; k < std::min(start_, chars.size()); ++k) {
        if (!is_content(k)) break;
        start_cut = k + 1;
      }
      size_t stop_cut = chars.size();
      for (size_t k = 0; k < stop_ && k < chars.size(); ++k) {
        const size_t idx = chars.size() - k - 1;
        if (!is_content(idx)) break;
        stop_cut = idx;
      }
      if (stop_cut <= start_cut) {
        t.clear();
        continue;
      }
      const size_t b = start_cut < chars.size() ? chars[start_cut].first : t.size();
      const size_t e = stop_cut > 0 ? chars[stop_cut - 1].second : 0;
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class Replace final : public Decoder {
 public:
  Replace(const json& j, const Where& w)
      : pattern_(required(j, "pattern", w), w.at("pattern")), content_(get_string(j, "content", "", w)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      const auto m = pattern_.find_all(t);
      if (m.empty()) continue;
      std::string out;
      size_t last = 0;
      for (const auto& [b, e] : m) {
        out.append(t, last, b - last);
        out += content_;
        last = e;
      }
      out.append(t, last);
      t = std::move(out);
    }
  }

 private:
  Pattern pattern_;
  std::string content_;
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  size_t last = 0;
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, last)) {
    out.append(s, last, p - last);
    out += to;
    last = p + from.size();
  }
  if (last == 0) return;
  out.append(s, last);
  s = std::move(out);
}

class WordPiece final : public Decoder {
 public:
  WordPiece(const json& j, const Where& w)
      : prefix_(get_string(j, "prefix", "##", w)), cleanup_(get_bool(j, "cleanup", true, w)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) t.erase(0, prefix_.size());
        else t.insert(0, " ");
      }
      if (cleanup_) {
        static const std::pair<const char*, const char*> kRules[] = {
            {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
            {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
        for (const auto& [from, to] : kRules) replace_all(t, from, to);
      }
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class BpeDecoder final : public Decoder {
 public:
  BpeDecoder(const json& j, const Where& w) : suffix_(get_string(j, "suffix", "</w>", w)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

class Sequence final : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& j, const Where& w) {
  const std::string type = type_of(j, w);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>();
  if (type == "Metaspace") return std::make_unique<Metaspace>(j, w);
  if (type == "ByteFallback") return std::make_unique<ByteFallback>();
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Strip") return std::make_unique<Strip>(j, w);
  if (type == "Replace") return std::make_unique<Replace>(j, w);
  if (type == "WordPiece") return std::make_unique<WordPiece>(j, w);
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(j, w);
  if (type == "Sequence") {
    const json& arr = get_array(j, "decoders", w);
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t i = 0; i < arr.size(); ++i) parts.push_back(make_decoder(arr[i], w.at("decoders").at(i)));
    return std::make_unique<Sequence>(std::move(parts));
  }
  unknown_type(type, w);
}

}  // namespace fw::data::hf
