// The names a message's reasoning goes by, in the order apply_chat_template looks for them
// (_alias_reasoning_fields): the first present is the reasoning.
#pragma once

#include <array>
#include <string_view>

namespace fw::data {

inline constexpr std::array<std::string_view, 3> kReasoningKeys = {"reasoning_content", "thinking", "reasoning"};

inline bool is_reasoning_key(std::string_view key) {
  for (std::string_view k : kReasoningKeys)
    if (k == key) return true;
  return false;
}

}  // namespace fw::data
