// NormalizedString: text being normalized and pre-tokenized, with for every byte of it the
// byte range [begin, end) of the input it came from, so a token's offsets map back to the
// user's text. The rules (which input range a replaced, inserted or removed character
// takes) are those of the Hugging Face `tokenizers` library, so offsets agree with it.
//
// PreTokenized: a NormalizedString cut into splits; each split is later tokenized by the
// model, or already is a token (an added token matched in the text).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fw::data::hf {

struct Align {
  uint32_t begin = 0, end = 0;  // bytes of the original input
  bool operator==(const Align&) const = default;
};

// A token from a model: id, its text and its byte range in the split it came from.
struct Token {
  int32_t id = 0;
  std::string value;
  uint32_t begin = 0, end = 0;
};

class NormalizedString {
 public:
  NormalizedString() = default;
  // `text` at byte `shift` of the input. Invalid UTF-8 bytes become U+FFFD, each aligned
  // to its byte.
  static NormalizedString from_input(std::string_view text, uint32_t shift = 0);

  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }
  size_t size() const { return text_.size(); }
  const std::vector<Align>& alignments() const { return align_; }
  uint32_t shift() const { return shift_; }  // where this piece starts in the input
  uint32_t original_end() const { return original_end_; }

  // The input range that normalized bytes [b, e) came from (tokenizers' convert_offsets).
  Align original_range(size_t b, size_t e) const;
  // Normalized bytes [b, e) as their own NormalizedString (tokenizers' slice).
  NormalizedString slice(size_t b, size_t e) const;

  // Rebuilding, as tokenizers' transform: walk the current text left to right and emit.
  class Rewriter {
   public:
    explicit Rewriter(NormalizedString& s);
    void keep_char();                 // copy the next character as it is
    void replace_char(char32_t c);    // the next character becomes c (change 0)
    void replace_char(std::string_view utf8_char);
    void insert(char32_t c);          // c is new: it takes the previous byte's range (change > 0)
    void skip_char();                 // drop the next character
    void keep_bytes(size_t n);        // copy n bytes (whole characters) as they are
    void skip_bytes(size_t n);
    size_t pos() const { return pos_; }
    bool done() const { return pos_ >= src_.text_.size(); }
    char32_t peek(size_t* len) const;
    void finish();  // copies the rest, then replaces the string

   private:
    void emit(std::string_view bytes, Align a);
    NormalizedString& src_;
    size_t pos_ = 0;
    std::string out_;
    std::vector<Align> align_;
  };

  // tokenizers' transform(dest, initial_offset): `initial_skip` characters are removed
  // first, then each (c, change): change 0 replaces the next character, > 0 inserts,
  // < 0 replaces the next and removes -change more.
  void transform(const std::vector<std::pair<char32_t, int>>& dest, size_t initial_skip);

  void prepend(std::string_view s);
  void lstrip_rstrip(bool left, bool right);
  void lowercase();
  // Replace each match (byte ranges, sorted, non-overlapping) with `content`.
  void replace_ranges(const std::vector<std::pair<size_t, size_t>>& matches, std::string_view content);

 private:
  std::string text_;
  std::vector<Align> align_;
  uint32_t shift_ = 0, original_end_ = 0;
};

// How a split keeps the delimiters it found (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Pieces of `s` from `matches`: ((begin, end), is_match) covering the text in order.
using Matches = std::vector<std::pair<std::pair<size_t, size_t>, bool>>;
void split_by(const NormalizedString& s, Matches matches, SplitBehavior behavior,
              std::vector<NormalizedString>& out);
// The matches of a character predicate, in the form above.
template <class Pred>
Matches char_matches(std::string_view text, Pred pred);
// Regex or literal matches (sorted byte ranges) in the form above.
Matches range_matches(std::string_view text, const std::vector<std::pair<size_t, size_t>>& ranges);

struct Split {
  NormalizedString normalized;
  std::optional<std::vector<Token>> tokens;
};

struct PreTokenized {
  std::vector<Split> splits;
  // Each untokenized split goes through fn(NormalizedString&&, std::vector<NormalizedString>&);
  // empty results are dropped.
  template <class Fn>
  void split(Fn&& fn) {
    std::vector<Split> next;
    next.reserve(splits.size());
    std::vector<NormalizedString> pieces;
    for (auto& sp : splits) {
      if (sp.tokens) {
        next.push_back(std::move(sp));
        continue;
      }
      pieces.clear();
      fn(std::move(sp.normalized), pieces);
      for (auto& p : pieces)
        if (!p.empty()) next.push_back(Split{std::move(p), std::nullopt});
    }
    splits = std::move(next);
  }
};

}  // namespace fw::data::hf

#include "data/tokenizers/hf_unicode.h"

template <class Pred>
fw::data::hf::Matches fw::data::hf::char_matches(std::string_view text, Pred pred) {
  Matches m;
  if (text.empty()) {
    m.push_back({{0, 0}, false});
    return m;
  }
  size_t last = 0;
  for (size_t i = 0; i < text.size();) {
    size_t len;
    const char32_t c = decode_utf8(text, i, &len);
    if (pred(c)) {
      if (last < i) m.push_back({{last, i}, false});
      m.push_back({{i, i + len}, true});
      last = i + len;
    }
    i += len;
  }
  if (last < text.size()) m.push_back({{last, text.size()}, false});
  return m;
}
