// Where a recipe's tokenizer and starting model come from: a Hugging Face folder, a
// checkpoint being resumed, or (tiny models) a tokenizer trained on the data and a model
// initialised from scratch.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "model/llama.h"
#include "trainer/checkpoint_dir.h"
#include "trainer/recipe_sections.h"

namespace fw::trainer {

// The tokenizer: from `section.path`, else the model folder, else (train_vocab_size > 0)
// trained on `train_files` and cached at `cache_path` (reused when it exists, so a
// resumed run tokenizes identically).
data::Tokenizer prepare_tokenizer(const TokenizerSection& section, const std::string& model_path,
                                  const std::vector<std::string>& train_files, const data::ChatTemplate& chat_template,
                                  const std::string& cache_path);

// The chat template: the recipe's, or for "auto" the model folder's (plain if none).
data::ChatTemplate resolve_chat_template(const std::string& name, const std::string& model_path,
                                         const nlohmann::ordered_json& kwargs = nlohmann::ordered_json::object());

// A from-scratch model config sized by `s`, with the tokenizer's vocabulary and ids.
model::LlamaConfig scratch_config(const ScratchModelSection& s, const data::Tokenizer& tok);

// Writes tokenizer.model and a tokenizer_config.json (special tokens and the chat
// template as Jinja) so that transformers and `flywheel generate --template auto` use
// the model as it was trained.
void save_tokenizer_files(const data::Tokenizer& tok, const data::ChatTemplate& chat_template, const std::string& dir);

// The causal LM a recipe starts from, fp32 on `device`: the checkpoint being resumed,
// else model.path, else a seeded from-scratch initialisation.
model::LlamaForCausalLM load_starting_lm(const std::optional<CheckpointInfo>& resume, const ModelSection& section,
                                         const data::Tokenizer& tok, at::Device device);

// What writes the tokenizer files into a saved model folder: a copy of the source
// model's files when the tokenizer came from it, else `tok` with the chat template.
std::function<void(const std::string& dir)> tokenizer_writer(const TokenizerSection& section,
                                                              const std::string& model_path,
                                                              const data::Tokenizer& tok,
                                                              const data::ChatTemplate& chat_template);

}  // namespace fw::trainer
