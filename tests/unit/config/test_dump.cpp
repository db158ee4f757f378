// Dumping the resolved config, files on disk, and the round trip parse(dump(x)) == x.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "tests/support/test_tmp.h"
#include "tests/unit/config/recipes.h"

namespace fw::config::test {
namespace {

std::string tmp_path(const std::string& name) {
  std::filesystem::create_directories(fw::testing::tmp_dir() + "/config");
  return fw::testing::tmp_dir() + "/config/" + name;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(ConfigDump, DefaultsInDeclarationOrder) {
  EXPECT_EQ(dump_yaml(OptimConfig{}),
            "lr: 1e-05  # peak learning rate\n"
            "warmup_steps: 0\n"
            "schedule: cosine\n"
            "min_lr: ~\n"
            "beta: 0.1\n");
}

TEST(ConfigDump, NestedSectionsAndLists) {
  Recipe r;
  r.model = "m";
  r.competitors = {{"a", "local", 0.5}};
  r.data = {"x.jsonl"};
  EXPECT_EQ(dump_yaml(r),
            "model: m  # base model\n"
            "optim:\n"
            "  lr: 1e-05  # peak learning rate\n"
            "  warmup_steps: 0\n"
            "  schedule: cosine\n"
            "  min_lr: ~\n"
            "  beta: 0.1\n"
            "data: [x.jsonl]  # training files\n"
            "seed: ~\n"
            "bf16: true\n"
            "max_tokens: 1048576\n"
            "num_workers: 2\n"
            "competitors:\n"
            "  - name: a\n"
            "    endpoint: local\n"
            "    temperature: 0.5\n"
            "extra: {}\n"
            "eval_steps: [100]\n");
}

Recipe awkward_recipe() {
  Recipe r;
  r.model = "true";  // strings that look like other things must come back as strings
  r.optim.lr = 0.1;
  r.optim.warmup_steps = -0;
  r.optim.min_lr = 1e-300;
  r.optim.beta = 0.3f;
  r.data = {"",    "123",  "null", "a: b", "# not a comment", "- dash", "line1\nline2", "'q'",
            "yes", ".inf", "x, y", "[z]"};
  r.seed = -42;
  r.bf16 = false;
  r.max_tokens = std::numeric_limits<int64_t>::max();
  r.num_workers = 0;
  r.competitors = {{"a", "local", 0.0}, {"b: c", "http://h:1/v1", 2.0}};
  r.extra = {{"k", "v"}, {"empty", ""}, {"num", "1.5"}};
  r.eval_steps = {};
  return r;
}

TEST(ConfigDump, RoundTrip) {
  for (const Recipe& r : {awkward_recipe(), Recipe{.model = "plain"}}) {
    std::string text = dump_yaml(r);
    SCOPED_TRACE(text);
    Recipe back = parse_recipe_string<Recipe>(text, "dump.yaml");
    EXPECT_EQ(back, r);
    EXPECT_EQ(dump_yaml(back), text);
  }
  // Strings that other YAML readers would take for a boolean, null or number are quoted.
  std::string text = dump_yaml(awkward_recipe());
  EXPECT_NE(text.find("model: \"true\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"123\", \"null\""), std::string::npos) << text;
  EXPECT_NE(text.find("num: \"1.5\""), std::string::npos) << text;
}

struct Free {
  double x = 0;
  template <class V>
  void visit(V& v) {
    v.field("x", x);
  }
};

struct Inf {
  double a = std::numeric_limits<double>::infinity(), b = -a, c = std::nan("");
  template <class V>
  void visit(V& v) {
    v.field("a", a);
    v.field("b", b);
    v.field("c", c);
  }
};

TEST(ConfigDump, DoublesRoundTripExactly) {
  for (double v : {0.1, 1.0 / 3.0, 1e-300, 5e-324, 0.0, -2.5, 1.0, 1e22, 123456789.125}) {
    Free f{v};
    Free back = parse_recipe_string<Free>(dump_yaml(f), "d.yaml");
    EXPECT_EQ(back.x, v) << dump_yaml(f);
  }
  EXPECT_EQ(dump_yaml(Inf{}), "a: .inf\nb: -.inf\nc: .nan\n");
  Inf back = parse_recipe_string<Inf>("a: .inf\nb: -.inf\nc: .nan\n", "d.yaml");
  EXPECT_TRUE(std::isinf(back.a) && back.a > 0);
  EXPECT_TRUE(std::isinf(back.b) && back.b < 0);
  EXPECT_TRUE(std::isnan(back.c));
}

TEST(ConfigFiles, LoadRecipeFromFileWithOverrides) {
  std::string path = tmp_path("load.yaml");
  write(path, "model: m\noptim:\n  lr: 0.1\n");
  Recipe r = load_recipe<Recipe>(path, {"optim.lr=0.2"});
  EXPECT_EQ(r.model, "m");
  EXPECT_DOUBLE_EQ(r.optim.lr, 0.2);
  // Errors name the path as given.
  write(path, "model: m\noptim:\n  lrr: 0.1\n");
  EXPECT_EQ(error_of([&] { load_recipe<Recipe>(path); }),
            path + ":3:3: optim.lrr: unknown key (hint: did you mean 'optim.lr'?)");
}

TEST(ConfigFiles, MissingFileNamesTheFile) {
  std::string path = tmp_path("does-not-exist.yaml");
  Error e = catch_error([&] { load_recipe<Recipe>(path); });
  EXPECT_EQ(e.kind(), ErrorKind::InvalidInput);
  EXPECT_EQ(e.context().file, path);
  EXPECT_STREQ(e.what(), (path + ": cannot open recipe: No such file or directory").c_str());
  EXPECT_EQ(catch_error([&] { load_recipe<Recipe>(fw::testing::tmp_dir()); }).context().file,
            fw::testing::tmp_dir());
}

TEST(ConfigFiles, WriteResolvedConfigReadsBack) {
  std::string path = tmp_path("resolved.yaml");
  Recipe r = awkward_recipe();
  write_resolved_config(r, path);
  EXPECT_EQ(load_recipe<Recipe>(path), r);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, dump_yaml(r));
}

}  // namespace
}  // namespace fw::config::test
