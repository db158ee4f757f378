// A local checkpoint as a chat model: OpenAI-style requests in, OpenAI-style results out,
// through the model folder's chat template and batched KV-cache generation. The arena's
// local competitors call it in-process; `flywheel serve` puts it behind HTTP.
//
// chat_batch() groups the requests by their sampling parameters (one rollout::generate
// call per group and per max_batch slice; temperature 0 = greedy), decodes each result,
// cuts it before the first stop string (as OpenAI does: the stop text is not returned),
// and reports finish_reason ("stop" on EOS or a stop string, "length" otherwise) and
// token counts (completion_tokens includes the EOS token when one was generated).
// max_tokens is clipped so prompt + completion fits the model's positions.
//
// Threads: chat_batch() must be called from one thread at a time (it runs the model);
// check() and name() only read immutable state and may be called from any thread.
// Sampled requests (temperature > 0) without a seed get a fresh random seed; with a seed
// they are reproducible for the same batch composition.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rollout/openai_client.h"

namespace fw::arena {

struct LocalChatOptions {
  c10::Device device = c10::kCPU;
  std::optional<c10::ScalarType> dtype;  // default: the checkpoint's own
  // auto (the folder's declared template, plain when it declares none) | plain | chatml | llama2
  std::string template_name = "auto";
  int64_t max_batch = 8;                 // sequences per generate() call
};

class LocalChatModel {
 public:
  // Loads config.json, the weights and the tokenizer from `model_dir`. Throws fw::Error.
  static LocalChatModel load(const std::string& model_dir, LocalChatOptions opts = {});
  LocalChatModel(LocalChatModel&&) noexcept;
  LocalChatModel& operator=(LocalChatModel&&) noexcept;
  ~LocalChatModel();

  // One result per request, in order. Throws fw::Error (InvalidInput) for a request the
  // template cannot express or a prompt longer than the model's positions.
  std::vector<rollout::ChatResult> chat_batch(const std::vector<rollout::ChatRequest>& reqs);

  // Validates a request without generating (the same errors chat_batch would throw);
  // returns its prompt length in tokens.
  int64_t check(const rollout::ChatRequest& req) const;

  const std::string& name() const;      // the folder's name
  const std::string& template_name() const;  // the template in use
  int64_t max_batch() const;

 private:
  struct State;
  explicit LocalChatModel(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace fw::arena
