// Enumerations with names: a recipe names the choice ("cosine", "skip"), the code holds
// an enum. An enum E gets its names by a function found by argument-dependent lookup,
// beside the enum:
//
//   enum class OnNan { Stop, Skip };
//   constexpr std::array<EnumName<OnNan>, 2> enum_names(OnNan) {
//     return {{{OnNan::Stop, "stop"}, {OnNan::Skip, "skip"}}};
//   }
//
// config/ then binds such a field from its name, refuses any other name with the key's
// path and the names allowed, and dumps it as its name (config/schema.h); names that come
// from elsewhere (a CLI flag, a file) go through enum_from_name_or_throw.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/strings.h"

namespace fw {

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  { enum_names(e) };
};

template <NamedEnum E>
std::string_view name_of(E value) {
  for (const auto& n : enum_names(E{}))
    if (n.value == value) return n.name;
  return "?";
}

template <NamedEnum E>
std::optional<E> enum_from_name(std::string_view name) {
  for (const auto& n : enum_names(E{}))
    if (n.name == name) return n.value;
  return std::nullopt;
}

template <NamedEnum E>
std::vector<std::string_view> names_of() {
  std::vector<std::string_view> out;
  for (const auto& n : enum_names(E{})) out.push_back(n.name);
  return out;
}

// The enum named `name`; otherwise an fw::Error (InvalidInput) at `key` that lists the
// names, with the closest one as a hint.
template <NamedEnum E>
E enum_from_name_or_throw(std::string_view name, const std::string& key) {
  if (const auto value = enum_from_name<E>(name)) return *value;
  std::vector<std::string> names;
  for (std::string_view n : names_of<E>()) names.emplace_back(n);
  const std::string near = closest_match(name, names);
  throw_invalid("unknown " + key + " '" + std::string(name) + "' (expected " + join(names, ", ") + ")",
                {.key = key, .hint = near.empty() ? std::string() : "did you mean '" + near + "'?"});
}

}  // namespace fw
