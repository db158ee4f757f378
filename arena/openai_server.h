// An OpenAI-compatible HTTP server for a local checkpoint (cpp-httplib): what
// `flywheel serve` runs, so any OpenAI client — ours, the openai package, FastChat's
// judges — can battle or judge with a flywheel model.
//
//   POST /v1/chat/completions  OpenAI's request and response (id, object, created, model,
//                              choices[0].message, finish_reason, usage). n = 1 only;
//                              "stream": true is refused with a 400. Sampling defaults are
//                              OpenAI's (temperature 1, top_p 1, max_tokens = the rest of
//                              the context). A "model" other than the served name is a 404.
//   GET  /v1/models            {"object": "list", "data": [{"id": NAME, ...}]}
//   GET  /health               {"status": "ok"} (never needs the key)
//   GET  /v1/stats             {"requests", "completed", "failed_injected", "failed",
//                              "rejected", "batches", "max_batch_seen"}
//
// Chat requests are validated on the HTTP threads, then queued; one worker thread takes
// up to max_batch of them at a time (waiting at most batch_window_s after the first for
// more to arrive) and runs them through LocalChatModel::chat_batch — the only thread that
// touches the model. With api_key_env set, /v1/* needs "Authorization: Bearer <key>"
// (401 otherwise). fail_every K (a test flag) answers every K-th chat request with a 500
// without generating it, to exercise clients' retries.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace fw::arena {

class LocalChatModel;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;               // 0 = pick a free port (port() reports it)
  std::string name;              // the model id; empty = the model's name (its folder's)
  int64_t max_batch = 8;         // requests per chat_batch call
  double batch_window_s = 0.005; // how long the worker waits for a batch to fill
  std::string api_key_env;       // NAME of the variable holding the required key; "" = open
  int64_t fail_every = 0;        // TEST: every K-th chat request gets a 500; 0 = off
  int http_threads = 64;         // connections served at once (most wait on the worker)
};

class OpenAIServer {
 public:
  // The model must outlive the server. Throws fw::Error (InvalidInput) for bad options or
  // an api_key_env that is named but unset.
  OpenAIServer(LocalChatModel& model, ServerOptions opts);
  ~OpenAIServer();  // stop()s
  OpenAIServer(const OpenAIServer&) = delete;
  OpenAIServer& operator=(const OpenAIServer&) = delete;

  // Binds (fw::Error (Runtime) if it cannot) and starts serving on background threads;
  // returns the port.
  int start();
  // Stops accepting, finishes the requests already queued, joins every thread. Idempotent;
  // safe to call from any thread except the server's own.
  void stop();
  int port() const;
  const std::string& name() const;
  std::string base_url() const;  // http://HOST:PORT/v1
  nlohmann::json stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fw::arena
