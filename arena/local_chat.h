// A local checkpoint as a chat model: OpenAI-style requests in, OpenAI-style results out,
// through the model folder's chat template and batched KV-cache generation. The arena's
// local competitors call it in-process; `flywheel serve` puts it behind HTTP.
//
// Generation is continuous batching (rollout::DecodeBatch): start() adds jobs' sequences
// to the running batch between steps, each with its own sampling settings, and step()
// generates one token for every live sequence; complete() and chat_batch() run that loop,
// admitting requests as sequences leave, never more than max_batch live (a job with more
// choices than that runs alone). Each result is
// decoded and cut before the first stop string (as OpenAI does: the stop text is not returned),
// and reports finish_reason ("stop" on EOS or a stop string, "length" otherwise) and
// token counts (completion_tokens includes the EOS token when one was generated).
// max_tokens is clipped so prompt + completion fits the model's positions.
//
// Threads: chat_batch() must be called from one thread at a time (it runs the model);
// check() and name() only read immutable state and may be called from any thread.
// Sampled requests (temperature > 0) without a seed get a fresh random seed; with a seed
// every sequence draws from its own generator, so the result does not depend on what else
// shares its batch (choice i of n uses a seed derived from the request's and i).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rollout/openai_client.h"

namespace fw::arena {

struct LocalChatOptions {
  c10::Device device = c10::kCPU;
  std::optional<c10::ScalarType> dtype;  // default: the checkpoint's own
  // auto (the folder's declared template, plain when it declares none) | plain | chatml | llama2
  std::string template_name = "auto";
  // Keyword arguments for the model's own Jinja template (a recipe's chat_template_kwargs,
  // e.g. {enable_thinking: false}); refused for a built-in template.
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
  int64_t max_batch = 8;                 // live sequences at most (complete(); a job with more choices runs alone)
};

// A token's log-prob under the model's own distribution (before temperature and top-p)
// and, with top_logprobs > 0, the most likely alternatives at its step.
struct TokenLogprob {
  int64_t id = 0;
  float logprob = 0;
  std::vector<std::pair<int64_t, float>> top;  // (id, log-prob), most likely first
};

// One served request: a chat (through the template) or a raw prompt, n samples of it,
// each with its log-probs if asked, optionally streamed.
struct CompletionJob {
  std::vector<data::Message> messages;  // a chat request ...
  std::optional<std::string> prompt;    // ... or a raw prompt (/v1/completions: no template)
  rollout::ChatParams params;           // a seed makes every choice reproducible
  int64_t n = 1;                        // choices, sampled from one prefill of the prompt
  int64_t top_logprobs = -1;            // -1: no log-probs; 0..20: with that many alternatives
  // This request's template keyword arguments (vLLM's chat_template_kwargs), over the
  // model's own; empty: the model's.
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();

  // Streaming: called on the generating thread as a choice's text grows (delta: whole
  // characters, never a stop string's start; logprobs: the tokens generated since the last
  // event) and once more when it ends (finish_reason set). Returning false cancels the
  // choice: its row leaves the batch before the next token.
  struct Event {
    int64_t choice = 0;
    std::string delta;
    std::vector<TokenLogprob> logprobs;
    std::string finish_reason;  // "" until the choice ends
    int64_t completion_tokens = 0;
  };
  std::function<bool(const Event&)> on_event;
};

struct CompletionChoice {
  std::string text;                   // cut before the first stop string
  std::string finish_reason;          // "stop" | "length" | "cancelled"
  int64_t completion_tokens = 0;      // includes the EOS token when one was generated
  std::vector<TokenLogprob> logprobs; // with top_logprobs >= 0: every generated token but EOS
};

struct CompletionResult {
  int64_t prompt_tokens = 0;
  std::vector<CompletionChoice> choices;  // n of them, in order
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

  // Every job's choices, up to max_batch sequences in flight. Throws as chat_batch.
  std::vector<CompletionResult> complete(const std::vector<CompletionJob>& jobs);

  // Continuous batching, for a server's worker: start() prefills the jobs and adds their
  // sequences to the running batch (checks them first: throws as check(), adding none);
  // returns a ticket per job. step() generates one token for every live sequence
  // (streaming events go to the jobs' listeners) and returns the jobs that finished, by
  // ticket. A job whose every choice has no token budget finishes at the next step().
  // After step() throws, abort() drops every job in flight.
  std::vector<int64_t> start(const std::vector<CompletionJob>& jobs);
  std::vector<std::pair<int64_t, CompletionResult>> step();
  int64_t live_sequences() const;  // sequences in the running batch
  bool busy() const;               // jobs started and not yet returned by step()
  void abort();

  // Validates a request without generating (the same errors chat_batch would throw);
  // returns its prompt length in tokens.
  int64_t check(const rollout::ChatRequest& req) const;
  int64_t check(const CompletionJob& job) const;

  // The bytes token `id` stands for in a response ("▁" as a space, a byte-fallback piece
  // as its byte); "" for control tokens.
  std::string token_bytes(int64_t id) const;

  const std::string& name() const;      // the folder's name
  const std::string& template_name() const;  // the template in use
  int64_t max_batch() const;

 private:
  struct State;
  explicit LocalChatModel(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace fw::arena
