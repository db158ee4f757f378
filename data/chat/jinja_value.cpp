#include "data/chat/jinja_value.h"

#include "data/chat/jinja_pystr.h"

namespace fw::data::jinja {

Value Value::undefined(std::string name) {
  Value v;
  v.str = std::move(name);
  return v;
}

Value Value::none() {
  Value v;
  v.kind = Kind::None;
  return v;
}

Value Value::from(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.boolean = b;
  return v;
}

Value Value::from(int64_t i) {
  Value v;
  v.kind = Kind::Int;
  v.integer = i;
  return v;
}

Value Value::from(double d) {
  Value v;
  v.kind = Kind::Float;
  v.number = d;
  return v;
}

Value Value::from(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.str = std::move(s);
  return v;
}

Value Value::from(List items, bool tuple) {
  Value v;
  v.kind = Kind::List;
  v.list = std::make_shared<List>(std::move(items));
  v.tuple = tuple;
  return v;
}

Value Value::from(Dict d) {
  Value v;
  v.kind = Kind::Dict;
  v.dict = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::make_namespace(Dict d) {
  Value v = from(std::move(d));
  v.kind = Kind::Namespace;
  return v;
}

Value Value::callable(Function f) {
  Value v;
  v.kind = Kind::Callable;
  v.fn = std::make_shared<Function>(std::move(f));
  return v;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(const std::string& key, Value v) {
  for (auto& [k, old] : items)
    if (k == key) {
      old = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

const Value* CallArgs::get(size_t index, std::string_view name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return index < positional.size() ? &positional[index] : nullptr;
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return v.boolean;
    case Kind::Int: return v.integer != 0;
    case Kind::Float: return v.number != 0;
    case Kind::String: return !v.str.empty();
    case Kind::List: return !v.list->empty();
    case Kind::Dict: return !v.dict->items.empty();
    case Kind::Namespace:
    case Kind::Callable: return true;
  }
  return false;
}

std::string to_str(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return "";
    case Kind::String: return v.str;
    default: return repr(v);
  }
}

std::string repr(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return v.boolean ? "True" : "False";
    case Kind::Int: return std::to_string(v.integer);
    case Kind::Float: return py::float_repr(v.number);
    case Kind::String: return py::str_repr(v.str);
    case Kind::List: {
      std::string out = v.tuple ? "(" : "[";
      for (size_t i = 0; i < v.list->size(); ++i) out += (i ? ", " : "") + repr((*v.list)[i]);
      if (v.tuple && v.list->size() == 1) out += ",";
      return out + (v.tuple ? ")" : "]");
    }
    case Kind::Dict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, item] : v.dict->items) {
        out += (first ? "" : ", ") + py::str_repr(k) + ": " + repr(item);
        first = false;
      }
      return out + "}";
    }
    case Kind::Namespace: return "<Namespace>";
    case Kind::Callable: return "<function>";
  }
  return "";
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral())
      return (a.kind == Kind::Bool ? a.boolean : a.integer) == (b.kind == Kind::Bool ? b.boolean : b.integer);
    return as_double(a) == as_double(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.str == b.str;
    case Kind::List: {
      if (a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i)
        if (!equal((*a.list)[i], (*b.list)[i])) return false;
      return true;
    }
    case Kind::Dict: {
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [k, item] : a.dict->items) {
        const Value* other = b.dict->find(k);
        if (!other || !equal(item, *other)) return false;
      }
      return true;
    }
    default: return a.dict == b.dict && a.fn == b.fn;  // identity
  }
}

bool less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral())
      return (a.kind == Kind::Bool ? a.boolean : a.integer) < (b.kind == Kind::Bool ? b.boolean : b.integer);
    return as_double(a) < as_double(b);
  }
  if (a.is_string() && b.is_string()) return a.str < b.str;  // UTF-8 byte order is code point order
  if (a.is_list() && b.is_list()) {
    for (size_t i = 0; i < a.list->size() && i < b.list->size(); ++i) {
      if (!equal((*a.list)[i], (*b.list)[i])) return less((*a.list)[i], (*b.list)[i]);
    }
    return a.list->size() < b.list->size();
  }
  throw EvalError("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

double as_double(const Value& v) {
  switch (v.kind) {
    case Kind::Bool: return v.boolean ? 1 : 0;
    case Kind::Int: return static_cast<double>(v.integer);
    case Kind::Float: return v.number;
    default: throw EvalError("expected a number, got " + type_name(v));
  }
}

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return v.tuple ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Callable: return "function";
  }
  return "";
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::from(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::from(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return Value::from(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return Value::from(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::from(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return Value::from(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;  // (a JSON object's keys are distinct)
      d.items.reserve(j.size());
      for (const auto& [k, e] : j.items()) d.items.emplace_back(k, from_json(e));
      return Value::from(std::move(d));
    }
    default: return Value::none();
  }
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Kind::String:
      if (!item.is_string()) throw EvalError("'in <string>' requires string as left operand, not " + type_name(item));
      return container.str.find(item.str) != std::string::npos;
    case Kind::List:
      for (const Value& e : *container.list)
        if (equal(e, item)) return true;
      return false;
    case Kind::Dict: return item.is_string() && container.dict->find(item.str) != nullptr;
    case Kind::Undefined: return false;
    default: throw EvalError("argument of type '" + type_name(container) + "' is not iterable");
  }
}

List iterate(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return {};
    case Kind::List: return *v.list;
    case Kind::Dict: {
      List keys;
      for (const auto& [k, item] : v.dict->items) keys.push_back(Value::from(k));
      return keys;
    }
    case Kind::String: {
      List chars;
      const std::vector<size_t> off = py::code_point_offsets(v.str);
      for (size_t k = 0; k + 1 < off.size(); ++k) chars.push_back(Value::from(v.str.substr(off[k], off[k + 1] - off[k])));
      return chars;
    }
    default: throw EvalError("'" + type_name(v) + "' object is not iterable");
  }
}

}  // namespace fw::data::jinja
