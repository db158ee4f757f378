// The architecture of a Llama-family decoder, read from and written to Hugging Face's
// config.json. Covers LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM and
// Qwen3ForCausalLM (dense; and their ForSequenceClassification variants), in both transformers 4.x (`rope_theta`,
// `rope_scaling`, `torch_dtype`) and 5.x (`rope_parameters`, `dtype`) spellings.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace fw::model {

struct RopeConfig {
  double theta = 10000.0;        // base of the rotary frequencies
  std::string type = "default";  // default | linear | llama3
  double factor = 1.0;           // linear and llama3: context extension factor
  double low_freq_factor = 1.0;  // llama3
  double high_freq_factor = 4.0; // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3
};

struct LlamaConfig {
  std::string architecture = "LlamaForCausalLM";  // first entry of "architectures"
  std::string model_type = "llama";               // llama | mistral | qwen2 | qwen3
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;           // C
  int64_t intermediate_size = 11008;    // SwiGLU inner width
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;     // H
  int64_t num_key_value_heads = 32;     // Hkv; H % Hkv == 0 (GQA; 1 = MQA)
  int64_t head_dim = 128;               // D; defaults to C / H
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool attention_bias = false;  // bias on q, k, v and o (Llama's flag)
  bool qkv_bias = false;        // bias on q, k, v only (always on for Qwen2)
  bool qk_norm = false;         // RMSNorm over each head's q and k before RoPE (Qwen3)
  bool mlp_bias = false;
  bool tie_word_embeddings = false;
  std::vector<int64_t> sliding_window_layers;  // layers with windowed attention
  int64_t sliding_window = 0;                  // window size; 0 = none
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // HF allows a list (Llama-3)
  std::optional<int64_t> pad_token_id;
  std::string dtype = "float32";  // float32 | bfloat16 | float16: the stored weights
  int64_t num_labels = 1;         // ForSequenceClassification heads

  bool is_sequence_classifier() const;
  bool uses_sliding_window(int64_t layer) const;

  // Parses config.json content; errors name `source` and the offending key.
  static LlamaConfig from_hf_json(const nlohmann::json& j, const std::string& source);
  static LlamaConfig load(const std::string& model_dir);  // reads MODEL_DIR/config.json

  // Serialises in transformers' layout. Writes both the 4.x and 5.x spellings of rope
  // and dtype so either major version (and vLLM) loads it.
  nlohmann::ordered_json to_hf_json() const;
  void save(const std::string& model_dir) const;

  // Total parameters of the causal LM (or classifier) this config describes.
  int64_t num_parameters() const;
  void validate(const std::string& source) const;
};

}  // namespace fw::model
