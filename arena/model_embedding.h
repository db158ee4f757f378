// Prompt embeddings from a local Llama-family checkpoint: the masked mean of the final
// hidden states (LlamaModel's output, after the last norm) over the prompt's tokens, L2-
// normalised — the model-based counterpart of the TF-IDF embedder (WizardArena used
// gte-large; any HF Llama/Mistral/Qwen2 folder works here).
//
// A prompt is encoded as the model sees it: data::encode_chat with the generation prompt
// (the folder's chat template, else plain), keeping the last max_len tokens. Prompts are
// sorted by length and run in right-padded batches with an attention mask; the causal
// mask means a real token never sees padding, so a prompt's row does not depend on the
// batch it lands in (up to float rounding).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "arena/embeddings.h"
#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "model/llama.h"

namespace fw::arena {

struct ModelEmbeddingOptions {
  std::string chat_template = "auto";     // auto (the folder's, else plain) | plain | chatml | llama2
  int64_t batch_size = 16;                // prompts per forward pass
  int64_t max_len = 512;                  // tokens kept per prompt (its end)
  c10::Device device = c10::kCPU;
  std::optional<c10::ScalarType> dtype;   // default: the checkpoint's
};

// Rows for already-encoded prompts: masked mean of lm->model's final hidden states,
// in float32, L2-normalised. Empty prompts are errors (fw::Error, InvalidInput).
Embeddings embed_token_ids(model::LlamaModel& model, const std::vector<std::vector<int64_t>>& ids,
                           int64_t batch_size, int64_t pad_id = 0);

class ModelEmbedder {
 public:
  // Loads the model and tokenizer of a checkpoint folder.
  ModelEmbedder(const std::string& model_dir, ModelEmbeddingOptions opts);

  std::vector<int64_t> encode(const std::vector<data::Message>& messages) const;
  Embeddings embed(const std::vector<std::vector<data::Message>>& prompts);
  EmbedFn as_embed_fn();  // refers to this embedder, which must outlive it
  int64_t dim() const;

 private:
  ModelEmbeddingOptions opts_;
  data::Tokenizer tok_;
  data::ChatTemplate template_;
  model::LlamaForCausalLM lm_{nullptr};
};

}  // namespace fw::arena
