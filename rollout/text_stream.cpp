#include "rollout/text_stream.h"

#include <algorithm>

namespace fw::rollout {

std::string cut_at_stop(std::string text, const std::vector<std::string>& stop) {
  size_t cut = std::string::npos;
  for (const auto& s : stop)
    if (!s.empty()) cut = std::min(cut, text.find(s));
  if (cut != std::string::npos) text.resize(cut);
  return text;
}

size_t complete_utf8_prefix(const std::string& text) {
  size_t n = text.size();
  // The last lead byte within 4 bytes of the end, and whether its sequence is complete.
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t want = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (back < want) n -= back;  // cut the incomplete sequence
    break;
  }
  // A byte-fallback decoder may stand in one U+FFFD per byte of an unfinished character.
  static const std::string kReplacement = "\xEF\xBF\xBD";
  while (n >= 3 && text.compare(n - 3, 3, kReplacement) == 0) n -= 3;
  return n;
}

std::string TextStream::advance_to(const std::string& safe) {
  // Decoding is prefix-stable in practice; should a later token rewrite text already sent,
  // wait (finish() settles it).
  if (safe.size() <= sent_.size() || safe.compare(0, sent_.size(), sent_) != 0) return "";
  std::string delta = safe.substr(sent_.size());
  sent_ = safe;
  return delta;
}

std::string TextStream::push(const std::string& text) {
  std::string safe = cut_at_stop(text, stop_);
  if (safe.size() == text.size()) {
    // Hold back the longest tail that could grow into a stop string.
    size_t hold = 0;
    for (const auto& s : stop_)
      for (size_t k = std::min(s.size() - 1, safe.size()); k > hold; --k)
        if (safe.compare(safe.size() - k, k, s, 0, k) == 0) {
          hold = k;
          break;
        }
    safe.resize(safe.size() - hold);
  }
  safe.resize(complete_utf8_prefix(safe));
  return advance_to(safe);
}

std::string TextStream::finish(const std::string& final_text) {
  if (final_text.compare(0, sent_.size(), sent_) != 0) return "";  // cannot unsend; see advance_to
  std::string rest = final_text.substr(sent_.size());
  sent_ = final_text;
  return rest;
}

}  // namespace fw::rollout
