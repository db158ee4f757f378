// The native Jinja engine (data/chat/jinja.h). The table (jinja_cases.inc) holds outputs
// jinja2 gave as transformers configures it, written by jinja_cases.py; the tests below it
// check what the table cannot: error locations, limits against hostile templates, and
// the spans of {% generation %} blocks.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/chat/jinja.h"

namespace {

using fw::data::JinjaLimits;
using fw::data::JinjaTemplate;
using nlohmann::ordered_json;

struct Case {
  const char* name;
  const char* source;
  const char* context;   // JSON
  const char* expected;  // the output, or jinja2's error message
  bool error;
};

const Case kCases[] = {
#include "tests/unit/data/jinja_cases.inc"
};

std::string render(const std::string& source, const ordered_json& context = ordered_json::object(),
                   const JinjaLimits& limits = {}) {
  return JinjaTemplate::parse(source, "t.jinja", limits).render(context, limits).text;
}

// The error a render throws, or a failure if it throws none.
fw::Error error_of(const std::string& source, const JinjaLimits& limits = {},
                   const ordered_json& context = ordered_json::object()) {
  try {
    render(source, context, limits);
  } catch (const fw::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error from: " << source;
  return fw::Error(fw::ErrorKind::Runtime, "none");
}

TEST(Jinja, RendersAsJinja2Does) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const ordered_json context = ordered_json::parse(c.context);
    if (!c.error) {
      try {
        EXPECT_EQ(render(c.source, context), c.expected) << c.source;
      } catch (const fw::Error& e) {
        ADD_FAILURE() << c.source << ": " << e.what();
      }
      continue;
    }
    const fw::Error e = error_of(c.source, {}, context);
    EXPECT_EQ(e.context().file, "t.jinja");
    EXPECT_GE(e.context().line, 1);
    if (std::string(c.source).find("raise_exception") != std::string::npos) EXPECT_EQ(e.message(), c.expected);
  }
}

TEST(Jinja, ErrorsNameTheTemplateLineAndColumn) {
  fw::Error e = error_of("a\nb\n  {{ raise_exception('no system role') }}");
  EXPECT_EQ(e.message(), "no system role");
  EXPECT_EQ(e.context().file, "t.jinja");
  EXPECT_EQ(e.context().line, 3);
  EXPECT_EQ(std::string(e.what()).rfind("t.jinja:3:", 0), 0u) << e.what();

  e = error_of("{% for m in messages %}\n{% if m.role == 'user' %}\n{{ m.content | frobnicate }}\n{% endif %}\n{% endfor %}",
               {}, {{"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(e.context().line, 3);
  EXPECT_NE(e.message().find("frobnicate"), std::string::npos);

  e = error_of("line one\n{% if x %}\n{{ 1 + }}\n{% endif %}");
  EXPECT_EQ(e.context().line, 3);
  EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);

  e = error_of("{% if x %}\nnever closed\n");
  EXPECT_NE(e.message().find("endif"), std::string::npos);
  e = error_of("{{ foo.bar }}");
  EXPECT_EQ(e.message(), "'foo' is undefined");
  e = error_of("{% for x in [1] %}{{ x.startswith('a') }}{% endfor %}");
  EXPECT_NE(e.message().find("startswith"), std::string::npos);
}

TEST(Jinja, AnEndlessLoopIsStopped) {
  fw::Error e = error_of("{% for i in range(10**9) %}x{% endfor %}");
  EXPECT_NE(e.message().find("max_loop_iterations"), std::string::npos) << e.what();
  EXPECT_EQ(e.context().line, 1);

  // Nested loops over small lists multiply up: the total counts.
  JinjaLimits limits;
  limits.max_loop_iterations = 10'000;
  e = error_of("{% set xs = range(100) | list %}\n{% for a in xs %}{% for b in xs %}{% for c in xs %}.{% endfor %}"
               "{% endfor %}{% endfor %}", limits);
  EXPECT_NE(e.message().find("max_loop_iterations"), std::string::npos) << e.what();
  EXPECT_EQ(e.context().line, 2);
}

TEST(Jinja, RecursionIsBounded) {
  fw::Error e = error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\n{{ f(0) }}");
  EXPECT_NE(e.message().find("max_recursion_depth"), std::string::npos) << e.what();
  // A deeply nested expression is refused when parsing, not by a stack overflow.
  e = error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}");
  EXPECT_NE(e.message().find("nests deeper"), std::string::npos) << e.what();
  e = error_of("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}");
  EXPECT_NE(e.message().find("nests deeper"), std::string::npos) << e.what();
}

TEST(Jinja, OutputSizeIsBounded) {
  JinjaLimits limits;
  limits.max_output_bytes = 1000;
  fw::Error e = error_of("{% for i in range(100) %}0123456789abcdef{% endfor %}", limits);
  EXPECT_NE(e.message().find("max_output_bytes"), std::string::npos) << e.what();
  e = error_of("{% set s = 'x' * 100000 %}", limits);
  EXPECT_NE(e.message().find("max_output_bytes"), std::string::npos) << e.what();
  e = error_of("{% set ns = namespace(s='xx') %}{% for i in range(30) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
               limits);
  EXPECT_NE(e.message().find("max_output_bytes"), std::string::npos) << e.what();
  EXPECT_THROW(render("{{ 2 ** 64 }}"), fw::Error);  // no silent wrap-around
}

TEST(Jinja, NothingOutsideTheContextIsReachable) {
  // Python's escape hatches are plain undefined attributes here.
  EXPECT_EQ(render("{{ ''.__class__ }}|{{ messages.__class__ }}|{{ range.__globals__ }}",
                   {{"messages", ordered_json::array()}}),
            "||");
  EXPECT_THROW(render("{% include 'other.jinja' %}"), fw::Error);
  EXPECT_THROW(render("{% import 'os' as os %}"), fw::Error);
  EXPECT_THROW(render("{{ messages.append(1) }}", {{"messages", ordered_json::array()}}), fw::Error);
}

TEST(Jinja, GenerationBlocksRecordTheirByteSpans) {
  const std::string source =
      "{% for m in messages %}<{{ m.role }}>{% if m.role == 'assistant' %}{% generation %}{{ m.content }}</s>"
      "{% endgeneration %}{% else %}{{ m.content }}{% endif %}{% endfor %}";
  const ordered_json context = {{"messages",
                                 {{{"role", "user"}, {"content", "héllo"}},
                                  {{"role", "assistant"}, {"content", "wörld"}},
                                  {{"role", "user"}, {"content", "again"}},
                                  {{"role", "assistant"}, {"content", "🙂"}}}}};
  const auto result = JinjaTemplate::parse(source, "t").render(context);
  ASSERT_EQ(result.generation_spans.size(), 2u);
  const auto [b1, e1] = result.generation_spans[0];
  const auto [b2, e2] = result.generation_spans[1];
  EXPECT_EQ(result.text.substr(b1, e1 - b1), "wörld</s>");
  EXPECT_EQ(result.text.substr(b2, e2 - b2), "🙂</s>");
  EXPECT_EQ(result.text, "<user>héllo<assistant>wörld</s><user>again<assistant>🙂</s>");
}

TEST(Jinja, TheTemplateCanBeRenderedManyTimes) {
  const JinjaTemplate t = JinjaTemplate::parse("{% set ns = namespace(n=0) %}{% set ns.n = ns.n + x %}{{ ns.n }}", "t");
  EXPECT_EQ(t.render({{"x", 1}}).text, "1");
  EXPECT_EQ(t.render({{"x", 2}}).text, "2");  // nothing carries over between renders
}

}  // namespace
