#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/generation_config.h"
#include "tests/support/test_tmp.h"

namespace {
using fw::model::GenerationConfig;
using fw::model::LlamaConfig;
using nlohmann::json;

// Llama-3.1-8B-Instruct's generation_config.json, as published.
constexpr const char* kLlama31 = R"({"bos_token_id": 128000, "do_sample": true,
  "eos_token_id": [128001, 128008, 128009], "temperature": 0.6, "top_p": 0.9,
  "transformers_version": "4.42.3"})";

TEST(GenerationConfig, ReadsEveryEosIdAndTheSamplingDefaults) {
  auto g = GenerationConfig::from_hf_json(json::parse(kLlama31), "generation_config.json");
  EXPECT_EQ(g.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(g.bos_token_id, 128000);
  EXPECT_EQ(g.do_sample, true);
  EXPECT_DOUBLE_EQ(*g.temperature, 0.6);
  EXPECT_DOUBLE_EQ(*g.top_p, 0.9);
  EXPECT_FALSE(g.top_k.has_value());
}

TEST(GenerationConfig, StopIdsJoinTheThreeSourcesInOrderWithoutRepeats) {
  auto g = GenerationConfig::from_hf_json(json::parse(R"({"eos_token_id": [151645, 151643]})"), "g");
  LlamaConfig c;
  c.eos_token_ids = {151643};
  EXPECT_EQ(fw::model::stop_token_ids(g, c, 151645), (std::vector<int64_t>{151645, 151643}));
  // A model trained here: no generation config, config.json's id and the tokenizer's.
  c.eos_token_ids = {2};
  EXPECT_EQ(fw::model::stop_token_ids(GenerationConfig{}, c, 2), (std::vector<int64_t>{2}));
  c.eos_token_ids = {};
  EXPECT_EQ(fw::model::stop_token_ids(GenerationConfig{}, c, -1), (std::vector<int64_t>{}));
}

TEST(GenerationConfig, AFolderWithoutOneGivesNothingAndABadOneNamesFileAndKey) {
  const std::string dir = fw::testing::tmp_dir() + "/gen_config";
  std::filesystem::create_directories(dir);
  EXPECT_TRUE(GenerationConfig::load(dir).eos_token_ids.empty());
  EXPECT_TRUE(GenerationConfig::load("").eos_token_ids.empty());
  std::ofstream(dir + "/generation_config.json") << R"({"eos_token_id": "two"})";
  try {
    GenerationConfig::load(dir);
    FAIL() << "a string eos_token_id was accepted";
  } catch (const fw::Error& e) {
    EXPECT_NE(std::string(e.what()).find("generation_config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("eos_token_id"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/generation_config.json") << R"({"eos_token_id": [1, "x"]})";
  EXPECT_THROW(GenerationConfig::load(dir), fw::Error);
}

}  // namespace
