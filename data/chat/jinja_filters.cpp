// jinja2's built-in filters and tests that chat templates use, with transformers' tojson.
#include <algorithm>
#include <cmath>

#include "data/chat/jinja_eval.h"
#include "data/chat/jinja_pystr.h"

namespace fw::data::jinja {

namespace {

std::optional<std::string> opt_str(const Value* v) {
  if (!v || v->is_none()) return std::nullopt;
  return to_str(*v);
}

int64_t int_arg(const Value* v, int64_t dflt) { return v && v->is_integral() ? (v->kind == Kind::Bool ? v->boolean : v->integer) : dflt; }
bool bool_arg(const Value* v, bool dflt) { return v ? truthy(*v) : dflt; }

int64_t length(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return 0;
    case Kind::String: return static_cast<int64_t>(py::code_point_count(v.str));
    case Kind::List: return static_cast<int64_t>(v.list->size());
    case Kind::Dict:
    case Kind::Namespace: return static_cast<int64_t>(v.dict->items.size());
    default: throw EvalError("object of type '" + type_name(v) + "' has no len()");
  }
}

// select/reject/selectattr/rejectattr: keep the items whose test (truthiness if none is
// named) is `want`.
Value select(Renderer& r, const Value& seq, CallArgs& args, bool by_attribute, bool want) {
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty()) throw EvalError("missing parameter for attribute name");
    attribute = to_str(args.positional[next++]);
  }
  std::string test;
  if (next < args.positional.size()) test = to_str(args.positional[next++]);
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<long>(next), args.positional.end());
  List out;
  for (const Value& item : iterate(seq)) {
    r.count_iterations();
    const Value subject = by_attribute ? get_attribute(item, attribute) : item;
    const bool pass = test.empty() ? truthy(subject) : apply_test(r, test, subject, test_args);
    if (pass == want) out.push_back(item);
  }
  return Value::from(std::move(out));
}

Value map(Renderer& r, const Value& seq, CallArgs& args) {
  List out;
  if (const Value* attribute = args.get(99, "attribute")) {
    const Value* dflt = args.get(99, "default");
    for (const Value& item : iterate(seq)) {
      r.count_iterations();
      Value v = get_attribute(item, to_str(*attribute));
      out.push_back(v.is_undefined() && dflt ? *dflt : v);
    }
    return Value::from(std::move(out));
  }
  if (args.positional.empty()) throw EvalError("map needs a filter name or attribute=");
  const std::string filter = to_str(args.positional[0]);
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : iterate(seq)) {
    r.count_iterations();
    CallArgs copy = rest;
    out.push_back(apply_filter(r, filter, item, copy));
  }
  return Value::from(std::move(out));
}

// jinja2's indent: every line but the first (unless first=true) gets `width` spaces;
// blank lines only if blank=true.
std::string indent(const std::string& s, const Value* width, bool first, bool blank) {
  const std::string pad = width && width->is_string() ? width->str : std::string(static_cast<size_t>(int_arg(width, 4)), ' ');
  std::vector<std::string> lines = py::splitlines(s + "\n");
  std::string rv;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (k > 0) rv += "\n";
    rv += (k > 0 && (blank || !lines[k].empty()) ? pad : "") + lines[k];
  }
  return first ? pad + rv : rv;
}

Value to_int(const Value& v, const Value* dflt) {
  const Value fallback = dflt ? *dflt : Value::from(int64_t{0});
  switch (v.kind) {
    case Kind::Bool:
    case Kind::Int: return Value::from(int64_t{v.kind == Kind::Bool ? v.boolean : v.integer});
    case Kind::Float: return std::isfinite(v.number) ? Value::from(static_cast<int64_t>(v.number)) : fallback;
    case Kind::String: {
      const std::string s = py::strip(v.str, std::nullopt, true, true);
      try {
        size_t used = 0;
        int64_t i = std::stoll(s, &used);
        if (used == s.size()) return Value::from(i);
        double d = std::stod(s, &used);
        if (used == s.size()) return Value::from(static_cast<int64_t>(d));
      } catch (const std::exception&) {
      }
      return fallback;
    }
    default: return fallback;
  }
}

}  // namespace

Value apply_filter(Renderer& r, const std::string& name, const Value& v, CallArgs& args) {
  if (name == "tojson") {
    const Value* indent_arg = args.get(0, "indent");
    const bool use_indent = indent_arg && !indent_arg->is_none();
    std::string item_sep = use_indent ? "," : ", ", key_sep = ": ";
    if (const Value* seps = args.get(99, "separators"); seps && seps->is_list() && seps->list->size() == 2) {
      item_sep = to_str((*seps->list)[0]);
      key_sep = to_str((*seps->list)[1]);
    }
    std::string out = to_json(v, static_cast<int>(int_arg(indent_arg, 0)), use_indent, item_sep, key_sep,
                              bool_arg(args.get(99, "sort_keys"), false));
    r.check_size(out.size());
    return Value::from(std::move(out));
  }
  if (name == "length" || name == "count") return Value::from(length(v));
  if (name == "string") return Value::from(to_str(v));
  if (name == "trim") return Value::from(py::strip(to_str(v), opt_str(args.get(0, "chars")), true, true));
  if (name == "upper") return Value::from(py::upper(to_str(v)));
  if (name == "lower") return Value::from(py::lower(to_str(v)));
  if (name == "capitalize") return Value::from(py::capitalize(to_str(v)));
  if (name == "title") return Value::from(py::title(to_str(v)));
  if (name == "safe" || name == "escape" || name == "e") return v.is_string() ? v : Value::from(to_str(v));
  if (name == "default" || name == "d") {
    const Value* dflt = args.get(0, "default_value");
    const bool boolean = bool_arg(args.get(1, "boolean"), false);
    if (v.is_undefined() || (boolean && !truthy(v))) return dflt ? *dflt : Value::from(std::string());
    return v;
  }
  if (name == "join") {
    const Value* attribute = args.get(1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(v)) {
      r.count_iterations();
      if (!first) out += to_str(args.get(0, "d") ? *args.get(0, "d") : Value::from(std::string()));
      out += to_str(attribute ? get_attribute(item, to_str(*attribute)) : item);
      r.check_size(out.size());
      first = false;
    }
    return Value::from(std::move(out));
  }
  if (name == "replace") {
    const Value* old = args.get(0, "old");
    const Value* repl = args.get(1, "new");
    if (!old || !repl) throw EvalError("replace needs the old and the new string");
    std::string out = py::replace(to_str(v), to_str(*old), to_str(*repl), int_arg(args.get(2, "count"), -1));
    r.check_size(out.size());
    return Value::from(std::move(out));
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::from(List{});
    if (!v.is_dict()) throw EvalError("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, item] : v.dict->items) out.push_back(Value::from(List{Value::from(k), item}, true));
    return Value::from(std::move(out));
  }
  if (name == "list") return Value::from(iterate(v));
  if (name == "first" || name == "last") {
    List items = iterate(v);
    if (items.empty()) return Value::undefined("No " + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (v.is_string()) return Value::from(to_str(apply_filter(r, "join", Value::from([&] { List l = iterate(v); std::reverse(l.begin(), l.end()); return l; }()), args)));
    List items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::from(std::move(items));
  }
  if (name == "selectattr" || name == "rejectattr") return select(r, v, args, true, name == "selectattr");
  if (name == "select" || name == "reject") return select(r, v, args, false, name == "select");
  if (name == "map") return map(r, v, args);
  if (name == "int") return to_int(v, args.get(0, "default"));
  if (name == "float") {
    if (v.is_number()) return Value::from(as_double(v));
    try {
      return Value::from(std::stod(to_str(v)));
    } catch (const std::exception&) {
      const Value* dflt = args.get(0, "default");
      return dflt ? *dflt : Value::from(0.0);
    }
  }
  if (name == "abs") {
    if (v.kind == Kind::Float) return Value::from(std::fabs(v.number));
    return Value::from(std::abs(to_int(v, nullptr).integer));
  }
  if (name == "indent")
    return Value::from(indent(to_str(v), args.get(0, "width"), bool_arg(args.get(1, "first"), false),
                              bool_arg(args.get(2, "blank"), false)));
  if (name == "unique") {
    List out;
    for (const Value& item : iterate(v)) {
      r.count_iterations();
      if (!contains(Value::from(out), item)) out.push_back(item);
    }
    return Value::from(std::move(out));
  }
  if (name == "sum") {
    Value total = args.get(1, "start") ? *args.get(1, "start") : Value::from(int64_t{0});
    const Value* attribute = args.get(0, "attribute");
    for (const Value& item : iterate(v)) {
      const Value x = attribute ? get_attribute(item, to_str(*attribute)) : item;
      total = total.is_integral() && x.is_integral() ? Value::from(total.integer + (x.kind == Kind::Bool ? x.boolean : x.integer))
                                                     : Value::from(as_double(total) + as_double(x));
    }
    return total;
  }
  throw EvalError("no filter named '" + name + "'");
}

bool apply_test(Renderer& r, const std::string& name, const Value& v, CallArgs& args) {
  (void)r;
  const Value* arg = args.get(0, "value");
  auto need = [&]() -> const Value& {
    if (!arg) throw EvalError("the test '" + name + "' needs an argument");
    return *arg;
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind == Kind::Bool;
  if (name == "true") return v.kind == Kind::Bool && v.boolean;
  if (name == "false") return v.kind == Kind::Bool && !v.boolean;
  if (name == "integer") return v.kind == Kind::Int;
  if (name == "float") return v.kind == Kind::Float;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "sequence") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "callable") return v.kind == Kind::Callable;
  if (name == "lower") return v.is_string() && py::lower(v.str) == v.str;
  if (name == "upper") return v.is_string() && py::upper(v.str) == v.str;
  if (name == "eq" || name == "equalto" || name == "==") return equal(v, need());
  if (name == "ne" || name == "!=") return !equal(v, need());
  if (name == "lt" || name == "lessthan" || name == "<") return less(v, need());
  if (name == "le" || name == "<=") return !less(need(), v);
  if (name == "gt" || name == "greaterthan" || name == ">") return less(need(), v);
  if (name == "ge" || name == ">=") return !less(v, need());
  if (name == "in") return contains(need(), v);
  if (name == "sameas") {
    const Value& o = need();
    if (v.kind != o.kind) return false;
    if (v.kind == Kind::List) return v.list == o.list;
    if (v.kind == Kind::Dict || v.kind == Kind::Namespace) return v.dict == o.dict;
    return equal(v, o);
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!v.is_integral()) throw EvalError("the test '" + name + "' needs an integer");
    const int64_t i = v.kind == Kind::Bool ? v.boolean : v.integer;
    if (name == "odd") return i % 2 != 0;
    if (name == "even") return i % 2 == 0;
    const int64_t d = int_arg(&need(), 0);
    if (d == 0) throw EvalError("integer division or modulo by zero");
    return i % d == 0;
  }
  if (name == "escaped") return false;
  throw EvalError("no test named '" + name + "'");
}

}  // namespace fw::data::jinja
