#include "data/tokenizers/hf_normalized.h"

#include <algorithm>

namespace fw::data::hf {

NormalizedString NormalizedString::from_input(std::string_view text, uint32_t shift) {
  NormalizedString s;
  s.shift_ = shift;
  s.original_end_ = shift + static_cast<uint32_t>(text.size());
  s.text_.reserve(text.size());
  s.align_.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len;
    const char32_t c = decode_utf8(text, i, &len);
    const Align a{shift + static_cast<uint32_t>(i), shift + static_cast<uint32_t>(i + len)};
    if (c == 0xFFFD && len == 1) {
      s.text_ += "\xEF\xBF\xBD";
      s.align_.insert(s.align_.end(), 3, a);
    } else {
      s.text_.append(text.substr(i, len));
      for (size_t k = 0; k < len; ++k) s.align_.push_back(a);  // (a fill insert per character is slower)
    }
    i += len;
  }
  return s;
}

Align NormalizedString::original_range(size_t b, size_t e) const {
  if (text_.empty()) return {shift_, original_end_};
  if (b >= e) return {shift_ + static_cast<uint32_t>(b), shift_ + static_cast<uint32_t>(b)};
  return {align_[b].begin, align_[e - 1].end};
}

NormalizedString NormalizedString::slice(size_t b, size_t e) const {
  NormalizedString s;
  const Align r = original_range(b, e);
  s.shift_ = r.begin;
  s.original_end_ = r.end;
  s.text_ = text_.substr(b, e - b);
  s.align_.assign(align_.begin() + static_cast<long>(b), align_.begin() + static_cast<long>(e));
  return s;
}

NormalizedString::Rewriter::Rewriter(NormalizedString& s) : src_(s) {
  out_.reserve(s.text_.size() + 8);
  align_.reserve(s.text_.size() + 8);
}

char32_t NormalizedString::Rewriter::peek(size_t* len) const { return decode_utf8(src_.text_, pos_, len); }

void NormalizedString::Rewriter::emit(std::string_view bytes, Align a) {
  out_.append(bytes);
  align_.insert(align_.end(), bytes.size(), a);
}

void NormalizedString::Rewriter::keep_char() {
  size_t len;
  peek(&len);
  keep_bytes(len);
}

void NormalizedString::Rewriter::keep_bytes(size_t n) {
  out_.append(src_.text_, pos_, n);
  align_.insert(align_.end(), src_.align_.begin() + static_cast<long>(pos_),
                src_.align_.begin() + static_cast<long>(pos_ + n));
  pos_ += n;
}

void NormalizedString::Rewriter::skip_bytes(size_t n) { pos_ += n; }

void NormalizedString::Rewriter::skip_char() {
  size_t len;
  peek(&len);
  pos_ += len;
}

void NormalizedString::Rewriter::replace_char(char32_t c) {
  std::string u;
  append_utf8(u, c);
  replace_char(u);
}

void NormalizedString::Rewriter::replace_char(std::string_view utf8_char) {
  if (done()) {  // nothing left to replace: an insertion
    const Align a = pos_ < 1 ? Align{src_.shift_, src_.shift_} : src_.align_[pos_ - 1];
    emit(utf8_char, a);
    return;
  }
  const Align a = src_.align_[pos_];
  skip_char();
  emit(utf8_char, a);
}

void NormalizedString::Rewriter::insert(char32_t c) {
  const Align a = pos_ < 1 ? Align{src_.shift_, src_.shift_} : src_.align_[pos_ - 1];
  std::string u;
  append_utf8(u, c);
  emit(u, a);
}

void NormalizedString::Rewriter::finish() {
  if (pos_ < src_.text_.size()) keep_bytes(src_.text_.size() - pos_);
  src_.text_ = std::move(out_);
  src_.align_ = std::move(align_);
}

void NormalizedString::transform(const std::vector<std::pair<char32_t, int>>& dest, size_t initial_skip) {
  Rewriter r(*this);
  for (size_t i = 0; i < initial_skip && !r.done(); ++i) r.skip_char();
  for (const auto& [c, change] : dest) {
    if (change > 0) {
      r.insert(c);
    } else {
      r.replace_char(c);
      for (int k = 0; k < -change && !r.done(); ++k) r.skip_char();
    }
  }
  r.skip_bytes(text_.size() - r.pos());  // a transform replaces the whole string
  r.finish();
}

void NormalizedString::prepend(std::string_view s) {
  if (text_.empty() || s.empty()) return;
  Rewriter r(*this);
  size_t len;
  const char32_t next = r.peek(&len);
  bool first = true;
  for (size_t i = 0; i < s.size();) {
    size_t l;
    const char32_t c = decode_utf8(s, i, &l);
    if (first) r.replace_char(c);
    else r.insert(c);
    first = false;
    i += l;
  }
  r.insert(next);
  r.finish();
}

void NormalizedString::lstrip_rstrip(bool left, bool right) {
  size_t lead_end = 0, trail_begin = text_.size();
  if (left) {
    while (lead_end < text_.size()) {
      size_t len;
      if (!is_whitespace(decode_utf8(text_, lead_end, &len))) break;
      lead_end += len;
    }
  }
  if (right) {
    while (trail_begin > lead_end) {
      size_t b = trail_begin - 1;
      while (b > lead_end && (static_cast<unsigned char>(text_[b]) & 0xC0) == 0x80) --b;
      size_t len;
      if (!is_whitespace(decode_utf8(text_, b, &len))) break;
      trail_begin = b;
    }
  }
  if (lead_end == 0 && trail_begin == text_.size()) return;
  Rewriter r(*this);
  r.skip_bytes(lead_end);
  r.keep_bytes(trail_begin - lead_end);
  r.skip_bytes(text_.size() - trail_begin);
  r.finish();
}

void NormalizedString::lowercase() {
  Rewriter r(*this);
  std::string low;
  while (!r.done()) {
    size_t len;
    const char32_t c = r.peek(&len);
    low.clear();
    append_lowercase(low, c);
    if (low.size() == len && low == std::string_view(text_).substr(r.pos(), len)) {
      r.keep_bytes(len);
      continue;
    }
    bool first = true;
    for (size_t i = 0; i < low.size();) {
      size_t l;
      const char32_t lc = decode_utf8(low, i, &l);
      if (first) r.replace_char(lc);
      else r.insert(lc);
      first = false;
      i += l;
    }
  }
  r.finish();
}

void NormalizedString::replace_ranges(const std::vector<std::pair<size_t, size_t>>& matches,
                                      std::string_view content) {
  if (matches.empty()) return;
  Rewriter r(*this);
  for (const auto& [b, e] : matches) {
    r.keep_bytes(b - r.pos());
    r.skip_bytes(e - b);
    for (size_t i = 0; i < content.size();) {
      size_t l;
      r.insert(decode_utf8(content, i, &l));
      i += l;
    }
  }
  r.finish();
}

Matches range_matches(std::string_view text, const std::vector<std::pair<size_t, size_t>>& ranges) {
  Matches m;
  if (text.empty()) {
    m.push_back({{0, 0}, false});
    return m;
  }
  size_t prev = 0;
  for (const auto& [b, e] : ranges) {
    if (prev != b) m.push_back({{prev, b}, false});
    m.push_back({{b, e}, true});
    prev = e;
  }
  if (prev != text.size()) m.push_back({{prev, text.size()}, false});
  return m;
}

void split_by(const NormalizedString& s, Matches matches, SplitBehavior behavior,
              std::vector<NormalizedString>& out) {
  // (range, remove)
  std::vector<std::pair<std::pair<size_t, size_t>, bool>> splits;
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (auto& [r, m] : matches) splits.push_back({r, false});
      break;
    case SplitBehavior::Removed:
      splits = std::move(matches);
      break;
    case SplitBehavior::Contiguous: {
      bool prev = false;
      for (auto& [r, m] : matches) {
        if (m == prev && !splits.empty()) splits.back().first.second = r.second;
        else splits.push_back({r, false});
        prev = m;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool prev = false;
      for (auto& [r, m] : matches) {
        if (m && !prev && !splits.empty()) splits.back().first.second = r.second;
        else splits.push_back({r, false});
        prev = m;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool prev = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        const auto& [r, m] = *it;
        if (m && !prev && !splits.empty()) splits.back().first.first = r.first;
        else splits.push_back({r, false});
        prev = m;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  for (const auto& [r, remove] : splits)
    if (!remove) out.push_back(s.slice(r.first, r.second));
}

}  // namespace fw::data::hf
