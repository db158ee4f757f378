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

void Binder::check(bool ok, std::string_view key, const std::string& message) const {
  if (ok) return;
  for (const auto& e : map_.entries)
    if (e.key == key) detail::fail(e.value.origin, detail::child_path(path_, key), message);
  detail::fail(where_, detail::child_path(path_, key), message);
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
