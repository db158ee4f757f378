// A native Jinja engine for the chat templates models ship, rendering them as
// transformers' apply_chat_template does (jinja2 with trim_blocks and lstrip_blocks, its
// tojson, raise_exception, strftime_now and the {% generation %} extension), so that the
// text is byte-equal to the Python reference. The template sees only the context's
// variables and a few globals (range, namespace, dict, raise_exception, strftime_now):
// nothing outside. A hostile template is stopped by JinjaLimits with an error naming its
// line.
//
// The context is what transformers passes to the template: messages, tools (null if
// none), documents (null if none), add_generation_prompt, the special tokens
// (bos_token, eos_token, ...) and the caller's extra keyword arguments (enable_thinking,
// date_string, ...). Keys keep their order: dicts iterate in insertion order as in Python.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace fw::data {

namespace jinja {
struct Program;
struct Value;
using Variables = std::vector<std::pair<std::string, Value>>;  // name -> value, in order (jinja_value.h)
}

struct JinjaLimits {
  size_t max_loop_iterations = 1'000'000;  // every loop and range() of one render together
  int max_recursion_depth = 64;            // macro calls inside macro calls
  size_t max_output_bytes = 64u << 20;     // the rendered text, and any string built on the way
  int max_nesting = 256;                   // statement and expression nesting when parsing
};

struct JinjaRenderResult {
  std::string text;
  // [begin, end) byte offsets in `text` of what each {% generation %} block rendered, in
  // order (transformers' return_assistant_tokens_mask spans, in bytes instead of
  // characters). A generation block rendered inside a macro, a {% set %} block or a
  // {% filter %} block is not recorded: its place in the output is not known.
  std::vector<std::pair<size_t, size_t>> generation_spans;
};

class JinjaTemplate {
 public:
  // Parses `source`; throws fw::Error (invalid input) naming `name`, the line and the
  // column of a syntax error.
  static JinjaTemplate parse(const std::string& source, std::string name, const JinjaLimits& limits = {});

  // Throws fw::Error (invalid input) naming the template and line: raise_exception's
  // message verbatim, an undefined variable used in a way jinja2 refuses, an unknown
  // filter, test or method, a type error, or a limit exceeded.
  JinjaRenderResult render(const nlohmann::ordered_json& context, const JinjaLimits& limits = {}) const;
  // The same with the context already made of template values (later names win).
  JinjaRenderResult render_variables(jinja::Variables context, const JinjaLimits& limits = {}) const;

  const std::string& name() const;

 private:
  std::shared_ptr<const jinja::Program> program_;
};

}  // namespace fw::data
