// An OpenAI request body -> what the server generates: POST /v1/chat/completions (a chat
// through the model's template) and POST /v1/completions (raw prompts). Every field is
// checked here, on the HTTP thread, so a bad request is a 400 naming its field before it
// reaches a batch:
//   - numbers out of range (an overflowing 1e400, a negative or non-finite temperature,
//     top_p outside (0, 1], n outside 1..kMaxChoices, top_logprobs outside 0..20);
//   - fields flywheel does not implement (tools, response_format other than text, a
//     non-zero presence/frequency penalty, logit_bias, echo, suffix, ...) and unknown
//     fields: refused, never silently ignored. "user" is accepted and ignored (an id).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "arena/local_chat.h"

namespace fw::arena {

enum class Endpoint { Chat, Completions };

inline constexpr int64_t kMaxChoices = 64;  // n

struct ServedRequest {
  Endpoint endpoint = Endpoint::Chat;
  std::optional<std::string> model;  // the "model" field, if sent
  // One job per prompt (chat: always one; completions: one per string of "prompt"),
  // on_event unset.
  std::vector<CompletionJob> jobs;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;       // whether choices carry log-probs
};

// Throws fw::Error (InvalidInput) with the field as its key.
ServedRequest parse_served_request(const nlohmann::ordered_json& body, Endpoint endpoint);

}  // namespace fw::arena
