// A reward model scoring whole conversations: each one rendered with the chat template,
// batched, right-padded, scored at its last real token (LlamaForScore::score_last), the
// reward DESIGN.md §5 defines. Used by `flywheel score` and the arena's reward-model judge.
#pragma once

#include <ATen/core/TensorBody.h>

#include <optional>
#include <string>
#include <vector>

#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "model/llama.h"

namespace fw::rollout {

struct ConversationScorerOptions {
  c10::Device device = c10::kCPU;
  std::optional<c10::ScalarType> dtype;  // default: the checkpoint's
  std::string template_name = "auto";    // auto (the folder's, plain if none) | plain | chatml | llama2
  // Keyword arguments for the model's own Jinja template (ChatTemplate::with_kwargs; refused
  // for a built-in one); empty: none.
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
  int64_t batch_size = 16;
};

class ConversationScorer {
 public:
  // Throws fw::Error (InvalidInput) when the folder is not a one-label score model.
  static ConversationScorer load(const std::string& model_dir, const ConversationScorerOptions& opts = {});

  // One score per conversation, in order; no gradients.
  std::vector<double> score(const std::vector<std::vector<data::Message>>& conversations);

  const data::ChatTemplate& chat_template() const { return tmpl_; }

 private:
  ConversationScorer(model::LlamaForScore rm, data::Tokenizer tok, data::ChatTemplate tmpl, c10::Device device,
                     int64_t batch_size);
  model::LlamaForScore rm_;
  data::Tokenizer tok_;
  data::ChatTemplate tmpl_;
  c10::Device device_;
  int64_t batch_size_;
};

}  // namespace fw::rollout
