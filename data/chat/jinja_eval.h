// The evaluator: runs a parsed template against a context. Statements are in
// jinja_eval.cpp, expressions in jinja_expr.cpp, filters and tests in jinja_filters.cpp,
// methods and globals in jinja_methods.cpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/chat/jinja.h"
#include "data/chat/jinja_ast.h"
#include "data/chat/jinja_value.h"

namespace fw::data::jinja {

struct Program {
  std::string name;
  Body body;
};

// raise_exception(message): the template refuses its input; the message goes out as is.
struct RaisedError : EvalError {
  using EvalError::EvalError;
};

// A scope. Loops and macros get a child frame; `set` writes to the innermost one.
struct Frame {
  std::shared_ptr<Frame> parent;
  std::vector<std::pair<std::string, Value>> vars;
  const Value* find(std::string_view name) const;
  void set(const std::string& name, Value v);
};
using FramePtr = std::shared_ptr<Frame>;

enum class Flow { Normal, Break, Continue };

class Renderer {
 public:
  Renderer(const Program& program, const JinjaLimits& limits);
  JinjaRenderResult render(const nlohmann::ordered_json& context);
  JinjaRenderResult render(Variables context);

  Value eval(const Expr& e, const FramePtr& frame);
  // The value of a variable, or of a dict attribute of one (message.content), where it is
  // stored, without a copy; any other expression is evaluated into `tmp`. Use it before
  // evaluating anything else: a macro called by a later expression may `set` a namespace
  // attribute and move the dict it points into.
  const Value& ref(const Expr& e, const FramePtr& frame, Value& tmp);
  // One more loop iteration (or range item, or item a filter visits); throws past the limit.
  void count_iterations(size_t n = 1);
  // Throws if a string of `bytes` would exceed the output limit.
  void check_size(size_t bytes) const;
  const JinjaLimits& limits() const { return limits_; }

 private:
  Flow exec(const Body& body, const FramePtr& frame);
  Flow exec(const Stmt& s, const FramePtr& frame);
  Flow exec_for(const Stmt& s, const FramePtr& frame);
  void exec_set(const Stmt& s, const FramePtr& frame);
  Value make_macro(const Stmt& s, const FramePtr& frame, std::string name);
  std::string capture(const Body& body, const FramePtr& frame);
  Value apply_filters(const std::vector<ExprPtr>& filters, Value subject, const FramePtr& frame);
  void write(std::string_view s);

  Value eval_inner(const Expr& e, const FramePtr& frame);
  Value eval_attr(const Expr& e, const FramePtr& frame);
  Value attribute_of(const Value& target, const Expr& e);  // target.name (e is the GetAttr)
  Value eval_call(const Expr& e, const FramePtr& frame);
  Value eval_compare(const Expr& e, const FramePtr& frame);
  CallArgs eval_args(const Expr& e, const FramePtr& frame, size_t first);

  [[noreturn]] void fail(const std::string& message, int line, int column) const;

  const Program& program_;
  const JinjaLimits& limits_;
  std::string output_;
  std::string* out_ = &output_;  // where text goes: the output, or a capture buffer
  std::vector<std::pair<size_t, size_t>> spans_;
  size_t iterations_ = 0;
  int depth_ = 0;  // macro calls in progress
};

// Filters and tests (jinja_filters.cpp). Throws EvalError for an unknown name.
Value apply_filter(Renderer& r, const std::string& name, const Value& subject, CallArgs& args);
bool apply_test(Renderer& r, const std::string& name, const Value& subject, CallArgs& args);

// Methods of str, dict and list (jinja_methods.cpp). Throws EvalError for an unknown one.
bool has_method(const Value& object, std::string_view name);
Value call_method(Renderer& r, const Value& object, const std::string& name, CallArgs& args);
// Frame holding range, namespace, dict, raise_exception and strftime_now.
FramePtr make_globals(Renderer& r);

// The item at attribute path "a.b" (dotted) of a value, as filters like selectattr and
// map(attribute=) read it; Undefined where missing.
Value get_attribute(const Value& object, std::string_view path);
// Python's obj[key] as Jinja does it: out of range or missing gives Undefined.
Value get_item(const Value& object, const Value& key);

// transformers' tojson: json.dumps(x, ensure_ascii=False, indent, separators, sort_keys).
std::string to_json(const Value& v, int indent, bool use_indent, const std::string& item_sep,
                    const std::string& key_sep, bool sort_keys);

}  // namespace fw::data::jinja
