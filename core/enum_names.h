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
// path and the names allowed, and dumps it as its name (config/schema.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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

}  // namespace fw
