#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/llama_config.h"

namespace {
using fw::model::LlamaConfig;
using nlohmann::json;

json base() {
  return json::parse(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 100,
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 8,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "eos_token_id": [5, 6], "torch_dtype": "bfloat16",
    "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})");
}

TEST(LlamaConfig, ReadsTransformers4Spelling) {
  auto c = LlamaConfig::from_hf_json(base(), "config.json");
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.rope.type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(c.dtype, "bfloat16");
}

TEST(LlamaConfig, ReadsTransformers5SpellingAndRoundTrips) {
  json j = base();
  j.erase("rope_theta");
  j.erase("rope_scaling");
  j.erase("torch_dtype");
  j["dtype"] = "float32";
  j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 1234.0}};
  auto c = LlamaConfig::from_hf_json(j, "config.json");
  EXPECT_EQ(c.rope.type, "linear");
  EXPECT_DOUBLE_EQ(c.rope.theta, 1234.0);
  auto again = LlamaConfig::from_hf_json(json::parse(c.to_hf_json().dump()), "x");
  EXPECT_EQ(again.rope.type, "linear");
  EXPECT_DOUBLE_EQ(again.rope.factor, 2.0);
  EXPECT_EQ(again.num_key_value_heads, 2);
}

TEST(LlamaConfig, QwenSlidingWindowLayers) {
  json j = base();
  j["model_type"] = "qwen2";
  j["use_sliding_window"] = true;
  j["sliding_window"] = 16;
  j["max_window_layers"] = 1;
  auto c = LlamaConfig::from_hf_json(j, "config.json");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.uses_sliding_window(0));
  EXPECT_TRUE(c.uses_sliding_window(1));
}

TEST(LlamaConfig, ErrorsNameTheKey) {
  struct Case { const char* key; json value; const char* expect; };
  std::vector<Case> cases = {
      {"num_key_value_heads", 3, "multiple of num_key_value_heads"},
      {"hidden_size", "big", "wrong type"},
      {"model_type", "gpt2", "not a supported"},
      {"vocab_size", 0, "must be positive"},
      {"hidden_act", "gelu", "silu"},
  };
  for (const auto& c : cases) {
    json j = base();
    j[c.key] = c.value;
    try {
      LlamaConfig::from_hf_json(j, "m/config.json");
      ADD_FAILURE() << c.key << ": no error";
    } catch (const fw::Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
      EXPECT_EQ(e.context().file, "m/config.json");
    }
  }
}

}  // namespace
