#include "data/chat/chat_spans.h"

#include <algorithm>

#include "core/error.h"
#include "core/strings.h"

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

// The end token at `pos` after white space: the position just past it, or npos.
size_t end_token_after(std::string_view text, size_t pos, const std::vector<std::string>& end_tokens) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  for (const auto& tok : end_tokens)
    if (!tok.empty() && text.substr(pos, tok.size()) == tok) return pos + tok.size();
  return std::string_view::npos;
}

// The first end token anywhere from `pos` on: the position just past it, or npos.
size_t next_end_token(std::string_view text, size_t pos, const std::vector<std::string>& end_tokens) {
  size_t best = std::string_view::npos, best_end = std::string_view::npos;
  for (const auto& tok : end_tokens) {
    if (tok.empty()) continue;
    const size_t at = text.find(tok, pos);
    if (at < best) best = at, best_end = at + tok.size();
  }
  return best_end;
}

// Where `needle` occurs after `from`: the first occurrence that an end token follows, else
// the first one; npos if none.
size_t find_reply(std::string_view text, std::string_view needle, size_t from, const std::vector<std::string>& end_tokens) {
  const size_t first = text.find(needle, from);
  for (size_t at = first; at != std::string_view::npos; at = text.find(needle, at + 1))
    if (end_token_after(text, at + needle.size(), end_tokens) != std::string_view::npos) return at;
  return first;
}

}  // namespace

std::vector<ReplySpan> assistant_spans(std::string_view text, const nlohmann::ordered_json& messages,
                                       const std::vector<std::string>& end_tokens) {
  std::vector<ReplySpan> spans;
  size_t cursor = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object()) continue;
    const std::string role = m.value("role", "");
    if (role == "user" || role == "tool") {
      // A reply follows the turns before it: a short reply ("4") must not be found in an
      // earlier turn or in a header the template writes ("Today Date: 26 Jul 2024").
      const std::string content = python_strip(field_text(m, "content"));
      if (!content.empty()) {
        const size_t at = text.find(content, cursor);
        if (at != std::string_view::npos) cursor = at + content.size();
      }
      continue;
    }
    if (role != "assistant") continue;
    const std::string key = "messages[" + std::to_string(i) + "]";
    // The content as the template shows it: whole, or — a template that splits off inline
    // reasoning (Qwen3) — what follows the last "</think>".
    std::string content = python_strip(field_text(m, "content"));
    if (const size_t think = content.rfind("</think>");
        think != std::string::npos && text.find(content, cursor) == std::string_view::npos)
      content = python_strip(content.substr(think + 8));
    const std::string reasoning = python_strip(field_text(m, "reasoning_content"));
    const bool tool_calls = m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty();
    size_t begin = std::string_view::npos, end = cursor;
    const size_t content_at = content.empty() ? std::string_view::npos : find_reply(text, content, cursor, end_tokens);
    if (!content.empty() && (content_at != std::string_view::npos || !tool_calls)) {
      const size_t at = content_at;
      if (at == std::string_view::npos)
        throw_invalid("the rendered conversation does not contain this message's content (the template rewrites "
                      "it); a template with {% generation %} blocks marks replies exactly",
                      {.key = key});
      begin = at;
      end = at + content.size();
      if (!reasoning.empty()) {  // before the content, when the template shows it
        const size_t r = text.substr(0, begin).rfind(reasoning);
        if (r != std::string_view::npos && r >= cursor) begin = r;
      }
    } else if (!reasoning.empty() && text.find(reasoning, cursor) != std::string_view::npos) {
      begin = text.find(reasoning, cursor);
      end = begin + reasoning.size();
    }
    bool ended = false;  // the span already takes the token that ends the turn
    if (tool_calls) {
      if (begin == std::string_view::npos) {  // no content: from the first function's name
        const auto& call = m["tool_calls"][0];
        const auto& fn = call.contains("function") ? call["function"] : call;
        const std::string name = fn.is_object() ? fn.value("name", "") : "";
        const size_t at = name.empty() ? std::string_view::npos : text.find(name, cursor);
        if (at == std::string_view::npos) continue;  // the template shows nothing of this turn
        begin = end = at;
      }
      const size_t stop = next_end_token(text, end, end_tokens);
      if (stop != std::string_view::npos) end = stop, ended = true;
    }
    if (begin == std::string_view::npos) continue;
    // A reply the template sets off with spaces ("[/INST] {reply}") starts with them: a
    // sentencepiece-style "▁Hello" token then lies inside the reply.
    while (begin > cursor && text[begin - 1] == ' ') --begin;
    if (const size_t after = end_token_after(text, end, end_tokens); !ended && after != std::string_view::npos)
      end = after;
    spans.push_back({static_cast<int>(i), {begin, end}});
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
    while (s < spans.size() && spans[s].second <= b) ++s;  // offsets ascend
    if (s >= spans.size() || spans[s].first > b) continue;
    if (e <= spans[s].second && (e > b || b < spans[s].second)) mask[t] = 1;
  }
  return mask;
}

}  // namespace fw::data
