// What a model folder's generation_config.json says about generating: the ids that end a
// sequence (Llama-3.1-Instruct lists three, Qwen2.5-Instruct two) and the sampling
// defaults transformers' generate() falls back on when a call does not set them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/llama_config.h"

namespace fw::model {

struct GenerationConfig {
  std::vector<int64_t> eos_token_ids;  // "eos_token_id": an id or a list
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> pad_token_id;
  std::optional<bool> do_sample;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<double> repetition_penalty;

  // What transformers' generate() samples with when the call sets nothing: greedy unless
  // do_sample, and then temperature 1, top_p 1 and top_k 50 where the file is silent.
  struct Sampling {
    double temperature = 0.0;  // 0 = greedy
    double top_p = 1.0;
    int64_t top_k = 0;         // 0 = off
    double repetition_penalty = 1.0;
  };
  Sampling sampling_defaults() const;

  // Parses generation_config.json content; errors name `source` and the key.
  static GenerationConfig from_hf_json(const nlohmann::json& j, const std::string& source);
  // MODEL_DIR/generation_config.json; a folder without one (or "") gives an empty config.
  static GenerationConfig load(const std::string& model_dir);
};

// Every id that ends a generation: generation_config.json's, then config.json's, then the
// tokenizer's eos (-1 = none), in that order and without repeats. transformers stops on
// the first list; the others hold the same ids in every published model we know of, and
// a model trained here has only the last two.
std::vector<int64_t> stop_token_ids(const GenerationConfig& generation, const LlamaConfig& config,
                                    int64_t tokenizer_eos);
// The same for a model folder ("" = none: config.json's ids and the tokenizer's only).
std::vector<int64_t> stop_token_ids(const std::string& model_dir, const LlamaConfig& config, int64_t tokenizer_eos);

}  // namespace fw::model
