// An OpenAI-compatible HTTP server for a local checkpoint (cpp-httplib): what
// `flywheel serve` runs, so any OpenAI client — ours, the openai package, FastChat's
// judges — can battle or judge with a flywheel model.
//
//   POST /v1/chat/completions  OpenAI's request and response (arena/openai_request.h and
//                              openai_response.h): n choices, logprobs/top_logprobs, stop,
//                              seed, and "stream": true as server-sent events
//                              (chat.completion.chunk ... data: [DONE]), with
//                              stream_options.include_usage. Sampling defaults are OpenAI's
//                              (temperature 1, top_p 1, max_tokens = the rest of the
//                              context). A "model" other than the served name is a 404;
//                              unsupported or unknown fields and out-of-range numbers a 400
//                              naming the field.
//   POST /v1/completions       raw prompts (no template), the legacy text_completion
//                              shape (max_tokens 16 by default, logprobs an integer).
//   GET  /v1/models            {"object": "list", "data": [{"id": NAME, ...}]}
//   GET  /health               {"status": "ok"} (never needs the key)
//   GET  /v1/stats             {"requests", "completed", "failed_injected", "failed",
//                              "rejected", "batches", "max_batch_seen"}
//
// Requests are validated on the HTTP threads, then queued; one worker thread — the only
// one that touches the model — batches them continuously (LocalChatModel::start/step):
// between decode steps it admits queued requests while the live sequences stay within
// max_batch (a request with n choices counts n; when nothing runs it waits at most
// batch_window_s for more to arrive), and answers each request when its choices end. Streamed requests
// share those batches: each token's text goes from the worker to the request's HTTP
// thread, which writes it; a client gone mid-stream (a failed write) cancels its choices,
// which leave the batch at the next token.
//
// Connections: the port is bound exclusively (no SO_REUSEPORT: a second server on a busy
// port fails instead of sharing it); connection threads grow on demand up to
// max_connections (arena/http_pool.h), so clients that connect and stall cannot delay
// others; a request must arrive within read_timeout_s. With api_key_env set, /v1/* needs "Authorization: Bearer <key>"
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
  int64_t max_batch = 8;         // sequences generated at once (a request with more choices runs alone)
  double batch_window_s = 0.005; // how long the worker waits for a batch to fill
  std::string api_key_env;       // NAME of the variable holding the required key; "" = open
  int64_t fail_every = 0;        // TEST: every K-th chat request gets a 500; 0 = off
  int max_connections = 1024;    // connections served at once (a thread each; most wait on the worker)
  int read_timeout_s = 5;        // a connection's request must arrive within this
};

class OpenAIServer {
 public:
  // The model must outlive the server. Throws fw::Error (InvalidInput) for bad options or
  // an api_key_env that is named but unset.
  OpenAIServer(LocalChatModel& model, ServerOptions opts);
  ~OpenAIServer();  // stop()s
  OpenAIServer(const OpenAIServer&) = delete;
  OpenAIServer& operator=(const OpenAIServer&) = delete;

  // Binds (fw::Error InvalidInput naming the port if it is in use or not allowed) and
  // starts serving on background threads; returns the port.
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
