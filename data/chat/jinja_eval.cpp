// Statements: output, if, for (with loop.* and else), set (names, tuples, namespace
// attributes, blocks), macros and call blocks, filter blocks, generation blocks,
// break/continue. Scoping follows jinja2: a loop body and a macro body get their own
// frame, `if` does not, so `set` inside a loop does not leak out but namespace() attributes
// (shared objects) do.
#include "data/chat/jinja_eval.h"

#include "core/error.h"

namespace fw::data::jinja {

const Value* Frame::find(std::string_view name) const {
  for (const Frame* f = this; f; f = f->parent.get())
    for (const auto& [k, v] : f->vars)
      if (k == name) return &v;
  return nullptr;
}

void Frame::set(const std::string& name, Value v) {
  for (auto& [k, old] : vars)
    if (k == name) {
      old = std::move(v);
      return;
    }
  vars.emplace_back(name, std::move(v));
}

namespace {

FramePtr child_of(const FramePtr& parent) {
  auto f = std::make_shared<Frame>();
  f->parent = parent;
  f->vars.reserve(4);  // a loop's frame holds its target(s) and `loop`
  return f;
}

}  // namespace

Renderer::Renderer(const Program& program, const JinjaLimits& limits) : program_(program), limits_(limits) {}

JinjaRenderResult Renderer::render(const nlohmann::ordered_json& context) {
  Variables vars;
  if (context.is_object())
    for (const auto& [k, v] : context.items()) vars.emplace_back(k, from_json(v));
  return render(std::move(vars));
}

JinjaRenderResult Renderer::render(Variables context) {
  FramePtr globals = make_globals(*this);
  auto ctx = child_of(globals);
  ctx->vars.reserve(context.size());
  for (auto& [k, v] : context) ctx->set(k, std::move(v));
  exec(program_.body, child_of(ctx));
  return {std::move(output_), std::move(spans_)};
}

void Renderer::fail(const std::string& message, int line, int column) const {
  throw_invalid(message, {.file = program_.name, .line = line, .column = column});
}

void Renderer::count_iterations(size_t n) {
  iterations_ += n;
  if (iterations_ > limits_.max_loop_iterations)
    throw EvalError("the template ran more than " + std::to_string(limits_.max_loop_iterations) +
                    " loop iterations (JinjaLimits::max_loop_iterations)");
}

void Renderer::check_size(size_t bytes) const {
  if (bytes > limits_.max_output_bytes)
    throw EvalError("the template's output exceeds " + std::to_string(limits_.max_output_bytes) +
                    " bytes (JinjaLimits::max_output_bytes)");
}

void Renderer::write(std::string_view s) {
  check_size(out_->size() + s.size());
  out_->append(s);
}

std::string Renderer::capture(const Body& body, const FramePtr& frame) {
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  try {
    exec(body, frame);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buffer;
}

Flow Renderer::exec(const Body& body, const FramePtr& frame) {
  for (const StmtPtr& s : body) {
    Flow flow = exec(*s, frame);
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

Flow Renderer::exec(const Stmt& s, const FramePtr& frame) {
  try {
    switch (s.kind) {
      case StmtKind::Text: write(s.text); return Flow::Normal;
      case StmtKind::Output: {
        Value tmp;
        const Value& v = ref(*s.expr, frame, tmp);
        if (v.is_string()) write(v.str);  // (to_str would copy it)
        else write(to_str(v));
        return Flow::Normal;
      }
      case StmtKind::If:
        for (const auto& [cond, body] : s.branches)
          if (truthy(eval(*cond, frame))) return exec(body, frame);
        return exec(s.else_body, frame);
      case StmtKind::For: return exec_for(s, frame);
      case StmtKind::Set: exec_set(s, frame); return Flow::Normal;
      case StmtKind::SetBlock: {
        std::string text = capture(s.body, child_of(frame));
        frame->set(s.targets[0], apply_filters(s.filters, Value::from(std::move(text)), frame));
        return Flow::Normal;
      }
      case StmtKind::Macro: frame->set(s.text, make_macro(s, frame, s.text)); return Flow::Normal;
      case StmtKind::CallBlock: {
        // {% call f(args) %}body{% endcall %}: f gets the body as its `caller` argument.
        if (s.expr->kind != ExprKind::Call) throw EvalError("{% call %} needs a macro call");
        Value fn = eval(*s.expr->args[0], frame);
        if (fn.kind != Kind::Callable) throw EvalError("{% call %} needs a macro call");
        CallArgs args = eval_args(*s.expr, frame, 1);
        args.keyword.emplace_back("caller", make_macro(s, frame, "caller"));
        write(to_str((*fn.fn)(args)));
        return Flow::Normal;
      }
      case StmtKind::FilterBlock:
        write(to_str(apply_filters(s.filters, Value::from(capture(s.body, child_of(frame))), frame)));
        return Flow::Normal;
      case StmtKind::Generation: {
        // transformers renders the block as a call block (its own scope) and records where
        // its text lands in the output.
        const bool top_level = out_ == &output_;
        const size_t begin = out_->size();
        exec(s.body, child_of(frame));
        if (top_level) spans_.emplace_back(begin, out_->size());
        return Flow::Normal;
      }
      case StmtKind::Break: return Flow::Break;
      case StmtKind::Continue: return Flow::Continue;
    }
  } catch (const EvalError& e) {
    fail(e.what(), s.line, s.column);
  }
  return Flow::Normal;
}

Value Renderer::apply_filters(const std::vector<ExprPtr>& filters, Value subject, const FramePtr& frame) {
  for (const ExprPtr& f : filters) {
    CallArgs args = eval_args(*f, frame, 1);
    subject = apply_filter(*this, f->name, subject, args);
  }
  return subject;
}

Flow Renderer::exec_for(const Stmt& s, const FramePtr& frame) {
  const Value iterable = eval(*s.expr, frame);
  List all = iterate(iterable);
  auto bind = [&](const FramePtr& f, const Value& item) {
    if (s.targets.size() == 1) {
      f->set(s.targets[0], item);
      return;
    }
    List parts = iterate(item);
    if (parts.size() != s.targets.size())
      throw EvalError("cannot unpack " + std::to_string(parts.size()) + " values into " +
                      std::to_string(s.targets.size()) + " loop variables");
    for (size_t k = 0; k < parts.size(); ++k) f->set(s.targets[k], parts[k]);
  };
  List items;
  if (s.cond) {  // `for x in xs if cond`: loop.* count the items that pass
    for (const Value& item : all) {
      count_iterations();
      auto f = child_of(frame);
      bind(f, item);
      if (truthy(eval(*s.cond, f))) items.push_back(item);
    }
  } else {
    items = std::move(all);
  }
  if (items.empty()) return exec(s.else_body, frame);
  const int64_t n = static_cast<int64_t>(items.size());
  const Value* outer_loop = frame->find("loop");
  const int64_t depth = outer_loop && outer_loop->is_dict() && outer_loop->dict->find("depth")
                            ? outer_loop->dict->find("depth")->integer + 1
                            : 1;
  for (int64_t i = 0; i < n; ++i) {
    count_iterations();
    auto f = child_of(frame);
    bind(f, items[static_cast<size_t>(i)]);
    Dict loop;  // the names are distinct: appended, not set
    loop.items.reserve(12);
    loop.items.emplace_back("index", Value::from(i + 1));
    loop.items.emplace_back("index0", Value::from(i));
    loop.items.emplace_back("revindex", Value::from(n - i));
    loop.items.emplace_back("revindex0", Value::from(n - i - 1));
    loop.items.emplace_back("first", Value::from(i == 0));
    loop.items.emplace_back("last", Value::from(i == n - 1));
    loop.items.emplace_back("length", Value::from(n));
    loop.items.emplace_back("depth", Value::from(depth));
    loop.items.emplace_back("depth0", Value::from(depth - 1));
    loop.items.emplace_back("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item"));
    loop.items.emplace_back("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item"));
    loop.items.emplace_back("cycle", Value::callable([i](CallArgs& args) {
                              if (args.positional.empty()) throw EvalError("no items for cycling given");
                              return args.positional[static_cast<size_t>(i) % args.positional.size()];
                            }));
    f->set("loop", Value::from(std::move(loop)));
    if (exec(s.body, f) == Flow::Break) break;
  }
  return Flow::Normal;
}

void Renderer::exec_set(const Stmt& s, const FramePtr& frame) {
  Value v = eval(*s.expr, frame);
  if (!s.attr.empty()) {
    const Value* target = frame->find(s.targets[0]);
    if (!target || target->kind != Kind::Namespace)
      throw EvalError("cannot assign attribute on non-namespace object");
    if (!s.attr.empty() && s.attr[0] == '_')
      throw EvalError("chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
                      s.attr + "'");
    target->dict->set(s.attr, std::move(v));
    return;
  }
  if (s.targets.size() == 1) {
    frame->set(s.targets[0], std::move(v));
    return;
  }
  List parts = iterate(v);
  if (parts.size() != s.targets.size())
    throw EvalError("cannot unpack " + std::to_string(parts.size()) + " values into " +
                    std::to_string(s.targets.size()) + " names");
  for (size_t k = 0; k < parts.size(); ++k) frame->set(s.targets[k], parts[k]);
}

// A macro is a callable that renders its body in a fresh frame under the frame it was
// defined in; its result is the rendered text. It holds that frame weakly: the frame holds
// the macro, and a strong pointer back would keep both alive after the render.
Value Renderer::make_macro(const Stmt& s, const FramePtr& frame, std::string name) {
  const Stmt* macro = &s;
  std::weak_ptr<Frame> defined_in = frame;
  return Value::callable([this, macro, defined_in, name](CallArgs& args) {
    if (depth_ >= limits_.max_recursion_depth)
      throw EvalError("macro calls nest deeper than " + std::to_string(limits_.max_recursion_depth) +
                      " (JinjaLimits::max_recursion_depth)");
    const FramePtr frame = defined_in.lock();
    if (!frame) throw EvalError("macro '" + name + "' is called after the block that defined it ended");
    auto f = child_of(frame);
    const auto& params = macro->params;
    if (args.positional.size() > params.size())
      throw EvalError("macro '" + name + "' takes not more than " + std::to_string(params.size()) + " argument(s)");
    for (const auto& [key, v] : args.keyword) {
      bool known = false;
      for (const auto& p : params) known = known || p.first == key;
      if (key == "caller") {  // from {% call %}
        f->set(key, v);
        continue;
      }
      if (!known) throw EvalError("macro '" + name + "' takes no keyword argument '" + key + "'");
    }
    for (size_t k = 0; k < params.size(); ++k) {
      const Value* given = args.get(k < args.positional.size() ? k : args.positional.size() + params.size(),
                                    params[k].first);
      if (given) f->set(params[k].first, *given);
      else if (params[k].second) f->set(params[k].first, eval(*params[k].second, f));
      else f->set(params[k].first, Value::undefined("'" + params[k].first + "' is undefined"));
    }
    ++depth_;
    std::string text;
    try {
      text = capture(macro->body, f);
    } catch (...) {
      --depth_;
      throw;
    }
    --depth_;
    return Value::from(std::move(text));
  });
}

}  // namespace fw::data::jinja
