// Hugging Face checkpoint folders: config.json + safetensors (+ tokenizer files,
// generation_config.json). Loading checks every tensor's name and shape against the
// architecture before copying; saving writes a folder transformers and vLLM load as is.
#pragma once

#include <optional>
#include <string>

#include "model/llama.h"

namespace fw::model {

struct LoadOptions {
  std::optional<at::ScalarType> dtype;  // default: the checkpoint's own dtype
  at::Device device = at::kCPU;
};

// A causal LM. Errors (fw::Error) name the file and tensor: missing tensors, unexpected
// tensors, shape mismatches.
LlamaForCausalLM load_causal_lm(const std::string& dir, const LoadOptions& opts = {});

// A scalar-head model (reward / value). From a LlamaForSequenceClassification folder the
// head is loaded; from a causal LM folder the backbone is loaded and the head is freshly
// initialised (N(0, 0.02)), with lm_head ignored.
LlamaForScore load_score_model(const std::string& dir, const LoadOptions& opts = {});

// Writes config.json (the given config, with architecture and dtype set to match the
// module), the weights, and generation_config.json. Parameters are saved in their
// current dtype.
void save_causal_lm(LlamaForCausalLM& model, const std::string& dir);
void save_score_model(LlamaForScore& model, const std::string& dir);

// Copies the tokenizer files (tokenizer.model, tokenizer.json, tokenizer_config.json,
// special_tokens_map.json, added_tokens.json), the chat template files
// (chat_template.jinja, chat_template.json) and generation_config.json that exist from one
// model folder to another.
void copy_tokenizer_files(const std::string& from_dir, const std::string& to_dir);

at::ScalarType dtype_from_name(const std::string& name);  // float32|bfloat16|float16
std::string dtype_to_name(at::ScalarType dtype);

}  // namespace fw::model
