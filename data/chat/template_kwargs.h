// A chat template's keyword arguments (a recipe's chat_template_kwargs, a request's) as one
// canonical string, keys sorted: cache keys, identities and comparisons use it, so the same
// arguments written in another order are the same arguments.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace fw::data {

// "" for none (null or an empty map), else the keys-sorted JSON text.
inline std::string canonical_kwargs(const nlohmann::ordered_json& kwargs) {
  if (!kwargs.is_object() || kwargs.empty()) return "";
  return nlohmann::json::parse(kwargs.dump()).dump();
}

}  // namespace fw::data
