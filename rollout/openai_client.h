// An OpenAI-compatible chat client (libcurl, no torch): remote competitors and LLM judges
// behind any server that speaks POST {base_url}/chat/completions — OpenAI, vLLM, TGI,
// llama.cpp, `flywheel serve`.
//
// Retries: HTTP 429, 5xx, timeouts and connection errors are retried up to max_retries
// times with exponential backoff and full jitter (sleep = uniform(0, min(backoff_max_s,
// backoff_initial_s * 2^retry))); a Retry-After header (seconds, or an HTTP date) replaces
// that sleep when it asks for at most max(60 s, backoff_max_s). A 200 whose body is not the
// expected JSON is retried at most twice. Other 4xx are not retried. After the last try
// the call throws fw::Error (Runtime; InvalidInput for a 4xx other than 429) naming the
// URL and the last HTTP status or curl error.
//
// The API key is read once, in the constructor, from the environment variable NAMED by
// api_key_env and sent as "Authorization: Bearer <key>". It is never logged and never
// appears in an error message (any occurrence in a server's reply is masked).
//
// An OpenAIClient may be used from several threads at once (each call has its own curl
// handle); chat_many() runs up to max_concurrency requests in parallel on its own threads.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/chat_template.h"

namespace fw::rollout {

struct EndpointOptions {
  std::string base_url;            // e.g. "http://127.0.0.1:8000/v1" (/chat/completions is appended)
  std::string model;               // the "model" field sent
  std::string api_key_env;         // NAME of the environment variable holding the key; "" = no key
  double timeout_s = 120;          // per request (connect + transfer)
  int max_retries = 6;             // on 429, 5xx, timeouts, connection errors (not other 4xx)
  double backoff_initial_s = 0.5;  // first backoff ceiling; doubles per retry (full jitter)
  double backoff_max_s = 30;       // cap on the backoff ceiling
  int max_concurrency = 8;         // requests in flight in chat_many
};

struct ChatParams {
  double temperature = 0;          // 0 = greedy
  double top_p = 1;
  int64_t max_tokens = 256;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;   // the response ends before the first of these
};

struct ChatRequest {
  std::vector<data::Message> messages;
  ChatParams params;
};

struct ChatResult {
  std::string content;
  std::string finish_reason;       // "stop" | "length" | ...
  int64_t prompt_tokens = 0, completion_tokens = 0;
  int attempts = 1;                // 1 + retries used
};

class OpenAIClient {
 public:
  // Throws fw::Error (InvalidInput) if base_url is empty, or api_key_env is named but unset.
  explicit OpenAIClient(EndpointOptions opts);

  ChatResult chat(const std::vector<data::Message>& messages, const ChatParams& params);

  // All requests, at most max_concurrency in flight; on_done(index, result, error) is
  // called once per request as it completes (calls serialized; exactly one of
  // result/error is non-null). An exception thrown by on_done stops new requests, waits
  // for those in flight and is rethrown.
  void chat_many(const std::vector<ChatRequest>& requests,
                 const std::function<void(size_t, const ChatResult*, const fw::Error*)>& on_done);

  std::vector<std::string> list_models();  // GET {base_url}/models: the data[].id

  const EndpointOptions& options() const { return opts_; }
  std::string chat_url() const;            // {base_url}/chat/completions

 private:
  struct Response {
    long status = 0;
    std::string body;
    std::optional<double> retry_after_s;
  };
  // One HTTP exchange with the retry policy; `parse` turns a 200 body into the result and
  // throws nlohmann::json::exception (or fw::Error) when it is malformed.
  template <class T>
  T with_retries(const std::string& method, const std::string& url, const std::string& body,
                 const std::function<T(const std::string&)>& parse, int* attempts);
  Response perform(const std::string& method, const std::string& url, const std::string& body,
                   std::string* curl_error, bool* retryable_transport);
  std::string mask(std::string text) const;  // the key replaced by "***"

  EndpointOptions opts_;
  std::string key_;
};

// The request body we send, as JSON (used for cache keys too): model, messages,
// temperature, top_p, max_tokens, seed (when set), stop (when non-empty).
nlohmann::json chat_request_json(const std::string& model, const std::vector<data::Message>& messages,
                                 const ChatParams& p);

// Parses a chat completion response body (choices[0].message.content, finish_reason,
// usage). Throws fw::Error (Runtime) naming what is missing.
ChatResult parse_chat_response(const std::string& body);

// A Retry-After value in seconds: a non-negative number, or an HTTP date (relative to
// `now`, clamped at 0). nullopt when it is neither.
std::optional<double> parse_retry_after(const std::string& value, std::time_t now);

}  // namespace fw::rollout
