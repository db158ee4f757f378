// Schema binding: a recipe struct lists its fields once, in a `visit` member template, and
// gets parsing (with type, range and unknown-key checks) and dumping from it.
//
//   struct OptimConfig {
//     double lr = 1e-5;                  // peak learning rate
//     int warmup_steps = 0;              // linear warm-up length, in optimizer steps
//     std::string schedule = "cosine";   // learning-rate schedule after warm-up
//     template <class V> void visit(V& v) {
//       v.field("lr", lr, "peak learning rate").range(0.0, 1.0);
//       v.field("warmup_steps", warmup_steps).min(0);
//       v.field("schedule", schedule).one_of({"constant", "linear", "cosine"});
//     }
//   };
//
// Field types: bool, integers, float/double, std::string, enums with names (core/enum_names.h:
// bound from a name, any other name refused with the names allowed), std::optional<T>, std::vector<T>,
// std::map<std::string, T> (free-form keys), nlohmann::ordered_json (a free-form value, typed
// as YAML's core schema reads it) and nested structs with a `visit` (sections),
// in any combination (std::vector<Competitor> gives key paths like `competitors[1].name`).
// Constraints chain after field(): required(), min(), max(), range(), one_of(),
// non_empty(); they apply to each element of a list and to an optional that is set.
// Cross-field rules go in visit too: v.check(warmup <= steps, "warmup", "must not exceed steps").
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/scalars.h"
#include "core/enum_names.h"
#include "config/tree.h"

namespace fw::config {

namespace detail {

struct AnyVisitor;  // only named in the Section concept

template <class T>
struct is_optional : std::false_type {};
template <class U>
struct is_optional<std::optional<U>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class U, class A>
struct is_vector<std::vector<U, A>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class U, class C, class A>
struct is_string_map<std::map<std::string, U, C, A>> : std::true_type {};

// The type constraints act on: optional<vector<int>> -> int.
template <class T>
struct element {
  using type = T;
};
template <class U>
struct element<std::optional<U>> : element<U> {};
template <class U, class A>
struct element<std::vector<U, A>> : element<U> {};
template <class T>
using element_t = typename element<T>::type;

template <class T>
inline constexpr bool always_false = false;

}  // namespace detail

// A struct with a `template <class V> void visit(V&)` member.
template <class T>
concept Section = std::is_class_v<T> && requires(T& t, detail::AnyVisitor& v) {
  t.visit(v);
};

namespace detail {

[[noreturn]] void missing_error(const Origin& where, const std::string& path);
[[noreturn]] void constraint_error(const Node& node, const std::string& path, std::string message);
[[noreturn]] void one_of_error(const Node& node, const std::string& path, const std::string& got,
                               const std::vector<std::string_view>& allowed);

template <class E>
std::string show(const E& v) {
  if constexpr (std::is_same_v<E, float>)
    return format_float(v);
  else if constexpr (std::is_floating_point_v<E>)
    return format_double(static_cast<double>(v));
  else
    return std::to_string(v);
}

// Calls f(element, its node, its key path) for every scalar under `v`: the value of a set
// optional, each item of a list. `n` is the node `v` was bound from.
template <class T, class F>
void each(T& v, const Node& n, const std::string& path, F&& f) {
  if constexpr (is_optional<T>::value) {
    if (v) each(*v, n, path, f);
  } else if constexpr (is_vector<T>::value) {
    for (size_t i = 0; i < v.size(); ++i)
      each(v[i], i < n.items.size() ? n.items[i] : n, item_path(path, i), f);
  } else {
    f(v, n, path);
  }
}

}  // namespace detail

// What field() returns: constraint checks on the value just bound. They run at once, only
// for keys present in the input (defaults are the programmer's and are not re-checked),
// and do nothing while dumping.
template <class T>
class FieldCheck {
 public:
  using E = detail::element_t<T>;

  FieldCheck(T& value, const Node* node, std::string path, const Origin* where, bool active)
      : value_(value), node_(node), path_(std::move(path)), where_(where), active_(active) {}

  // The key must be present in the input (or set by an override).
  FieldCheck& required() {
    if (active_ && !node_) detail::missing_error(*where_, path_);
    return *this;
  }

  FieldCheck& min(E lo) requires std::is_arithmetic_v<E> {
    for_each([&](const E& v, const Node& n, const std::string& p) {
      if (!(v >= lo))
        detail::constraint_error(n, p,
                                 "must be >= " + detail::show(lo) + ", got " + detail::show(v));
    });
    return *this;
  }

  FieldCheck& max(E hi) requires std::is_arithmetic_v<E> {
    for_each([&](const E& v, const Node& n, const std::string& p) {
      if (!(v <= hi))
        detail::constraint_error(n, p,
                                 "must be <= " + detail::show(hi) + ", got " + detail::show(v));
    });
    return *this;
  }

  // Inclusive on both ends; NaN is always out of range.
  FieldCheck& range(E lo, E hi) requires std::is_arithmetic_v<E> {
    for_each([&](const E& v, const Node& n, const std::string& p) {
      if (!(v >= lo && v <= hi))
        detail::constraint_error(n, p,
                                 "must be in [" + detail::show(lo) + ", " + detail::show(hi) +
                                     "], got " + detail::show(v));
    });
    return *this;
  }

  FieldCheck& one_of(
      std::initializer_list<std::string_view> allowed) requires std::is_same_v<E, std::string> {
    return one_of(std::vector<std::string_view>(allowed));
  }

  FieldCheck& one_of(
      const std::vector<std::string_view>& allowed) requires std::is_same_v<E, std::string> {
    for_each([&](const std::string& v, const Node& n, const std::string& p) {
      for (auto a : allowed)
        if (v == a) return;
      detail::one_of_error(n, p, v, allowed);
    });
    return *this;
  }

  // A string, list or map that must have at least one element (when present).
  FieldCheck& non_empty() {
    if (!active_ || !node_) return *this;
    if constexpr (detail::is_optional<T>::value) {
      if (value_ && value_->empty()) detail::constraint_error(*node_, path_, "must not be empty");
    } else {
      if (value_.empty()) detail::constraint_error(*node_, path_, "must not be empty");
    }
    return *this;
  }

 private:
  template <class F>
  void for_each(F&& f) {
    if (active_ && node_) detail::each(value_, *node_, path_, f);
  }

  T& value_;
  const Node* node_;  // where the value came from; nullptr if the key was absent
  std::string path_;
  const Origin* where_;  // the enclosing section, for "missing" errors
  bool active_;          // false while dumping
};

namespace detail {
template <class T>
void bind_value(const Node& n, const std::string& path, const Origin& where, T& out);
template <class T>
Node to_node(const T& v);
}  // namespace detail

// The visitor that parses: reads one map node into one struct.
class Binder {
 public:
  // `map` must be a Map or Null node (Null: every key absent). `where` locates errors about
  // missing keys: the section's key, or the file itself at the top level.
  Binder(const Node& map, std::string path, Origin where);

  template <class T>
  FieldCheck<T> field(std::string_view key, T& value, std::string_view doc = {}) {
    const Entry* e = lookup(key);
    std::string path = detail::child_path(path_, key);
    if (e) {
      detail::bind_value(e->value, path, e->key_origin, value);
    } else if constexpr (Section<T>) {
      // An absent section still binds, so the keys it requires are reported.
      static const Node kEmpty;
      detail::bind_value(kEmpty, path, where_, value);
    }
    return FieldCheck<T>(value, e ? &e->value : nullptr, std::move(path), &where_, true);
  }

  // The same as field(); reads better for nested structs.
  template <Section T>
  FieldCheck<T> section(std::string_view key, T& value, std::string_view doc = {}) {
    return field(key, value, doc);
  }

  // A rule across fields. Fails at `key` (its line if present) with `message`.
  void check(bool ok, std::string_view key, const std::string& message) const;

  // Throws for the first key in the map that no field() or section() named.
  void finish() const;

 private:
  const Entry* lookup(std::string_view key);

  const Node& map_;
  std::string path_;
  Origin where_;
  std::vector<std::string> known_;
};

// The visitor that dumps: appends one entry per field to a map node.
class Dumper {
 public:
  explicit Dumper(Node& map) : map_(map) { map_.kind = Node::Kind::Map; }

  template <class T>
  FieldCheck<T> field(std::string_view key, T& value, std::string_view doc = {}) {
    Node n = detail::to_node(value);
    n.comment = std::string(doc);
    map_.entries.push_back({std::string(key), {}, std::move(n)});
    return FieldCheck<T>(value, nullptr, "", nullptr, false);
  }

  template <Section T>
  FieldCheck<T> section(std::string_view key, T& value, std::string_view doc = {}) {
    return field(key, value, doc);
  }

  void check(bool, std::string_view, const std::string&) const {}

 private:
  Node& map_;
};

namespace detail {

template <class T>
void bind_value(const Node& n, const std::string& path, const Origin& where, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    out = decode_bool(n, path);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    out = static_cast<T>(
        decode_int(n, path, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  } else if constexpr (std::is_integral_v<T>) {
    out = static_cast<T>(decode_uint(n, path, std::numeric_limits<T>::max()));
  } else if constexpr (std::is_floating_point_v<T>) {
    out = static_cast<T>(decode_double(n, path));
  } else if constexpr (std::is_same_v<T, std::string>) {
    out = decode_string(n, path);
  } else if constexpr (std::is_same_v<T, nlohmann::ordered_json>) {
    out = decode_json(n, path);
  } else if constexpr (NamedEnum<T>) {
    const std::string name = decode_string(n, path);
    const auto value = enum_from_name<T>(name);
    if (!value) one_of_error(n, path, name, names_of<T>());
    out = *value;
  } else if constexpr (is_optional<T>::value) {
    if (n.is_null()) {
      out.reset();
    } else {
      // Start from the current value, so a section keeps the defaults of omitted keys.
      typename T::value_type v = out ? *out : typename T::value_type{};
      bind_value(n, path, where, v);
      out = std::move(v);
    }
  } else if constexpr (is_vector<T>::value) {
    // An empty value (`data:` and nothing) is an empty list.
    if (!n.is_list() && !n.is_null()) type_error(n, path, "a list");
    out.clear();
    for (size_t i = 0; i < n.items.size(); ++i) {
      typename T::value_type v{};
      bind_value(n.items[i], item_path(path, i), n.items[i].origin, v);
      out.push_back(std::move(v));
    }
  } else if constexpr (is_string_map<T>::value) {
    if (!n.is_map() && !n.is_null()) type_error(n, path, "a map of key: value");
    out.clear();
    for (const auto& e : n.entries) {
      typename T::mapped_type v{};
      bind_value(e.value, child_path(path, e.key), e.key_origin, v);
      out.emplace(e.key, std::move(v));
    }
  } else if constexpr (Section<T>) {
    if (!n.is_map() && !n.is_null()) type_error(n, path, "a section (a map of key: value)");
    Binder b(n, path, where);
    out.visit(b);
    b.finish();
  } else {
    static_assert(always_false<T>, "unsupported config field type");
  }
}

template <class T>
Node to_node(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return encode_bool(v);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return encode_int(v);
  } else if constexpr (std::is_integral_v<T>) {
    return encode_uint(v);
  } else if constexpr (std::is_same_v<T, float>) {
    return encode_float(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return encode_double(static_cast<double>(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    return encode_string(v);
  } else if constexpr (std::is_same_v<T, nlohmann::ordered_json>) {
    return encode_json(v);
  } else if constexpr (NamedEnum<T>) {
    return encode_string(std::string(name_of(v)));
  } else if constexpr (is_optional<T>::value) {
    return v ? to_node(*v) : Node{};
  } else if constexpr (is_vector<T>::value) {
    Node n;
    n.kind = Node::Kind::List;
    for (const auto& item : v)
      n.items.push_back(to_node(static_cast<const typename T::value_type&>(item)));
    return n;
  } else if constexpr (is_string_map<T>::value) {
    Node n;
    n.kind = Node::Kind::Map;
    for (const auto& [key, value] : v) n.entries.push_back({key, {}, to_node(value)});
    return n;
  } else if constexpr (Section<T>) {
    Node n;
    Dumper d(n);
    // visit is one non-const member template for both directions; the Dumper only reads.
    const_cast<T&>(v).visit(d);
    return n;
  } else {
    static_assert(always_false<T>, "unsupported config field type");
  }
}

}  // namespace detail

// Binds a whole tree (the document root) into a struct. (Not named bind: ADL on the
// std::string argument would find std::bind.) `source` names the input for
// errors about keys missing at the top level.
template <Section T>
void bind_tree(const Node& root, const std::string& source, T& out) {
  detail::bind_value(root, "", Origin{source, 0, 0, ""}, out);
}

template <Section T>
Node to_tree(const T& value) {
  return detail::to_node(value);
}

}  // namespace fw::config
