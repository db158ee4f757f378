// Whether an assistant message leaves a trainer nothing to learn (SFT and preference
// records skip such examples and count them).
#pragma once

#include <string>

#include "data/chat/reasoning_keys.h"
#include "data/chat_template.h"

namespace fw::data {

// Blank content and neither tool calls nor reasoning (reasoning_content, thinking or
// reasoning): an assistant turn that only calls tools, or only reasons, is a reply to learn.
inline bool is_empty_reply(const Message& m) {
  if (m.role != "assistant" || m.content.find_first_not_of(" \t\r\n") != std::string::npos) return false;
  const bool calls = m.raw.is_object() && m.raw.contains("tool_calls") && m.raw["tool_calls"].is_array() &&
                     !m.raw["tool_calls"].empty();
  bool reasoning = false;  // under any of the names apply_chat_template aliases (jinja_chat.cpp)
  for (std::string_view key : kReasoningKeys) {
    const auto it = m.raw.is_object() ? m.raw.find(key) : m.raw.end();
    reasoning = reasoning || (it != m.raw.end() && it->is_string() && !it->get<std::string>().empty());
  }
  return !calls && !reasoning;
}

}  // namespace fw::data
