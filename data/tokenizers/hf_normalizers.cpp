// tokenizer.json normalizers: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip,
// StripAccents, Replace, Prepend, BertNormalizer, ByteLevel. Unicode normalization is ICU's.
#include <unicode/bytestream.h>
#include <unicode/edits.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include <algorithm>

#include "core/error.h"
#include "data/tokenizers/hf_components.h"

namespace fw::data::hf {
namespace {

enum class UnicodeForm { NFC, NFD, NFKC, NFKD };

const icu::Normalizer2* icu_normalizer(UnicodeForm f) {
  UErrorCode st = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (f) {
    case UnicodeForm::NFC: n = icu::Normalizer2::getNFCInstance(st); break;
    case UnicodeForm::NFD: n = icu::Normalizer2::getNFDInstance(st); break;
    case UnicodeForm::NFKC: n = icu::Normalizer2::getNFKCInstance(st); break;
    case UnicodeForm::NFKD: n = icu::Normalizer2::getNFKDInstance(st); break;
  }
  if (U_FAILURE(st) || !n) throw_runtime(std::string("ICU normalizer unavailable: ") + u_errorName(st));
  return n;
}

std::string icu_normalize(const icu::Normalizer2* n, std::string_view s, icu::Edits* edits) {
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(s.size()));
  UErrorCode st = U_ZERO_ERROR;
  n->normalizeUTF8(0, icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink, edits, st);
  if (U_FAILURE(st)) throw_runtime(std::string("ICU normalization failed: ") + u_errorName(st));
  return out;
}

std::vector<char32_t> chars_of(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    out.push_back(decode_utf8(s, i, &len));
    i += len;
  }
  return out;
}

// Unicode normalization with the input range of every output character: ICU's edits give
// the changed chunks; inside a chunk characters are attributed as tokenizers' alignment
// crate does (a decomposition's first character replaces its source, the rest are
// inserted; a composition replaces the first source character and removes the others).
void unicode_normalize(NormalizedString& s, UnicodeForm form) {
  const icu::Normalizer2* n = icu_normalizer(form);
  UErrorCode st = U_ZERO_ERROR;
  const std::string& text = s.text();
  // ASCII is in every normalization form (the common case: templates, code, English).
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) return;
  if (n->isNormalized(icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))), st) &&
      U_SUCCESS(st))
    return;
  icu::Edits edits;
  const std::string out = icu_normalize(n, text, &edits);
  NormalizedString::Rewriter r(s);
  auto it = edits.getFineIterator();
  st = U_ZERO_ERROR;
  while (it.next(st)) {
    if (!it.hasChange()) {
      r.keep_bytes(static_cast<size_t>(it.oldLength()));
      continue;
    }
    const std::string_view old_chunk(text.data() + it.sourceIndex(), static_cast<size_t>(it.oldLength()));
    const std::string_view new_chunk(out.data() + it.destinationIndex(), static_cast<size_t>(it.newLength()));
    const auto oc = chars_of(old_chunk);
    const auto nc = chars_of(new_chunk);
    const size_t nold = oc.size(), nnew = nc.size();
    if (nnew == 0) {
      r.skip_bytes(old_chunk.size());
      continue;
    }
    bool done = false;
    if (nold > 1 && nnew >= nold) {  // per-character decompositions, when they line up
      std::vector<std::vector<char32_t>> parts;
      std::vector<char32_t> joined;
      for (char32_t c : oc) {
        std::string u;
        append_utf8(u, c);
        parts.push_back(chars_of(icu_normalize(n, u, nullptr)));
        joined.insert(joined.end(), parts.back().begin(), parts.back().end());
      }
      if (joined == nc) {
        for (const auto& p : parts) {
          if (p.empty()) {
            r.skip_char();
            continue;
          }
          r.replace_char(p[0]);
          for (size_t k = 1; k < p.size(); ++k) r.insert(p[k]);
        }
        done = true;
      }
    }
    if (!done) {
      const size_t replaced = std::min(nold, nnew);
      for (size_t k = 0; k < replaced; ++k) {
        r.replace_char(nc[k]);
        if (k + 1 == replaced)
          for (size_t x = replaced; x < nold; ++x) r.skip_char();
      }
      for (size_t k = replaced; k < nnew; ++k) r.insert(nc[k]);
    }
  }
  r.finish();
}

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(UnicodeForm f) : form_(f) {}
  void normalize(NormalizedString& s) const override { unicode_normalize(s, form_); }
  bool leaves_unchanged(std::string_view text) const override {  // ASCII is in every normal form
    return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  }

 private:
  UnicodeForm form_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(NormalizedString& s) const override {
    for (const auto& p : parts_) p->normalize(s);
  }
  bool leaves_unchanged(std::string_view text) const override {
    return std::all_of(parts_.begin(), parts_.end(), [&](const auto& p) { return p->leaves_unchanged(text); });
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

class Lowercase final : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { s.lowercase(); }
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormalizedString& s) const override { s.lstrip_rstrip(left_, right_); }

 private:
  bool left_, right_;
};

// Removes the characters `drop` names; the others keep their input ranges.
template <class Drop>
void filter_chars(NormalizedString& s, Drop drop) {
  NormalizedString::Rewriter r(s);
  while (!r.done()) {
    size_t len;
    const char32_t c = r.peek(&len);
    if (drop(c)) r.skip_bytes(len);
    else r.keep_bytes(len);
  }
  r.finish();
}

class StripAccents final : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    filter_chars(s, [](char32_t c) { return is_mark_nonspacing(c) || is_mark(c); });
  }
  static bool is_mark(char32_t c);
};

class Replace final : public Normalizer {
 public:
  Replace(const json& j, const Where& w)
      : pattern_(required(j, "pattern", w), w.at("pattern")), content_(get_string(j, "content", "", w)) {}
  void normalize(NormalizedString& s) const override { s.replace_ranges(pattern_.find_all(s.text()), content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  void normalize(NormalizedString& s) const override { s.prepend(prepend_); }

 private:
  std::string prepend_;
};

class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(const json& j, const Where& w)
      : clean_text_(get_bool(j, "clean_text", true, w)),
        chinese_(get_bool(j, "handle_chinese_chars", true, w)),
        lowercase_(get_bool(j, "lowercase", true, w)),
        strip_accents_(get_bool(j, "strip_accents", lowercase_, w)) {}
  void normalize(NormalizedString& s) const override {
    if (clean_text_) {
      filter_chars(s, [](char32_t c) { return c == 0 || c == 0xFFFD || is_control(c); });
      NormalizedString::Rewriter r(s);
      while (!r.done()) {
        size_t len;
        const char32_t c = r.peek(&len);
        if (c != ' ' && (c == '\t' || c == '\n' || c == '\r' || is_whitespace(c))) r.replace_char(U' ');
        else r.keep_bytes(len);
      }
      r.finish();
    }
    if (chinese_) {
      NormalizedString::Rewriter r(s);
      while (!r.done()) {
        size_t len;
        const char32_t c = r.peek(&len);
        if (is_chinese_char(c)) {
          r.replace_char(U' ');
          r.insert(c);
          r.insert(U' ');
        } else {
          r.keep_bytes(len);
        }
      }
      r.finish();
    }
    if (strip_accents_) {
      unicode_normalize(s, UnicodeForm::NFD);
      filter_chars(s, [](char32_t c) { return is_mark_nonspacing(c); });
    }
    if (lowercase_) s.lowercase();
  }

 private:
  bool clean_text_, chinese_, lowercase_, strip_accents_;
};

class ByteLevelNormalizer final : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { to_byte_level(s); }
};

}  // namespace

bool StripAccents::is_mark(char32_t c) {
  const auto t = u_charType(static_cast<UChar32>(c));
  return t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK || t == U_ENCLOSING_MARK;
}

std::unique_ptr<Normalizer> make_normalizer(const json& j, const Where& w) {
  const std::string type = type_of(j, w);
  if (type == "Sequence") {
    const json& arr = get_array(j, "normalizers", w);
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < arr.size(); ++i) parts.push_back(make_normalizer(arr[i], w.at("normalizers").at(i)));
    return std::make_unique<Sequence>(std::move(parts));
  }
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFKD);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip")
    return std::make_unique<Strip>(get_bool(j, "strip_left", true, w), get_bool(j, "strip_right", true, w));
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Replace") return std::make_unique<Replace>(j, w);
  if (type == "Prepend") return std::make_unique<Prepend>(get_string(j, "prepend", "", w));
  if (type == "BertNormalizer") return std::make_unique<BertNormalizer>(j, w);
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Precompiled")
    w.at("type").fail("\"Precompiled\" (a sentencepiece normalization table) is not supported; load the "
                      "tokenizer.model with fw::data::Tokenizer instead");
  unknown_type(type, w);
}

}  // namespace fw::data::hf
