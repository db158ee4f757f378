// flywheel serve --model DIR [--name NAME] [--host H] [--port P] [--max-batch N]
//                [--max-connections N] [--read-timeout S] [--api-key-env NAME]
//                [--fail-every K] [--template T] [device flags]
// An OpenAI-compatible server for a local checkpoint (arena/openai_server.h): POST
// /v1/chat/completions and /v1/completions (streaming, n, logprobs), GET /v1/models,
// /health, /v1/stats. A busy port is an error (exit 2), never shared. Prints
// "serving NAME on http://HOST:PORT/v1" once it accepts requests; SIGINT or SIGTERM stop
// it cleanly (the requests already queued are answered first).
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <pthread.h>

#include "apps/commands.h"
#include "apps/model_loading.h"
#include "arena/local_chat.h"
#include "arena/openai_server.h"
#include "core/log.h"

namespace fw::apps {
namespace {

struct ServeFlags {
  std::string model_dir, template_name = "auto";
  double batch_window_ms = 5;
  arena::ServerOptions server;
  DeviceFlags device;
};

void run_serve(const ServeFlags& f) {
  // Every thread started from here on (torch's, httplib's, the worker) inherits this mask,
  // so the signals reach only the sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  f.device.apply_threads();
  arena::LocalChatOptions lo;
  lo.device = f.device.resolve_device();
  lo.dtype = f.device.resolve_dtype();
  lo.template_name = f.template_name;
  lo.max_batch = f.server.max_batch;
  arena::LocalChatModel model = arena::LocalChatModel::load(f.model_dir, lo);
  arena::ServerOptions so = f.server;
  so.batch_window_s = f.batch_window_ms / 1000.0;
  arena::OpenAIServer server(model, so);
  const int port = server.start();
  if (f.server.fail_every > 0)
    log::warn("--fail-every " + std::to_string(f.server.fail_every) + ": every " +
              std::to_string(f.server.fail_every) + "th chat request fails on purpose (a test flag)");
  log::info("template " + model.template_name() + ", max batch " + std::to_string(f.server.max_batch) +
            (f.server.api_key_env.empty() ? "" : ", key required"));
  std::printf("serving %s on http://%s:%d/v1\n", server.name().c_str(), f.server.host.c_str(), port);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  log::info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
  server.stop();
  const auto s = server.stats();
  log::info("served " + s["completed"].dump() + " of " + s["requests"].dump() + " chat request(s) in " +
            s["batches"].dump() + " batch(es)");
}

}  // namespace

Run add_serve_command(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  app.add_option("--model", f->model_dir, "model folder (config.json, safetensors, tokenizer.model)")
      ->required()->check(CLI::ExistingDirectory);
  app.add_option("--name", f->server.name, "the model id clients send and /v1/models lists (default: the folder's name)");
  app.add_option("--host", f->server.host, "address to listen on")->capture_default_str();
  app.add_option("--port", f->server.port, "port; 0 picks a free one (printed)")->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--max-batch", f->server.max_batch, "requests generated together at most")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch-window-ms", f->batch_window_ms, "how long a batch waits to fill, in ms")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--max-connections", f->server.max_connections,
                 "connections served at once (a thread each, started on demand)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--read-timeout", f->server.read_timeout_s, "seconds a connection may take to send its request")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--template", f->template_name, "auto | jinja | plain | chatml | llama2 | FILE.jinja")->capture_default_str();
  app.add_option("--api-key-env", f->server.api_key_env,
                 "require 'Authorization: Bearer <key>', the key read from this environment variable");
  app.add_option("--fail-every", f->server.fail_every,
                 "TEST FLAG: answer every K-th chat request with HTTP 500 (exercises client retries)")
      ->check(CLI::NonNegativeNumber);
  f->device.add_to(app);
  return [f] { run_serve(*f); };
}

}  // namespace fw::apps
