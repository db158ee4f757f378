// key=value overrides from the command line: applied to the tree before binding, checked
// like file values, blamed on the command line.
#include <gtest/gtest.h>

#include "tests/unit/config/recipes.h"

namespace fw::config::test {
namespace {

const char* kBase = R"(model: m
optim:
  lr: 0.1
data: [x.jsonl]
competitors:
  - name: a
  - name: b
)";

TEST(ConfigOverrides, ScalarAndNested) {
  Recipe r = parse(kBase, {"model=other", "optim.lr=3e-6", "optim.schedule=linear", "bf16=false"});
  EXPECT_EQ(r.model, "other");
  EXPECT_DOUBLE_EQ(r.optim.lr, 3e-6);
  EXPECT_EQ(r.optim.schedule, "linear");
  EXPECT_FALSE(r.bf16);
}

TEST(ConfigOverrides, ListValue) {
  EXPECT_EQ(parse(kBase, {"data=[a.jsonl,b.jsonl]"}).data,
            (std::vector<std::string>{"a.jsonl", "b.jsonl"}));
  EXPECT_EQ(parse(kBase, {"data=[]"}).data, std::vector<std::string>{});
  EXPECT_EQ(parse(kBase, {"data[0]=y.jsonl"}).data, std::vector<std::string>{"y.jsonl"});
}

TEST(ConfigOverrides, ListItemPath) {
  Recipe r = parse(kBase, {"competitors[1].name=gpt", "competitors[0].temperature=0"});
  ASSERT_EQ(r.competitors.size(), 2u);
  EXPECT_EQ(r.competitors[1].name, "gpt");
  EXPECT_EQ(r.competitors[0].temperature, 0.0);
  // Index == length appends an item.
  r = parse(kBase, {"competitors[2].name=c"});
  ASSERT_EQ(r.competitors.size(), 3u);
  EXPECT_EQ(r.competitors[2], (Competitor{"c", "local", 0.7}));
  // A list the file omitted.
  r = parse("model: m\n", {"competitors[0].name=solo"});
  EXPECT_EQ(r.competitors, (std::vector<Competitor>{{"solo", "local", 0.7}}));
  // A whole item as a flow map.
  r = parse(kBase, {"competitors[0]={name: z, endpoint: http://h}"});
  EXPECT_EQ(r.competitors[0], (Competitor{"z", "http://h", 0.7}));
}

TEST(ConfigOverrides, CreateAndClearKeysTheFileOmitted) {
  EXPECT_EQ(parse(kBase, {"seed=7"}).seed, 7);
  EXPECT_FALSE(parse("model: m\nseed: 3\n", {"seed="}).seed.has_value());
  EXPECT_FALSE(parse("model: m\nseed: 3\n", {"seed=null"}).seed.has_value());
  EXPECT_EQ(parse(kBase, {"extra.run=nightly"}).extra.at("run"), "nightly");
  EXPECT_EQ(parse(kBase, {"optim.min_lr=0.01"}).optim.min_lr, 0.01);
  // Even into an empty document, including a section the file lacks.
  Recipe r = parse("", {"model=m", "optim.warmup_steps=5"});
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.optim.warmup_steps, 5);
  EXPECT_DOUBLE_EQ(r.optim.lr, 1e-5);
}

TEST(ConfigOverrides, LaterOverrideWinsAndQuotesKeepStrings) {
  EXPECT_DOUBLE_EQ(parse(kBase, {"optim.lr=0.2", "optim.lr=0.3"}).optim.lr, 0.3);
  EXPECT_EQ(parse(kBase, {"model=hf:org/name"}).model, "hf:org/name");
  EXPECT_EQ(parse(kBase, {"model='a=b'"}).model, "a=b");
}

TEST(ConfigOverrides, UnknownKeySuggestsAndSaysCommandLine) {
  EXPECT_EQ(error_of([] { parse(kBase, {"optim.lrr=1"}); }),
            "command line: optim.lrr: unknown key in override 'optim.lrr=1' "
            "(hint: did you mean 'optim.lr'?)");
  EXPECT_EQ(
      error_of([] { parse(kBase, {"optm.lr=1"}); }),
      "command line: optm: unknown key in override 'optm.lr=1' (hint: did you mean 'optim'?)");
  EXPECT_EQ(error_of([] { parse(kBase, {"competitors[1].nme=x"}); }),
            "command line: competitors[1].nme: unknown key in override 'competitors[1].nme=x' "
            "(hint: did you mean 'competitors[1].name'?)");
}

TEST(ConfigOverrides, BadTypeSaysItCameFromTheOverride) {
  Error e = catch_error([] { parse(kBase, {"optim.lr=abc"}); });
  EXPECT_STREQ(e.what(),
               "command line: optim.lr: expected a number, got 'abc' in override 'optim.lr=abc'");
  EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
  EXPECT_EQ(e.context().file, "command line");
  EXPECT_EQ(e.context().line, 0);
  EXPECT_EQ(error_of([] { parse(kBase, {"optim.lr=5"}); }),
            "command line: optim.lr: must be in [0.0, 1.0], got 5.0 in override 'optim.lr=5'");
  EXPECT_EQ(error_of([] { parse(kBase, {"data=a.jsonl"}); }),
            "command line: data: expected a list, got 'a.jsonl' in override 'data=a.jsonl'");
}

TEST(ConfigOverrides, MalformedOverrides) {
  struct Case {
    const char* override_text;
    const char* what;
  };
  const Case cases[] = {
      {"optim.lr", "command line: expected key=value in override 'optim.lr'"},
      {"=1", "command line: expected key=value in override '=1'"},
      {"optim..lr=1",
       "command line: malformed key path 'optim..lr' (expected key.sub or key[0].sub) in override "
       "'optim..lr=1'"},
      {"competitors[x].name=1",
       "command line: malformed key path 'competitors[x].name' (expected key.sub or key[0].sub) in "
       "override 'competitors[x].name=1'"},
      {"competitors[0]name=1",
       "command line: malformed key path 'competitors[0]name' (expected key.sub or key[0].sub) in "
       "override 'competitors[0]name=1'"},
      {"competitors[5].name=x",
       "command line: competitors: index 5 is past the end of the list (2 items) in override "
       "'competitors[5].name=x'"},
      {"model.name=x",
       "command line: model: cannot set 'model.name': 'model' holds 'm', not a section in override "
       "'model.name=x'"},
      {"optim[0]=x",
       "command line: optim: cannot index 'optim': it holds a map, not a list in override "
       "'optim[0]=x'"},
      {"competitors[]=1", ""},
      {"competitors[0=1", ""},
      {"competitors[99999999999999999999999].name=1", ""},
      {"data=[a, b", ""},  // YAML error; text checked below
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.override_text);
    Error e = catch_error([&] { parse(kBase, {c.override_text}); });
    EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
    EXPECT_EQ(e.context().file, "command line");
    if (*c.what) {
      EXPECT_STREQ(e.what(), c.what);
    }
  }
  EXPECT_NE(error_of([] { parse(kBase, {"data=[a, b"}); }).find("YAML syntax error"),
            std::string::npos);
  EXPECT_EQ(error_of([] { parse("just text\n", {"model=m"}); }),
            "command line: cannot set 'model': the document holds 'just text', not a section in "
            "override 'model=m'");
}

}  // namespace
}  // namespace fw::config::test
