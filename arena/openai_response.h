// What the server answers, in OpenAI's shapes: a whole response (chat.completion or
// text_completion) and, when streaming, its server-sent-event chunks
// (chat.completion.chunk: the role first, then content deltas, the finish reason last;
// text_completion chunks for /v1/completions; a usage-only chunk at the end when asked).
// Log-probs: chat's {"content": [{token, logprob, bytes, top_logprobs}]}; the legacy
// completions' {tokens, token_logprobs, top_logprobs, text_offset}.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arena/local_chat.h"
#include "arena/openai_request.h"

namespace fw::arena {

struct ResponseHeader {
  std::string id;       // chatcmpl-... / cmpl-...
  int64_t created = 0;  // unix seconds
  std::string model;
};

// A token's bytes in a response (LocalChatModel::token_bytes).
using TokenBytes = std::function<std::string(int64_t)>;

// The whole response to a non-streamed request: results[i] answers req.jobs[i].
nlohmann::json response_body(const ServedRequest& req, const std::vector<CompletionResult>& results,
                             const ResponseHeader& head, const TokenBytes& bytes);

// Streaming. The choice index of job j's choice c is j * n + c.
nlohmann::json role_chunk(const ServedRequest& req, const ResponseHeader& head, int64_t index);
nlohmann::json event_chunk(const ServedRequest& req, const ResponseHeader& head, int64_t index,
                           const CompletionJob::Event& ev, int64_t text_offset, const TokenBytes& bytes);
nlohmann::json usage_chunk(const ServedRequest& req, const ResponseHeader& head, int64_t prompt_tokens,
                           int64_t completion_tokens);

// `data: <json>\n\n`, with invalid UTF-8 replaced.
std::string sse_event(const nlohmann::json& j);

}  // namespace fw::arena
