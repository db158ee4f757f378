#include "data/chat/chat_spans.h"

#include <algorithm>

#include "core/error.h"

namespace fw::data {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The text of a message field: a string, or the text parts of a list ("" otherwise).
std::string field_text(const nlohmann::ordered_json& message, const char* key) {
  if (!message.contains(key)) return "";
  const auto& v = message[key];
  if (v.is_string()) return v.get<std::string>();
  std::string out;
  if (v.is_array())
    for (const auto& part : v)
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string())
        out += part["text"].get<std::string>();
  return out;
}

}  // namespace

std::vector<ByteSpan> assistant_spans(std::string_view text, const nlohmann::ordered_json& messages,
                                      const std::vector<std::string>& end_tokens) {
  std::vector<ByteSpan> spans;
  size_t cursor = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object()) continue;
    const std::string role = m.value("role", "");
    if (role == "user" || role == "tool") {
      // A reply follows the turns before it: a short reply ("4") must not be found in an
      // earlier turn or in a header the template writes ("Today Date: 26 Jul 2024").
      // System prompts are left out: templates move them (Mistral puts the system prompt
      // before the last user turn).
      const std::string content = field_text(m, "content");
      size_t a = 0, b = content.size();
      while (a < b && is_space(content[a])) ++a;
      while (b > a && is_space(content[b - 1])) --b;
      if (a < b) {
        const size_t at = text.find(std::string_view(content.data() + a, b - a), cursor);
        if (at != std::string_view::npos) cursor = at + (b - a);
      }
      continue;
    }
    if (role != "assistant") continue;
    const std::string key = "messages[" + std::to_string(i) + "]";
    size_t begin = std::string_view::npos, end = cursor;
    for (const char* field : {"reasoning_content", "content"}) {
      const std::string part = field_text(m, field);
      if (part.empty()) continue;
      // Templates strip replies ({{ content | trim }}): look for the trimmed text.
      size_t a = 0, b = part.size();
      while (a < b && is_space(part[a])) ++a;
      while (b > a && is_space(part[b - 1])) --b;
      if (a == b) continue;
      const std::string_view needle(part.data() + a, b - a);
      const size_t at = text.find(needle, end);
      if (at == std::string_view::npos)
        throw_invalid("the rendered conversation does not contain this message's " + std::string(field) +
                          " (the template rewrites it); a template with {% generation %} blocks marks replies exactly",
                      {.key = key});
      if (begin == std::string_view::npos) begin = at;
      end = at + needle.size();
    }
    if (begin == std::string_view::npos) continue;
    // A reply the template sets off with spaces ("[/INST] {reply}") starts with them: a
    // sentencepiece-style "▁Hello" token then lies inside the reply.
    while (begin > cursor && text[begin - 1] == ' ') --begin;
    // What ends the turn: the first end token after white space.
    size_t after = end;
    while (after < text.size() && is_space(text[after])) ++after;
    for (const auto& tok : end_tokens)
      if (!tok.empty() && text.substr(after, tok.size()) == tok) {
        end = after + tok.size();
        break;
      }
    spans.emplace_back(begin, end);
    cursor = end;
  }
  return spans;
}

std::vector<uint8_t> mask_from_spans(const std::vector<std::pair<uint32_t, uint32_t>>& offsets,
                                     const std::vector<ByteSpan>& spans) {
  std::vector<uint8_t> mask(offsets.size(), 0);
  size_t s = 0;
  for (size_t t = 0; t < offsets.size(); ++t) {
    const auto [b, e] = offsets[t];
    if (e <= b) continue;
    while (s < spans.size() && spans[s].second <= b) ++s;  // offsets ascend
    if (s < spans.size() && spans[s].first <= b && e <= spans[s].second) mask[t] = 1;
  }
  return mask;
}

}  // namespace fw::data
