// The SFT recipe end to end through the library: gradient accumulation is exact, runs
// are deterministic, outputs are complete HF folders.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/recipe.h"
#include "core/error.h"
#include "model/checkpoint.h"
#include "sft_fixtures.h"
#include "tests/support/test_tmp.h"
#include "trainer/sft.h"

namespace {
using namespace fw;
namespace fs = std::filesystem;

double max_param_diff(const std::string& a, const std::string& b) {
  auto x = model::load_causal_lm(a), y = model::load_causal_lm(b);
  auto px = x->named_parameters(), py = y->named_parameters();
  double d = 0;
  for (const auto& item : px) d = std::max(d, (item.value() - py[item.key()]).abs().max().item<double>());
  return d;
}

std::string data_path() {
  static std::string p = fw::testing::write_addition_sft(fw::testing::tmp_dir() + "/sft_recipe_data.jsonl", 64);
  return p;
}

TEST(SftRecipe, GradientAccumulationEqualsOneBigBatch) {
  auto big = fw::testing::tiny_sft_recipe(fw::testing::fresh_dir("sft_accum_big"), data_path());
  big.train.micro_batch_size = 8;
  big.train.grad_accum = 1;
  big.train.max_steps = 4;
  auto small = big;
  small.run.output_dir = fw::testing::fresh_dir("sft_accum_small");
  small.train.micro_batch_size = 2;
  small.train.grad_accum = 4;
  auto a = trainer::run_sft(big, config::dump_yaml(big));
  auto b = trainer::run_sft(small, config::dump_yaml(small));
  EXPECT_EQ(a.steps, 4);
  EXPECT_NEAR(a.last_loss, b.last_loss, 1e-5);
  const double diff = max_param_diff(a.final_dir, b.final_dir);
  EXPECT_LT(diff, 1e-5) << "largest parameter difference " << diff;
}

TEST(SftRecipe, LossFallsAndOutputsAreComplete) {
  auto r = fw::testing::tiny_sft_recipe(fw::testing::fresh_dir("sft_learns"), data_path());
  r.train.max_steps = 90;
  r.checkpoint.every_steps = 30;
  r.checkpoint.keep_last = 2;
  auto res = trainer::run_sft(r, config::dump_yaml(r));
  EXPECT_EQ(res.steps, 90);
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(fs::exists(fs::path(res.final_dir) / f)) << f;
  EXPECT_TRUE(fs::exists(r.run.output_dir + "/metrics.jsonl"));
  EXPECT_TRUE(fs::exists(r.run.output_dir + "/config.yaml"));
  EXPECT_FALSE(fs::exists(r.run.output_dir + "/checkpoint-00000030"));  // keep_last 2
  EXPECT_TRUE(fs::exists(r.run.output_dir + "/checkpoint-00000060/trainer_state/optimizer.pt"));
  EXPECT_TRUE(fs::exists(r.run.output_dir + "/checkpoint-00000090/trainer_state/manifest.json"));
  // The first logged loss is near ln(vocab); training brings it well down.
  std::ifstream metrics(r.run.output_dir + "/metrics.jsonl");
  std::string first;
  std::getline(metrics, first);
  const double first_loss = nlohmann::json::parse(first)["loss"].get<double>();
  EXPECT_LT(res.last_loss, 0.4 * first_loss) << "first " << first_loss << " last " << res.last_loss;
}

TEST(SftRecipe, RunsAreDeterministic) {
  auto a = fw::testing::tiny_sft_recipe(fw::testing::fresh_dir("sft_det_a"), data_path());
  auto b = a;
  b.run.output_dir = fw::testing::fresh_dir("sft_det_b");
  auto ra = trainer::run_sft(a, config::dump_yaml(a));
  auto rb = trainer::run_sft(b, config::dump_yaml(b));
  EXPECT_EQ(max_param_diff(ra.final_dir, rb.final_dir), 0.0);
}

TEST(SftRecipe, UnknownRecipeKeySuggestsTheRightOne) {
  try {
    config::parse_recipe_string<trainer::SftRecipe>("output_dir: x\ndata:\n  train: [a.jsonl]\n  max_seq_lenn: 5\n", "r.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "r.yaml:4:3: data.max_seq_lenn: unknown key (hint: did you mean 'data.max_seq_len'?)");
  }
  try {
    config::parse_recipe_string<trainer::SftRecipe>("output_dir: x\ndata: {train: [a.jsonl]}\ntrain: {micro_batch_size: 0}\n", "r.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.micro_batch_size"), std::string::npos) << e.what();
  }
}

// Every enumeration of a recipe is an enum after parsing: its names bind, and any other name
// is refused with the key's path (never defaulted).
TEST(RecipeEnums, EachNamedKeyBindsItsNamesAndRefusesOthersWithItsPath) {
  const std::string base = "output_dir: x\ndata: {train: [a.jsonl]}\n";
  struct Case {
    std::string key, good, bad;
  };
  for (const Case& c : std::vector<Case>{{"dtype", "bfloat16", "fp16"},
                                         {"train.on_nan", "skip", "ignore"},
                                         {"schedule.kind", "linear", "cosin"},
                                         {"data.mask", "last_assistant", "assistant"},
                                         {"data.truncation", "left", "keep_end"},
                                         {"tokenizer.train_model_type", "char", "wordpiece"},
                                         {"eval.verifier", "exact_match", "regex"}}) {
    EXPECT_NO_THROW(config::parse_recipe_string<trainer::SftRecipe>(base, "r.yaml", {c.key + "=" + c.good})) << c.key;
    try {
      config::parse_recipe_string<trainer::SftRecipe>(base, "r.yaml", {c.key + "=" + c.bad});
      ADD_FAILURE() << c.key << "=" << c.bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.key + ": must be one of"), std::string::npos) << e.what();
    }
  }
  const auto r = config::parse_recipe_string<trainer::SftRecipe>(base, "r.yaml", {"train.on_nan=skip", "dtype=bfloat16"});
  EXPECT_EQ(r.train.on_nan, trainer::OnNan::Skip);
  EXPECT_EQ(r.run.dtype, trainer::ComputeDtype::BFloat16);
  EXPECT_EQ(r.data.mask, data::MaskMode::AllAssistant);  // the default
}

}  // namespace
