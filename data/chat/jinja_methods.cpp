// The Python methods templates call on values (str.startswith, dict.get, ...), and the
// globals transformers installs: range, namespace, dict, raise_exception, strftime_now.
// Only these are reachable: a template cannot touch anything else.
#include <ctime>

#include "data/chat/jinja_eval.h"
#include "data/chat/jinja_pystr.h"

namespace fw::data::jinja {

namespace {

const char* const kStrMethods[] = {"startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip",
                                   "replace", "upper", "lower", "title", "capitalize", "find", "count", "join",
                                   "splitlines"};
const char* const kDictMethods[] = {"get", "items", "keys", "values"};

std::optional<std::string> opt_str(const Value* v) {
  if (!v || v->is_none()) return std::nullopt;
  if (!v->is_string()) throw EvalError("expected a string argument, got " + type_name(*v));
  return v->str;
}

const Value& required(const CallArgs& args, size_t index, const char* name, const std::string& method) {
  const Value* v = args.get(index, name);
  if (!v) throw EvalError(method + "() is missing the argument '" + name + "'");
  return *v;
}

Value strings(const std::vector<std::string>& parts) {
  List out;
  for (const std::string& p : parts) out.push_back(Value::from(p));
  return Value::from(std::move(out));
}

bool affix_matches(const std::string& s, const Value& affix, bool prefix) {
  if (affix.is_list()) {
    for (const Value& a : *affix.list)
      if (affix_matches(s, a, prefix)) return true;
    return false;
  }
  if (!affix.is_string()) throw EvalError("startswith/endswith take a string or a tuple of strings");
  const std::string& a = affix.str;
  if (a.size() > s.size()) return false;
  return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
}

Value str_method(Renderer& r, const std::string& s, const std::string& name, CallArgs& args) {
  if (name == "startswith" || name == "endswith")
    return Value::from(affix_matches(s, required(args, 0, "prefix", name), name == "startswith"));
  if (name == "split" || name == "rsplit") {
    const Value* maxsplit = args.get(1, "maxsplit");
    const long n = maxsplit && maxsplit->is_integral() ? static_cast<long>(maxsplit->integer) : -1;
    const std::optional<std::string> sep = opt_str(args.get(0, "sep"));
    if (sep && sep->empty()) throw EvalError("empty separator");
    return strings(name == "split" ? py::split(s, sep, n) : py::rsplit(s, sep, n));
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return Value::from(py::strip(s, opt_str(args.get(0, "chars")), name != "rstrip", name != "lstrip"));
  if (name == "replace") {
    const Value* count = args.get(2, "count");
    std::string out = py::replace(s, to_str(required(args, 0, "old", name)), to_str(required(args, 1, "new", name)),
                                  count && count->is_integral() ? static_cast<long>(count->integer) : -1);
    r.check_size(out.size());
    return Value::from(std::move(out));
  }
  if (name == "upper") return Value::from(py::upper(s));
  if (name == "lower") return Value::from(py::lower(s));
  if (name == "title") return Value::from(py::title(s));
  if (name == "capitalize") return Value::from(py::capitalize(s));
  if (name == "splitlines") return strings(py::splitlines(s));
  if (name == "find" || name == "count") {
    const std::string sub = to_str(required(args, 0, "sub", name));
    if (name == "find") {
      const size_t p = s.find(sub);
      return Value::from(p == std::string::npos ? int64_t{-1} : static_cast<int64_t>(py::code_point_count(s.substr(0, p))));
    }
    if (sub.empty()) return Value::from(static_cast<int64_t>(py::code_point_count(s) + 1));
    int64_t n = 0;
    for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
    return Value::from(n);
  }
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const Value& item : iterate(required(args, 0, "iterable", name))) {
      if (!item.is_string()) throw EvalError("sequence item: expected str instance, " + type_name(item) + " found");
      out += (first ? "" : s) + item.str;
      r.check_size(out.size());
      first = false;
    }
    return Value::from(std::move(out));
  }
  throw EvalError("'str' object has no attribute '" + name + "'");
}

Value dict_method(const Dict& d, const std::string& name, CallArgs& args) {
  if (name == "get") {
    const Value& key = required(args, 0, "key", name);
    if (key.is_string())
      if (const Value* v = d.find(key.str)) return *v;
    const Value* dflt = args.get(1, "default");
    return dflt ? *dflt : Value::none();
  }
  List out;
  for (const auto& [k, v] : d.items) {
    if (name == "items") out.push_back(Value::from(List{Value::from(k), v}, true));
    else if (name == "keys") out.push_back(Value::from(k));
    else out.push_back(v);
  }
  return Value::from(std::move(out));
}

Dict dict_from_args(const CallArgs& args, const char* what) {
  Dict d;
  if (!args.positional.empty()) {
    const Value& first = args.positional[0];
    if (!first.is_dict() || args.positional.size() > 1)
      throw EvalError(std::string(what) + "() takes a mapping and keyword arguments");
    d = *first.dict;
  }
  for (const auto& [k, v] : args.keyword) d.set(k, v);
  return d;
}

}  // namespace

bool has_method(const Value& object, std::string_view name) {
  if (object.is_string()) {
    for (const char* m : kStrMethods)
      if (name == m) return true;
  } else if (object.is_dict()) {
    for (const char* m : kDictMethods)
      if (name == m) return true;
  }
  return false;
}

Value call_method(Renderer& r, const Value& object, const std::string& name, CallArgs& args) {
  if (object.is_string()) return str_method(r, object.str, name, args);
  if (object.is_dict() && has_method(object, name)) return dict_method(*object.dict, name, args);
  throw EvalError("'" + type_name(object) + "' object has no attribute '" + name + "'");
}

FramePtr make_globals(Renderer& r) {
  auto g = std::make_shared<Frame>();
  g->set("range", Value::callable([&r](CallArgs& args) {
           std::vector<int64_t> bounds;
           for (const Value& v : args.positional) {
             if (!v.is_integral()) throw EvalError("range() takes integers, got " + type_name(v));
             bounds.push_back(v.kind == Kind::Bool ? v.boolean : v.integer);
           }
           if (bounds.empty() || bounds.size() > 3) throw EvalError("range expected 1 to 3 arguments");
           const int64_t start = bounds.size() == 1 ? 0 : bounds[0];
           const int64_t stop = bounds.size() == 1 ? bounds[0] : bounds[1];
           const int64_t step = bounds.size() == 3 ? bounds[2] : 1;
           if (step == 0) throw EvalError("range() arg 3 must not be zero");
           // Counted before it is built: range(10**9) stops here, not after filling memory.
           const long double span = step > 0 ? static_cast<long double>(stop) - start : static_cast<long double>(start) - stop;
           const long double count = span <= 0 ? 0 : (span + (step > 0 ? step : -step) - 1) / (step > 0 ? step : -step);
           if (count > static_cast<long double>(r.limits().max_loop_iterations))
             r.count_iterations(r.limits().max_loop_iterations + 1);
           r.count_iterations(static_cast<size_t>(count));
           List out;
           for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value::from(i));
           return Value::from(std::move(out));
         }));
  g->set("namespace", Value::callable([](CallArgs& args) {
           Dict d = dict_from_args(args, "namespace");
           for (const auto& [k, v] : d.items)
             if (!k.empty() && k[0] == '_')
               throw EvalError("chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
                               k + "'");
           return Value::make_namespace(std::move(d));
         }));
  g->set("dict", Value::callable([](CallArgs& args) { return Value::from(dict_from_args(args, "dict")); }));
  g->set("raise_exception", Value::callable([](CallArgs& args) -> Value {
           throw RaisedError(args.positional.empty() ? std::string() : to_str(args.positional[0]));
         }));
  g->set("strftime_now", Value::callable([](CallArgs& args) {
           const Value* fmt = args.get(0, "format");
           if (!fmt || !fmt->is_string()) throw EvalError("strftime_now() takes a format string");
           const std::time_t now = std::time(nullptr);
           std::tm local{};
           localtime_r(&now, &local);
           char buf[512];
           const size_t n = std::strftime(buf, sizeof buf, fmt->str.c_str(), &local);
           return Value::from(std::string(buf, n));
         }));
  return g;
}

}  // namespace fw::data::jinja
