#include "config/schema.h"

#include "core/error.h"
#include "core/strings.h"

namespace fw::config {

namespace detail {

void missing_error(const Origin& where, const std::string& path) {
  fail(where, path, "required key is missing");
}

void constraint_error(const Node& node, const std::string& path, std::string message) {
  fail(node.origin, path, std::move(message));
}

void one_of_error(const Node& node, const std::string& path, const std::string& got,
                  const std::vector<std::string_view>& allowed) {
  std::vector<std::string> names(allowed.begin(), allowed.end());
  std::string list;
  for (const auto& a : names) list += (list.empty() ? "'" : ", '") + a + "'";
  std::string near = closest_match(got, names);
  fail(node.origin, path, "must be one of " + list + "; got '" + got + "'",
       near.empty() ? "" : "did you mean '" + near + "'?");
}

}  // namespace detail

Binder::Binder(const Node& map, std::string path, Origin where)
    : map_(map), path_(std::move(path)), where_(std::move(where)) {}

const Entry* Binder::lookup(std::string_view key) {
  known_.emplace_back(key);
  for (const auto& e : map_.entries)
    if (e.key == key) return &e;
  return nullptr;
}

// `key` may be a dotted path into sections ("eval.anchor.model"), for a rule across two
// sections checked where both are bound; the error points at the deepest node present.
void Binder::check(bool ok, std::string_view key, const std::string& message) const {
  if (ok) return;
  const Origin* at = &where_;
  const Node* map = &map_;
  for (std::string_view rest = key; map && !rest.empty();) {
    const size_t dot = rest.find('.');
    const std::string_view part = rest.substr(0, dot);
    const Node* next = nullptr;
    for (const auto& e : map->entries)
      if (e.key == part) {
        at = &e.value.origin;
        next = &e.value;
      }
    if (!next || dot == std::string_view::npos) break;
    map = next->is_map() ? next : nullptr;
    rest.remove_prefix(dot + 1);
  }
  detail::fail(*at, detail::child_path(path_, key), message);
}

void Binder::finish() const {
  for (const auto& e : map_.entries) {
    bool known = false;
    for (const auto& k : known_) known = known || k == e.key;
    if (known) continue;
    std::string near = closest_match(e.key, known_);
    detail::fail(e.key_origin, detail::child_path(path_, e.key), "unknown key",
                 near.empty() ? "" : "did you mean '" + detail::child_path(path_, near) + "'?");
  }
}

}  // namespace fw::config
