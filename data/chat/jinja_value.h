// The values a Jinja template computes with, with Python's semantics: chat templates are
// written against jinja2, so str() of a value, equality, truthiness, arithmetic and the
// iteration order of a dict (insertion) must be Python's for the output to be byte-equal.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace fw::data::jinja {

// A mistake found while evaluating; the evaluator adds the template's name and line.
struct EvalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

struct Value;
struct Dict;
struct CallArgs;
using List = std::vector<Value>;
using Function = std::function<Value(CallArgs&)>;

struct Value {
  Kind kind = Kind::Undefined;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string str;  // String; for Undefined, the name that was looked up (for messages)
  std::shared_ptr<List> list;
  bool tuple = false;            // a List that Python would hold as a tuple (repr differs)
  std::shared_ptr<Dict> dict;    // Dict and Namespace (a namespace's attributes)
  std::shared_ptr<Function> fn;  // Callable

  static Value undefined(std::string name = {});
  static Value none();
  static Value from(bool b);
  static Value from(int64_t i);
  static Value from(double d);
  static Value from(std::string s);
  static Value from(List items, bool tuple = false);
  static Value from(Dict d);
  static Value make_namespace(Dict d);
  static Value callable(Function f);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_list() const { return kind == Kind::List; }
  bool is_dict() const { return kind == Kind::Dict; }
  bool is_number() const { return kind == Kind::Bool || kind == Kind::Int || kind == Kind::Float; }
  bool is_integral() const { return kind == Kind::Bool || kind == Kind::Int; }
};

// A Python dict with string keys: insertion-ordered, small (linear lookup is fine).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The argument named `name`, else positional[index], else nullptr.
  const Value* get(size_t index, std::string_view name) const;
};

// Python's bool(value); Undefined is false.
bool truthy(const Value& v);
// Python's str(value); Undefined prints as "".
std::string to_str(const Value& v);
// Python's repr(value): what str() of a list or dict shows for its items.
std::string repr(const Value& v);
// Python's ==.
bool equal(const Value& a, const Value& b);
// Python's <: numbers with numbers, strings with strings, lists element-wise.
bool less(const Value& a, const Value& b);
// Python's float(value) for numbers (bools count as 0/1).
double as_double(const Value& v);
// Python's type name, for messages ("str", "int", "NoneType", ...).
std::string type_name(const Value& v);

Value from_json(const nlohmann::ordered_json& j);

// Python's `x in container`.
bool contains(const Value& container, const Value& item);
// The items a `for` loop visits: list items, dict keys, string characters; Undefined
// visits nothing.
List iterate(const Value& v);

}  // namespace fw::data::jinja
