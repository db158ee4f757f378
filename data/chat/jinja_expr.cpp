// Expressions, with Python's operators: int and float arithmetic (true division, floor
// division and modulo with the divisor's sign), string and list concatenation and
// repetition, comparison chains, `and`/`or` returning an operand, slicing with steps.
// An Undefined value (jinja2's default Undefined) prints as "", is false and iterates as
// empty, but using its attributes or doing arithmetic on it is an error, as in jinja2.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "data/chat/jinja_eval.h"
#include "data/chat/jinja_pystr.h"

namespace fw::data::jinja {

namespace {

[[noreturn]] void undefined_error(const Value& v) {
  throw EvalError(v.str.empty() ? "undefined value used" : v.str);
}

int64_t as_int(const Value& v) { return v.kind == Kind::Bool ? v.boolean : v.integer; }

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  throw EvalError("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
}

// a op b on int64, refusing overflow (Python's ints are unbounded; chat templates never
// need that much).
template <typename Op>
int64_t checked(Op op, int64_t a, int64_t b) {
  int64_t result = 0;
  if (op(a, b, &result)) throw EvalError("integer overflow");
  return result;
}
constexpr auto kAdd = [](int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); };
constexpr auto kSub = [](int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); };
constexpr auto kMul = [](int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); };

// Python's slice.indices(length) followed by the walk over the picked positions.
std::vector<size_t> slice_positions(int64_t length, const Value& start, const Value& stop, const Value& step) {
  int64_t st = step.is_none() || step.is_undefined() ? 1 : as_int(step);
  if (st == 0) throw EvalError("slice step cannot be zero");
  auto clamp = [&](const Value& v, int64_t dflt) {
    if (v.is_none() || v.is_undefined()) return dflt;
    if (!v.is_integral()) throw EvalError("slice indices must be integers or None");
    int64_t i = as_int(v);
    if (i < 0) i += length;
    if (st > 0) return std::clamp<int64_t>(i, 0, length);
    return std::clamp<int64_t>(i, -1, length - 1);
  };
  const int64_t b = clamp(start, st > 0 ? 0 : length - 1);
  const int64_t e = clamp(stop, st > 0 ? length : -1);
  std::vector<size_t> out;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) out.push_back(static_cast<size_t>(i));
  return out;
}

Value slice(const Value& target, const Value& start, const Value& stop, const Value& step) {
  if (target.is_list()) {
    List out;
    for (size_t i : slice_positions(static_cast<int64_t>(target.list->size()), start, stop, step))
      out.push_back((*target.list)[i]);
    return Value::from(std::move(out), target.tuple);
  }
  if (target.is_string()) {
    const std::vector<size_t> off = py::code_point_offsets(target.str);
    std::string out;
    for (size_t i : slice_positions(static_cast<int64_t>(off.size() - 1), start, stop, step))
      out += target.str.substr(off[i], off[i + 1] - off[i]);
    return Value::from(std::move(out));
  }
  if (target.is_undefined()) undefined_error(target);
  throw EvalError("'" + type_name(target) + "' object is not subscriptable");
}

Value repeat(Renderer& r, const Value& seq, const Value& times) {
  const int64_t n = std::max<int64_t>(0, as_int(times));
  if (seq.is_string()) {
    r.check_size(seq.str.size() * static_cast<size_t>(n));
    std::string out;
    for (int64_t k = 0; k < n; ++k) out += seq.str;
    return Value::from(std::move(out));
  }
  r.count_iterations(seq.list->size() * static_cast<size_t>(n));
  List out;
  for (int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
  return Value::from(std::move(out));
}

Value arithmetic(Renderer& r, const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  const bool ints = a.is_integral() && b.is_integral();
  const bool nums = a.is_number() && b.is_number();
  if (op == "+") {
    if (ints) return Value::from(checked(kAdd, as_int(a), as_int(b)));
    if (nums) return Value::from(as_double(a) + as_double(b));
    if (a.is_string() && b.is_string()) {
      r.check_size(a.str.size() + b.str.size());
      return Value::from(a.str + b.str);
    }
    if (a.is_list() && b.is_list()) {
      List out = *a.list;
      out.insert(out.end(), b.list->begin(), b.list->end());
      return Value::from(std::move(out), a.tuple);
    }
    if (a.is_string()) throw EvalError("can only concatenate str (not \"" + type_name(b) + "\") to str");
    unsupported(op, a, b);
  }
  if (op == "-") {
    if (ints) return Value::from(checked(kSub, as_int(a), as_int(b)));
    if (nums) return Value::from(as_double(a) - as_double(b));
    unsupported(op, a, b);
  }
  if (op == "*") {
    if (ints) return Value::from(checked(kMul, as_int(a), as_int(b)));
    if (nums) return Value::from(as_double(a) * as_double(b));
    if ((a.is_string() || a.is_list()) && b.is_integral()) return repeat(r, a, b);
    if ((b.is_string() || b.is_list()) && a.is_integral()) return repeat(r, b, a);
    unsupported(op, a, b);
  }
  if (!nums) {
    if (op == "%" && a.is_string()) throw EvalError("printf-style string formatting is not supported");
    unsupported(op, a, b);
  }
  if (op == "/") {
    if (as_double(b) == 0) throw EvalError("division by zero");
    return Value::from(as_double(a) / as_double(b));
  }
  if (op == "//" || op == "%") {
    if (as_double(b) == 0) throw EvalError(op == "%" ? "integer modulo by zero" : "integer division or modulo by zero");
    if (ints) {
      const int64_t x = as_int(a), y = as_int(b);
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) --q, m += y;  // Python floors
      return Value::from(op == "//" ? q : m);
    }
    const double x = as_double(a), y = as_double(b);
    if (op == "//") return Value::from(std::floor(x / y));
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value::from(m);
  }
  if (op == "**") {
    if (ints && as_int(b) >= 0) {
      int64_t base = as_int(a), exp = as_int(b), acc = 1;
      for (; exp > 0; --exp) acc = checked(kMul, acc, base);
      return Value::from(acc);
    }
    return Value::from(std::pow(as_double(a), as_double(b)));
  }
  throw EvalError("unknown operator " + op);
}

}  // namespace

Value Renderer::eval(const Expr& e, const FramePtr& frame) {
  try {
    return eval_inner(e, frame);
  } catch (const RaisedError& err) {
    fail(err.what(), e.line, e.column);
  } catch (const EvalError& err) {
    fail(err.what(), e.line, e.column);
  }
}

CallArgs Renderer::eval_args(const Expr& e, const FramePtr& frame, size_t first) {
  CallArgs args;
  for (size_t k = first; k < e.args.size(); ++k) args.positional.push_back(eval(*e.args[k], frame));
  for (const auto& [key, value] : e.kwargs) args.keyword.emplace_back(key, eval(*value, frame));
  return args;
}

Value Renderer::eval_inner(const Expr& e, const FramePtr& frame) {
  switch (e.kind) {
    case ExprKind::Literal: return e.literal;
    case ExprKind::Name: {
      const Value* v = frame->find(e.name);
      return v ? *v : Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::List:
    case ExprKind::Tuple: {
      List items;
      for (const ExprPtr& a : e.args) items.push_back(eval(*a, frame));
      return Value::from(std::move(items), e.kind == ExprKind::Tuple);
    }
    case ExprKind::Dict: {
      Dict d;
      for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
        Value key = eval(*e.args[k], frame);
        if (!key.is_string()) throw EvalError("dict keys must be strings in chat templates");
        d.set(key.str, eval(*e.args[k + 1], frame));
      }
      return Value::from(std::move(d));
    }
    case ExprKind::GetAttr: return eval_attr(e, frame);
    case ExprKind::GetItem: {
      Value target = eval(*e.args[0], frame);
      if (target.is_undefined()) undefined_error(target);
      return get_item(target, eval(*e.args[1], frame));
    }
    case ExprKind::Slice: {
      Value target = eval(*e.args[0], frame);
      auto bound = [&](size_t k) { return e.args[k] ? eval(*e.args[k], frame) : Value::none(); };
      return slice(target, bound(1), bound(2), bound(3));
    }
    case ExprKind::Call: return eval_call(e, frame);
    case ExprKind::Filter: {
      Value subject = eval(*e.args[0], frame);
      CallArgs args = eval_args(e, frame, 1);
      return apply_filter(*this, e.name, subject, args);
    }
    case ExprKind::Test: {
      Value subject = eval(*e.args[0], frame);
      CallArgs args = eval_args(e, frame, 1);
      return Value::from(apply_test(*this, e.name, subject, args) != e.negated);
    }
    case ExprKind::Not: return Value::from(!truthy(eval(*e.args[0], frame)));
    case ExprKind::Negate:
    case ExprKind::Plus: {
      Value v = eval(*e.args[0], frame);
      if (v.is_undefined()) undefined_error(v);
      if (!v.is_number()) throw EvalError("bad operand type for unary " + std::string(e.kind == ExprKind::Negate ? "-" : "+") + ": '" + type_name(v) + "'");
      if (e.kind == ExprKind::Plus) return v.kind == Kind::Bool ? Value::from(as_int(v)) : v;
      if (v.kind == Kind::Float) return Value::from(-v.number);
      if (as_int(v) == std::numeric_limits<int64_t>::min()) throw EvalError("integer overflow");
      return Value::from(-as_int(v));
    }
    case ExprKind::Binary: {
      Value a = eval(*e.args[0], frame);
      Value b_tmp;
      const Value& b = ref(*e.args[1], frame, b_tmp);
      if (a.is_string() && b.is_string() && e.name == "+") {  // 'a' + b + 'c' ...: append to the temporary
        check_size(a.str.size() + b.str.size());
        a.str += b.str;
        return a;
      }
      return arithmetic(*this, e.name, a, b);
    }
    case ExprKind::And: {
      Value left = eval(*e.args[0], frame);
      return truthy(left) ? eval(*e.args[1], frame) : left;
    }
    case ExprKind::Or: {
      Value left = eval(*e.args[0], frame);
      return truthy(left) ? left : eval(*e.args[1], frame);
    }
    case ExprKind::Compare: return eval_compare(e, frame);
    case ExprKind::Concat: {
      std::string out;
      for (const ExprPtr& a : e.args) {
        const Value v = eval(*a, frame);
        if (v.is_string()) out += v.str;
        else out += to_str(v);
        check_size(out.size());
      }
      return Value::from(std::move(out));
    }
    case ExprKind::Conditional:
      if (truthy(eval(*e.args[1], frame))) return eval(*e.args[0], frame);
      return e.args[2] ? eval(*e.args[2], frame) : Value::undefined("the inline if has no else");
  }
  throw EvalError("unknown expression");
}

const Value& Renderer::ref(const Expr& e, const FramePtr& frame, Value& tmp) {
  if (e.kind == ExprKind::Name) {
    if (const Value* v = frame->find(e.name)) return *v;
  } else if (e.kind == ExprKind::GetAttr) {
    Value target_tmp;
    const Value& target = ref(*e.args[0], frame, target_tmp);
    // (a value found inside a temporary target would die with it: copied out instead)
    if (&target != &target_tmp && target.is_dict() && !has_method(target, e.name))
      if (const Value* v = target.dict->find(e.name)) return *v;
    try {  // as eval() reports it
      tmp = attribute_of(target, e);
    } catch (const EvalError& err) {
      fail(err.what(), e.line, e.column);
    }
    return tmp;
  }
  tmp = eval(e, frame);
  return tmp;
}

Value Renderer::eval_attr(const Expr& e, const FramePtr& frame) {
  Value target_tmp;
  return attribute_of(ref(*e.args[0], frame, target_tmp), e);
}

Value Renderer::attribute_of(const Value& target, const Expr& e) {
  if (target.is_undefined()) undefined_error(target);
  if (target.is_dict() && !has_method(target, e.name)) {
    if (const Value* v = target.dict->find(e.name)) return *v;
  }
  if (has_method(target, e.name)) {
    const std::string name = e.name;
    return Value::callable([this, target, name](CallArgs& args) { return call_method(*this, target, name, args); });
  }
  return get_attribute(target, e.name);
}

Value Renderer::eval_call(const Expr& e, const FramePtr& frame) {
  const Expr& callee = *e.args[0];
  if (callee.kind == ExprKind::GetAttr) {  // a method call: no bound-method object needed
    Value target = eval(*callee.args[0], frame);
    if (target.is_undefined()) undefined_error(target);
    if (has_method(target, callee.name)) {
      CallArgs args = eval_args(e, frame, 1);
      return call_method(*this, target, callee.name, args);
    }
  }
  Value fn = eval(callee, frame);
  if (fn.is_undefined()) undefined_error(fn);
  if (fn.kind != Kind::Callable) throw EvalError("'" + type_name(fn) + "' object is not callable");
  CallArgs args = eval_args(e, frame, 1);
  return (*fn.fn)(args);
}

Value Renderer::eval_compare(const Expr& e, const FramePtr& frame) {
  Value left = eval(*e.args[0], frame);
  for (size_t k = 0; k < e.ops.size(); ++k) {
    Value right = eval(*e.args[k + 1], frame);
    const std::string& op = e.ops[k];
    bool ok = false;
    if (op == "==") ok = equal(left, right);
    else if (op == "!=") ok = !equal(left, right);
    else if (op == "in") ok = contains(right, left);
    else if (op == "not in") ok = !contains(right, left);
    else {
      if (left.is_undefined()) undefined_error(left);
      if (right.is_undefined()) undefined_error(right);
      if (op == "<") ok = less(left, right);
      else if (op == "<=") ok = !less(right, left);
      else if (op == ">") ok = less(right, left);
      else ok = !less(left, right);
    }
    if (!ok) return Value::from(false);
    left = std::move(right);
  }
  return Value::from(true);
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_dict() || object.kind == Kind::Namespace) {
    if (key.is_string())
      if (const Value* v = object.dict->find(key.str)) return *v;
    return Value::undefined("'dict object' has no attribute " + repr(key));
  }
  if ((object.is_list() || object.is_string()) && key.is_integral()) {
    const std::vector<size_t> off = object.is_string() ? py::code_point_offsets(object.str) : std::vector<size_t>{};
    const int64_t n = object.is_list() ? static_cast<int64_t>(object.list->size()) : static_cast<int64_t>(off.size()) - 1;
    int64_t i = as_int(key);
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined(type_name(object) + " object has no element " + repr(key));
    if (object.is_list()) return (*object.list)[static_cast<size_t>(i)];
    return Value::from(object.str.substr(off[static_cast<size_t>(i)], off[static_cast<size_t>(i) + 1] - off[static_cast<size_t>(i)]));
  }
  if (key.is_string()) return get_attribute(object, key.str);
  return Value::undefined("'" + type_name(object) + " object' has no attribute " + repr(key));
}

Value get_attribute(const Value& object, std::string_view path) {
  Value cur = object;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (cur.is_dict() || cur.kind == Kind::Namespace) {
      const Value* v = cur.dict->find(part);
      cur = v ? *v : Value::undefined("'" + type_name(cur) + " object' has no attribute '" + part + "'");
    } else if (cur.is_list() && !part.empty() && part.find_first_not_of("0123456789") == std::string::npos) {
      cur = get_item(cur, Value::from(static_cast<int64_t>(std::stoll(part))));
    } else if (cur.is_undefined()) {
      undefined_error(cur);
    } else {
      cur = Value::undefined("'" + type_name(cur) + " object' has no attribute '" + part + "'");
    }
    if (dot == std::string_view::npos) return cur;
    start = dot + 1;
  }
}

}  // namespace fw::data::jinja
