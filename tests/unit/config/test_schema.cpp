// Binding YAML to recipe structs: values, defaults, and every kind of input error.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "tests/unit/config/recipes.h"

namespace fw::config::test {
namespace {

const char* kFull = R"(model: tiny-llama
optim:
  lr: 3.0e-6
  warmup_steps: 10
  schedule: linear
  min_lr: 0
data: [a.jsonl, b.jsonl]
seed: 7
bf16: false
max_tokens: 4096
num_workers: 8
competitors:
  - name: alpha
  - name: beta
    endpoint: http://localhost:8000/v1
    temperature: 0
extra:
  note: hello
eval_steps: [5, 50]
)";

TEST(ConfigSchema, BindsEveryFieldShape) {
  Recipe r = parse(kFull);
  EXPECT_EQ(r.model, "tiny-llama");
  EXPECT_DOUBLE_EQ(r.optim.lr, 3e-6);
  EXPECT_EQ(r.optim.warmup_steps, 10);
  EXPECT_EQ(r.optim.schedule, "linear");
  ASSERT_TRUE(r.optim.min_lr.has_value());
  EXPECT_EQ(*r.optim.min_lr, 0.0);
  EXPECT_EQ(r.data, (std::vector<std::string>{"a.jsonl", "b.jsonl"}));
  EXPECT_EQ(r.seed, 7);
  EXPECT_FALSE(r.bf16);
  EXPECT_EQ(r.max_tokens, 4096);
  EXPECT_EQ(r.num_workers, 8u);
  ASSERT_EQ(r.competitors.size(), 2u);
  EXPECT_EQ(r.competitors[0], (Competitor{"alpha", "local", 0.7}));
  EXPECT_EQ(r.competitors[1], (Competitor{"beta", "http://localhost:8000/v1", 0.0}));
  EXPECT_EQ(r.extra, (std::map<std::string, std::string>{{"note", "hello"}}));
  EXPECT_EQ(r.eval_steps, (std::vector<int>{5, 50}));
}

TEST(ConfigSchema, DefaultsRetainedWhenKeysOmitted) {
  Recipe r = parse("model: m\noptim:\n  lr: 0.5\n");
  Recipe want;
  want.model = "m";
  want.optim.lr = 0.5;
  EXPECT_EQ(r, want);
  EXPECT_EQ(r.optim.schedule, "cosine");
  EXPECT_EQ(r.eval_steps, (std::vector<int>{100}));
  EXPECT_FALSE(r.seed.has_value());

  // An empty section (`optim:` and nothing) keeps every default too.
  EXPECT_EQ(parse("model: m\noptim:\n").optim, OptimConfig{});
}

TEST(ConfigSchema, NullClearsOptionalAndEmptiesList) {
  Recipe r = parse("model: m\nseed: ~\ndata:\neval_steps: []\n");
  EXPECT_FALSE(r.seed.has_value());
  EXPECT_TRUE(r.data.empty());
  EXPECT_TRUE(r.eval_steps.empty());
}

TEST(ConfigSchema, NumbersInYamlForms) {
  EXPECT_DOUBLE_EQ(parse("model: m\noptim:\n  lr: 1e-3\n").optim.lr, 1e-3);
  EXPECT_DOUBLE_EQ(parse("model: m\noptim:\n  lr: .25\n").optim.lr, 0.25);
  EXPECT_DOUBLE_EQ(parse("model: m\noptim:\n  lr: +1\n").optim.lr, 1.0);
  EXPECT_EQ(parse("model: m\nseed: -3\n").seed, -3);
  EXPECT_EQ(parse("model: m\nmax_tokens: 9000000000\n").max_tokens, 9000000000);
  EXPECT_FLOAT_EQ(parse("model: m\noptim:\n  beta: 0.25\n").optim.beta, 0.25f);
  // A plain scalar is a fine string even when it looks like a number.
  EXPECT_EQ(parse("model: 7\n").model, "7");
}

TEST(ConfigSchema, UnknownKeyNamesFileLineAndSuggestion) {
  EXPECT_EQ(error_of([] { parse("model: m\nmodle: x\n"); }),
            "recipe.yaml:2:1: modle: unknown key (hint: did you mean 'model'?)");
}

TEST(ConfigSchema, UnknownKeyInNestedSection) {
  Error e = catch_error([] { parse("model: m\noptim:\n  lr: 0.1\n  lrr: 0.2\n"); });
  EXPECT_STREQ(e.what(),
               "recipe.yaml:4:3: optim.lrr: unknown key (hint: did you mean 'optim.lr'?)");
  EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
  EXPECT_EQ(e.context().key, "optim.lrr");
  EXPECT_EQ(e.context().line, 4);
  EXPECT_EQ(e.context().column, 3);
}

TEST(ConfigSchema, UnknownKeyInListItem) {
  EXPECT_EQ(error_of([] {
              parse("model: m\ncompetitors:\n  - name: a\n  - name: b\n    tempreature: 1\n");
            }),
            "recipe.yaml:5:5: competitors[1].tempreature: unknown key "
            "(hint: did you mean 'competitors[1].temperature'?)");
}

TEST(ConfigSchema, UnknownKeyWithoutCloseMatchHasNoHint) {
  EXPECT_EQ(error_of([] { parse("model: m\nzzzzzzzzzz: 1\n"); }),
            "recipe.yaml:2:1: zzzzzzzzzz: unknown key");
}

struct TypeCase {
  const char* yaml;
  const char* key;
  long line;
  const char* message;  // Error::message(), without the location
};

TEST(ConfigSchema, WrongTypesNameKeyLineExpectedAndSeen) {
  const TypeCase cases[] = {
      {"model: m\noptim:\n  lr: abc\n", "optim.lr", 3, "expected a number, got 'abc'"},
      {"model: m\noptim:\n  lr: \"0.1\"\n", "optim.lr", 3, "expected a number, got '0.1'"},
      {"model: m\noptim:\n  lr: {a: 1}\n", "optim.lr", 3, "expected a number, got a map"},
      {"model: m\noptim:\n  lr: inf\n", "optim.lr", 3, "expected a number, got 'inf'"},
      {"model: m\noptim:\n  warmup_steps: 1.5\n", "optim.warmup_steps", 3,
       "expected an integer, got '1.5'"},
      {"model: m\noptim:\n  warmup_steps: 1e3\n", "optim.warmup_steps", 3,
       "expected an integer, got '1e3'"},
      {"model: m\noptim:\n  warmup_steps: 99999999999\n", "optim.warmup_steps", 3,
       "expected an integer from -2147483648 to 2147483647, got '99999999999'"},
      {"model: m\noptim:\n  warmup_steps:\n", "optim.warmup_steps", 3,
       "expected an integer, got null (no value)"},
      {"model: m\nnum_workers: -1\n", "num_workers", 2,
       "expected an integer from 0 to 4294967295, got '-1'"},
      {"model: m\nbf16: yes\n", "bf16", 2, "expected true or false, got 'yes'"},
      {"model: m\nbf16: 1\n", "bf16", 2, "expected true or false, got '1'"},
      {"model: m\nbf16: \"true\"\n", "bf16", 2, "expected true or false, got 'true'"},
      {"model: [a, b]\n", "model", 1, "expected a string, got a list"},
      {"model:\n", "model", 1, "expected a string, got null (no value)"},
      {"model: m\ndata: a.jsonl\n", "data", 2, "expected a list, got 'a.jsonl'"},
      {"model: m\neval_steps: [1, x]\n", "eval_steps[1]", 2, "expected an integer, got 'x'"},
      {"model: m\nseed: abc\n", "seed", 2, "expected an integer, got 'abc'"},
      {"model: m\noptim: 5\n", "optim", 2, "expected a section (a map of key: value), got '5'"},
      {"model: m\nextra: [a]\n", "extra", 2, "expected a map of key: value, got a list"},
      {"model: m\ncompetitors:\n  - name: a\n    temperature: hot\n", "competitors[0].temperature",
       4, "expected a number, got 'hot'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    Error e = catch_error([&] { parse(c.yaml); });
    EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
    EXPECT_EQ(e.context().file, "recipe.yaml");
    EXPECT_EQ(e.context().key, c.key);
    EXPECT_EQ(e.context().line, c.line);
    EXPECT_EQ(e.message(), c.message);
  }
}

TEST(ConfigSchema, WrongTypeExactText) {
  EXPECT_EQ(error_of([] { parse("model: m\noptim:\n  lr: abc\n"); }),
            "recipe.yaml:3:7: optim.lr: expected a number, got 'abc'");
}

TEST(ConfigSchema, OutOfRange) {
  const TypeCase cases[] = {
      {"model: m\noptim:\n  lr: 2\n", "optim.lr", 3, "must be in [0.0, 1.0], got 2.0"},
      {"model: m\noptim:\n  lr: .nan\n", "optim.lr", 3, "must be in [0.0, 1.0], got .nan"},
      {"model: m\noptim:\n  warmup_steps: -1\n", "optim.warmup_steps", 3, "must be >= 0, got -1"},
      {"model: m\noptim:\n  min_lr: -1e-9\n", "optim.min_lr", 3, "must be >= 0.0, got -1e-09"},
      {"model: m\noptim:\n  beta: -0.5\n", "optim.beta", 3, "must be >= 0.0, got -0.5"},
      {"model: m\nmax_tokens: 0\n", "max_tokens", 2, "must be >= 1, got 0"},
      {"model: m\nnum_workers: 65\n", "num_workers", 2, "must be <= 64, got 65"},
      {"model: m\neval_steps:\n  - 5\n  - 0\n", "eval_steps[1]", 4, "must be >= 1, got 0"},
      {"model: m\ncompetitors:\n  - name: a\n    temperature: 3\n", "competitors[0].temperature", 4,
       "must be in [0.0, 2.0], got 3.0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    Error e = catch_error([&] { parse(c.yaml); });
    EXPECT_EQ(e.context().key, c.key);
    EXPECT_EQ(e.context().line, c.line);
    EXPECT_EQ(e.message(), c.message);
  }
  EXPECT_EQ(error_of([] { parse("model: m\noptim:\n  lr: 2\n"); }),
            "recipe.yaml:3:7: optim.lr: must be in [0.0, 1.0], got 2.0");
}

TEST(ConfigSchema, OneOfSuggestsTheClosestChoice) {
  EXPECT_EQ(error_of([] { parse("model: m\noptim:\n  schedule: cosin\n"); }),
            "recipe.yaml:3:13: optim.schedule: must be one of 'constant', 'linear', 'cosine'; "
            "got 'cosin' (hint: did you mean 'cosine'?)");
  EXPECT_EQ(error_of([] { parse("model: m\noptim:\n  schedule: zzzzzzzz\n"); }),
            "recipe.yaml:3:13: optim.schedule: must be one of 'constant', 'linear', 'cosine'; "
            "got 'zzzzzzzz'");
}

TEST(ConfigSchema, RequiredKeyMissing) {
  // At the top level the file itself is the place.
  EXPECT_EQ(error_of([] { parse("data: []\n"); }), "recipe.yaml: model: required key is missing");
  EXPECT_EQ(error_of([] { parse(""); }), "recipe.yaml: model: required key is missing");
  // In a list item, the item's line.
  Error e = catch_error([] { parse("model: m\ncompetitors:\n  - name: a\n  - endpoint: x\n"); });
  EXPECT_EQ(e.context().key, "competitors[1].name");
  EXPECT_EQ(e.context().line, 4);
  EXPECT_EQ(e.message(), "required key is missing");
  // Present but empty.
  EXPECT_EQ(error_of([] { parse("model: m\ncompetitors:\n  - name: ''\n"); }),
            "recipe.yaml:3:11: competitors[0].name: must not be empty");
}

struct Needy {
  struct Inner {
    int x = 0;
    template <class V>
    void visit(V& v) {
      v.field("x", x).required();
    }
  } inner;
  template <class V>
  void visit(V& v) {
    v.section("inner", inner);
  }
};

TEST(ConfigSchema, RequiredKeyInsideSectionReportsTheSection) {
  // The section is written: the section's key line.
  EXPECT_EQ(error_of([] { parse_recipe_string<Needy>("\ninner:\n  y: 1\n", "n.yaml"); }),
            "n.yaml:2:1: inner.x: required key is missing");
  // The section is absent: still reported, located at the file.
  EXPECT_EQ(error_of([] { parse_recipe_string<Needy>("", "n.yaml"); }),
            "n.yaml: inner.x: required key is missing");
}

TEST(ConfigSchema, CrossFieldCheck) {
  EXPECT_EQ(error_of([] { parse("model: m\noptim:\n  lr: 0.1\n  min_lr: 0.2\n"); }),
            "recipe.yaml:4:11: optim.min_lr: must not exceed optim.lr");
  EXPECT_NO_THROW(parse("model: m\noptim:\n  lr: 0.1\n  min_lr: 0.05\n"));
}

// A rule across two sections, checked at the top level by a dotted key path.
struct Pinned {
  std::vector<std::string> names;
  struct Eval {
    struct Anchor {
      std::string model;
      template <class V>
      void visit(V& v) {
        v.field("model", model);
      }
    } anchor;
    template <class V>
    void visit(V& v) {
      v.section("anchor", anchor);
    }
  } eval;
  template <class V>
  void visit(V& v) {
    v.field("names", names);
    v.section("eval", eval);
    v.check(eval.anchor.model.empty() || std::find(names.begin(), names.end(), eval.anchor.model) != names.end(),
            "eval.anchor.model", "not one of names");
  }
};

TEST(ConfigSchema, CrossSectionCheckNamesTheDottedPathAtItsDeepestLine) {
  EXPECT_EQ(error_of([] { parse_recipe_string<Pinned>("names: [a]\neval:\n  anchor:\n    model: b\n", "p.yaml"); }),
            "p.yaml:4:12: eval.anchor.model: not one of names");
  // Flow style and overrides: the deepest node present locates it.
  Error e = catch_error([] { parse_recipe_string<Pinned>("names: [a]\neval: {anchor: {model: b}}\n", "p.yaml"); });
  EXPECT_EQ(e.context().key, "eval.anchor.model");
  EXPECT_EQ(e.context().line, 2);
  EXPECT_NE(error_of([] { parse_recipe_string<Pinned>("names: [a]\n", "p.yaml", {"eval.anchor.model=b"}); })
                .find("eval.anchor.model: not one of names"),
            std::string::npos);
  EXPECT_NO_THROW(parse_recipe_string<Pinned>("names: [a]\neval: {anchor: {model: a}}\n", "p.yaml"));
}

TEST(ConfigSchema, TopLevelMustBeAMap) {
  EXPECT_EQ(error_of([] { parse("- a\n- b\n"); }),
            "recipe.yaml:1:1: expected a section (a map of key: value), got a list");
}

TEST(ConfigSchema, YamlSyntaxErrorHasLineAndColumn) {
  Error e = catch_error([] { parse("model: m\ndata: [a, b\noptim:\n  lr: 1\n"); });
  EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
  EXPECT_EQ(e.context().file, "recipe.yaml");
  EXPECT_GT(e.context().line, 1);
  EXPECT_GT(e.context().column, 0);
  EXPECT_NE(e.message().find("YAML syntax error"), std::string::npos) << e.what();

  EXPECT_EQ(error_of([] { parse("model: m\n  bad: indent\n"); }),
            "recipe.yaml:2:6: YAML syntax error: illegal map value");
}

TEST(ConfigSchema, SecondDocumentIsAnError) {
  EXPECT_EQ(error_of([] { parse("model: m\n---\nmodel: n\n"); }),
            "recipe.yaml:3:1: more than one YAML document; a recipe is a single document");
}

TEST(ConfigSchema, DuplicateKeyIsAnError) {
  EXPECT_EQ(error_of([] { parse("model: m\noptim:\n  lr: 0.1\n  lr: 0.2\n"); }),
            "recipe.yaml:4:3: optim.lr: duplicate key (first written at line 3)");
}

}  // namespace
}  // namespace fw::config::test

namespace fw::config::test {
namespace {

// An enumeration with names (core/enum_names.h) binds from its name and dumps as it.
enum class Color { Red, DarkBlue };
constexpr std::array<EnumName<Color>, 2> enum_names(Color) { return {{{Color::Red, "red"}, {Color::DarkBlue, "dark_blue"}}}; }

struct Painted {
  Color color = Color::Red;
  std::vector<Color> palette;
  template <class V>
  void visit(V& v) {
    v.field("color", color);
    v.field("palette", palette);
  }
};

TEST(ConfigSchema, NamedEnumBindsFromItsNameAndDumpsAsIt) {
  const Painted p = parse_recipe_string<Painted>("color: dark_blue\npalette: [red, dark_blue]\n", "p.yaml");
  EXPECT_EQ(p.color, Color::DarkBlue);
  EXPECT_EQ(p.palette, (std::vector<Color>{Color::Red, Color::DarkBlue}));
  EXPECT_EQ(parse_recipe_string<Painted>("", "p.yaml").color, Color::Red);  // the default
  const std::string text = dump_yaml(p);
  EXPECT_NE(text.find("color: dark_blue"), std::string::npos) << text;
  const Painted back = parse_recipe_string<Painted>(text, "dumped.yaml");
  EXPECT_EQ(back.color, p.color);
  EXPECT_EQ(back.palette, p.palette);
}

TEST(ConfigSchema, UnknownEnumNameIsRefusedWithThePathAndTheNames) {
  EXPECT_EQ(error_of([] { parse_recipe_string<Painted>("color: dark_blu\n", "p.yaml"); }),
            "p.yaml:1:8: color: must be one of 'red', 'dark_blue'; got 'dark_blu' (hint: did you mean 'dark_blue'?)");
  EXPECT_EQ(error_of([] { parse_recipe_string<Painted>("palette: [red, green]\n", "p.yaml"); }),
            "p.yaml:1:16: palette[1]: must be one of 'red', 'dark_blue'; got 'green'");
  EXPECT_THROW(parse_recipe_string<Painted>("color: 3\n", "p.yaml"), Error);
}

struct WithKwargs {
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
  template <class V>
  void visit(V& v) {
    v.field("kwargs", kwargs);
  }
};

// A free-form value (a chat template's keyword arguments) keeps YAML's core-schema types,
// nesting and key order, and dumps back to the same value.
TEST(ConfigSchema, JsonValueKeepsYamlTypesAndOrder) {
  const WithKwargs w = parse_recipe_string<WithKwargs>(
      "kwargs:\n  enable_thinking: false\n  date_string: 26 Jul 2024\n  n: 3\n  t: 0.5\n  quoted: \"true\"\n"
      "  none: null\n  model: 7b-chat\n  list: [1, two]\n  nested: {b: 1, a: -2.5e3}\n",
      "k.yaml");
  const auto want = nlohmann::ordered_json::parse(
      R"({"enable_thinking": false, "date_string": "26 Jul 2024", "n": 3, "t": 0.5, "quoted": "true", "none": null,
          "model": "7b-chat", "list": [1, "two"], "nested": {"b": 1, "a": -2500.0}})");
  EXPECT_EQ(w.kwargs, want);
  EXPECT_EQ(w.kwargs.dump(), want.dump());  // the order as written
  EXPECT_EQ(parse_recipe_string<WithKwargs>("", "k.yaml").kwargs, nlohmann::ordered_json::object());
  const WithKwargs back = parse_recipe_string<WithKwargs>(dump_yaml(w), "dumped.yaml");
  EXPECT_EQ(back.kwargs.dump(), want.dump());
  // YAML 1.1's yes/no/on/off would be true-ish strings to a template: refused, with the key.
  EXPECT_NE(error_of([] { parse_recipe_string<WithKwargs>("kwargs:\n  enable_thinking: no\n", "k.yaml"); })
                .find("kwargs.enable_thinking"),
            std::string::npos);
  EXPECT_EQ(parse_recipe_string<WithKwargs>("kwargs:\n  answer: \"no\"\n", "k.yaml").kwargs["answer"], "no");
}

}  // namespace
}  // namespace fw::config::test
