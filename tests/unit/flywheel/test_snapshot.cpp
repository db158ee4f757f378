// A given start is identified by its model files' content (checkpoint_sha256), not by
// its path: a copy elsewhere is the same start, changed weights or config are another,
// files the model does not load do not count, a folder without weights is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "config/recipe.h"
#include "flywheel/snapshot.h"
#include "flywheel/trainer_stages.h"
#include "trainer/sft_recipe.h"
#include "tests/support/test_tmp.h"

namespace {
namespace fs = std::filesystem;
using fw::flywheel::checkpoint_sha256;

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string model_folder(const std::string& name) {
  const std::string dir = fw::testing::tmp_dir() + "/" + name;
  fs::create_directories(dir);
  write(dir + "/config.json", R"({"hidden_size": 8})");
  write(dir + "/model.safetensors", "weights-v1");
  return dir;
}

TEST(CheckpointSha, IsTheModelFilesContentNotThePath) {
  const std::string a = model_folder("start_a");
  const std::string copy = fw::testing::tmp_dir() + "/elsewhere/start_copy";
  fs::create_directories(copy);
  fs::copy(a, copy, fs::copy_options::recursive);
  const std::string sha = checkpoint_sha256(a);
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_EQ(checkpoint_sha256(copy), sha);

  write(copy + "/README.md", "notes");  // not part of the model
  fs::create_directories(copy + "/trainer_state");
  write(copy + "/trainer_state/optimizer.pt", "state");
  EXPECT_EQ(checkpoint_sha256(copy), sha);

  write(copy + "/model.safetensors", "weights-v2");
  EXPECT_NE(checkpoint_sha256(copy), sha);
  write(copy + "/model.safetensors", "weights-v1");
  write(copy + "/config.json", R"({"hidden_size": 16})");
  EXPECT_NE(checkpoint_sha256(copy), sha);
  // The tokenizer and the chat template are trained with too: they count.
  const std::string with_config = checkpoint_sha256(copy);
  write(copy + "/tokenizer_config.json", R"({"chat_template": "{{ messages }}"})");
  EXPECT_NE(checkpoint_sha256(copy), with_config);
}

TEST(CheckpointSha, ShardsCountEachAndAFolderWithoutWeightsIsRefused) {
  const std::string dir = fw::testing::tmp_dir() + "/sharded";
  fs::create_directories(dir);
  write(dir + "/config.json", "{}");
  write(dir + "/model.safetensors.index.json", "{}");
  write(dir + "/model-00001-of-00002.safetensors", "one");
  write(dir + "/model-00002-of-00002.safetensors", "two");
  const std::string sha = checkpoint_sha256(dir);
  write(dir + "/model-00002-of-00002.safetensors", "TWO");
  EXPECT_NE(checkpoint_sha256(dir), sha);

  const std::string empty = fw::testing::tmp_dir() + "/no_weights";
  fs::create_directories(empty);
  write(empty + "/config.json", "{}");
  try {
    checkpoint_sha256(empty);
    FAIL() << "a folder without weights was accepted";
  } catch (const fw::Error& e) {
    EXPECT_EQ(fw::exit_code(e), 2);
    EXPECT_NE(std::string(e.what()).find("target.start"), std::string::npos) << e.what();
  }
  EXPECT_THROW(checkpoint_sha256(fw::testing::tmp_dir() + "/missing"), fw::Error);
}

}  // namespace

namespace {

// A stage's inputs hash reads the recipes without keys added since (at their defaults),
// so a run folder made before them resumes instead of being refused as changed.
TEST(StageHash, ARecipeKeyAddedLaterIsLeftOutAtItsDefault) {
  fw::trainer::SftRecipe r;
  r.run.output_dir = "x";
  r.data.train = {"a.jsonl"};
  const std::string text = fw::config::dump_yaml(r);
  ASSERT_NE(text.find("verifier: synthetic"), std::string::npos) << text;
  const std::string hashed = fw::flywheel::hashed_recipes(text);
  EXPECT_EQ(hashed.find("verifier:"), std::string::npos) << hashed;
  EXPECT_EQ(hashed.find("chat_template_kwargs"), std::string::npos) << hashed;
  EXPECT_EQ(hashed.size() + std::string("  verifier: synthetic  # synthetic | exact_match\n").size() +
                std::string("  chat_template_kwargs: {}  # template keyword arguments, e.g. {enable_thinking: false}\n").size(),
            text.size());
  r.eval.verifier = fw::trainer::VerifierKind::ExactMatch;  // not the default: it counts
  EXPECT_NE(fw::flywheel::hashed_recipes(fw::config::dump_yaml(r)).find("verifier: exact_match"), std::string::npos);
  r.model.chat_template_kwargs = {{"enable_thinking", false}};
  EXPECT_NE(fw::flywheel::hashed_recipes(fw::config::dump_yaml(r)).find("enable_thinking: false"), std::string::npos);
}

}  // namespace

namespace {

// target.chat_template_kwargs reach every stage's trainer recipe (what the target trains
// under is what it battles under); a stage recipe that sets others is refused.
TEST(StageRecipes, TheTargetsTemplateKwargsReachTheTrainerAndAreNotContradicted) {
  fw::flywheel::TrainerStageSection s;
  s.recipe = std::string(FW_SOURCE_DIR) + "/configs/sft/tiny.yaml";
  fw::flywheel::StageCommon c;
  c.output_dir = "out";
  c.model_path = "snapshot";
  c.train_files = {"a.jsonl"};
  const auto plain = fw::flywheel::prepare_sft(s, "sft", c);
  EXPECT_TRUE(plain.recipe.model.chat_template_kwargs.empty());
  c.chat_template_kwargs = {{"enable_thinking", false}};
  const auto p = fw::flywheel::prepare_sft(s, "sft", c);
  EXPECT_EQ(p.recipe.model.chat_template_kwargs, c.chat_template_kwargs);
  EXPECT_NE(p.yaml.find("enable_thinking: false"), std::string::npos) << p.yaml;
  s.overrides = {"model.chat_template_kwargs={enable_thinking: false}"};  // repeating them is fine
  EXPECT_NO_THROW(fw::flywheel::prepare_sft(s, "sft", c));
  s.overrides = {"model.chat_template_kwargs={enable_thinking: true}"};
  try {
    fw::flywheel::prepare_sft(s, "sft", c);
    ADD_FAILURE() << "contradicting kwargs were accepted";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.context().key, "target.chat_template_kwargs") << e.what();
  }
  c.chat_template_kwargs = nlohmann::ordered_json::object();  // none for the target, some for the stage
  EXPECT_THROW(fw::flywheel::prepare_sft(s, "sft", c), fw::Error);
}

}  // namespace
