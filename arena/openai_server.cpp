#include "arena/openai_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <thread>

#include "arena/local_chat.h"
#include "core/error.h"
#include "core/log.h"
#include "data/chat_template.h"

namespace fw::arena {
namespace {

using Json = nlohmann::json;

// OpenAI's error body.
std::string error_body(const std::string& message, const std::string& type, const std::string& param = "") {
  Json e = {{"message", message}, {"type", type}, {"param", param.empty() ? Json() : Json(param)}, {"code", Json()}};
  return Json{{"error", e}}.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& type,
                const std::string& param = "") {
  res.status = status;
  res.set_content(error_body(message, type, param), "application/json");
}

// The OpenAI request's sampling fields -> ChatParams (OpenAI's defaults where absent).
rollout::ChatParams parse_params(const Json& j) {
  rollout::ChatParams p;
  p.temperature = 1.0;
  p.max_tokens = std::numeric_limits<int32_t>::max();  // clipped to the context by the model
  auto number = [&](const char* key, double& out) {
    if (!j.contains(key) || j[key].is_null()) return;
    if (!j[key].is_number()) throw_invalid(std::string("\"") + key + "\" must be a number", {.key = key});
    out = j[key].get<double>();
  };
  number("temperature", p.temperature);
  number("top_p", p.top_p);
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    if (!j[key].is_number_integer()) throw_invalid(std::string("\"") + key + "\" must be an integer", {.key = key});
    p.max_tokens = j[key].get<int64_t>();
  }
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer()) throw_invalid("\"seed\" must be an integer", {.key = "seed"});
    p.seed = static_cast<uint64_t>(j["seed"].get<int64_t>());
  }
  if (j.contains("stop") && !j["stop"].is_null()) {
    const Json& s = j["stop"];
    if (s.is_string()) p.stop.push_back(s.get<std::string>());
    else if (s.is_array()) {
      for (const auto& x : s) {
        if (!x.is_string()) throw_invalid("\"stop\" must be a string or a list of strings", {.key = "stop"});
        p.stop.push_back(x.get<std::string>());
      }
    } else {
      throw_invalid("\"stop\" must be a string or a list of strings", {.key = "stop"});
    }
  }
  if (j.contains("n") && !j["n"].is_null() && j["n"] != 1)
    throw_invalid("only n = 1 is supported", {.key = "n", .hint = "send n separate requests"});
  return p;
}

}  // namespace

struct OpenAIServer::Impl {
  LocalChatModel& model;
  ServerOptions opts;
  std::string key;
  httplib::Server http;
  std::thread listen_thread, worker;
  int listen_fd = -1;  // the listening socket, to raise its backlog after bind
  int bound_port = 0;
  bool started = false, stopped = false;
  std::mutex lifecycle;

  struct Pending {
    rollout::ChatRequest req;
    std::promise<rollout::ChatResult> done;
  };
  std::mutex qmutex;
  std::condition_variable qcv;
  std::deque<std::shared_ptr<Pending>> queue;
  bool worker_stop = false;
  int64_t arriving = 0;  // chat requests received but not yet queued or rejected

  // Counts a request as arriving until it is queued or answered without generating.
  struct Arrival {
    Impl& m;
    bool left = false;
    explicit Arrival(Impl& impl) : m(impl) {
      std::lock_guard<std::mutex> lock(m.qmutex);
      ++m.arriving;
    }
    void leave_locked() {  // with qmutex held
      if (!left) --m.arriving;
      left = true;
    }
    ~Arrival() {
      if (left) return;
      {
        std::lock_guard<std::mutex> lock(m.qmutex);
        leave_locked();
      }
      m.qcv.notify_all();
    }
  };

  std::atomic<int64_t> requests{0}, completed{0}, failed_injected{0}, failed{0}, rejected{0}, batches{0},
      max_batch_seen{0}, next_id{0};

  Impl(LocalChatModel& m, ServerOptions o) : model(m), opts(std::move(o)) {}

  void stop_locked() {  // with `lifecycle` held
    if (!started || stopped) return;
    stopped = true;
    http.stop();  // stops accepting; listen returns once the handlers in flight are done
    if (listen_thread.joinable()) listen_thread.join();
    {
      std::lock_guard<std::mutex> q(qmutex);
      worker_stop = true;
    }
    qcv.notify_all();
    if (worker.joinable()) worker.join();
  }

  bool authorised(const httplib::Request& req, httplib::Response& res) {
    if (key.empty()) return true;
    if (req.get_header_value("Authorization") == "Bearer " + key) return true;
    send_error(res, 401, "missing or wrong API key: send \"Authorization: Bearer <key>\"", "authentication_error");
    return false;
  }

  void handle_chat(const httplib::Request& hreq, httplib::Response& res) {
    const int64_t n = ++requests;
    Arrival arrival(*this);
    if (!authorised(hreq, res)) {
      ++rejected;
      return;
    }
    if (opts.fail_every > 0 && n % opts.fail_every == 0) {
      ++failed_injected;
      send_error(res, 500, "injected failure (--fail-every " + std::to_string(opts.fail_every) + ")", "server_error");
      return;
    }
    rollout::ChatRequest req;
    try {
      Json j;
      try {
        j = Json::parse(hreq.body);
      } catch (const Json::parse_error& e) {
        throw_invalid(std::string("the body is not JSON: ") + e.what());
      }
      if (!j.is_object()) throw_invalid("the body must be a JSON object");
      if (j.value("stream", false) == true)
        throw_invalid("streaming is not supported by flywheel serve", {.key = "stream", .hint = "send \"stream\": false"});
      if (j.contains("model") && j["model"].is_string() && j["model"] != opts.name) {
        ++rejected;
        send_error(res, 404, "the model '" + j["model"].get<std::string>() + "' does not exist; this server serves '" +
                                 opts.name + "'", "invalid_request_error", "model");
        return;
      }
      if (!j.contains("messages")) throw_invalid("missing \"messages\"", {.key = "messages"});
      req.messages = data::parse_messages(j["messages"]);
      req.params = parse_params(j);
      model.check(req);  // template and length errors now, as a 400, not inside a batch
    } catch (const Error& e) {
      ++rejected;
      send_error(res, 400, e.message() + (e.context().hint.empty() ? "" : " (" + e.context().hint + ")"),
                 "invalid_request_error", e.context().key);
      return;
    }
    auto pending = std::make_shared<Pending>();
    pending->req = std::move(req);
    std::future<rollout::ChatResult> fut = pending->done.get_future();
    {
      std::lock_guard<std::mutex> lock(qmutex);
      if (worker_stop) {
        ++failed;
        send_error(res, 503, "the server is shutting down", "server_error");
        return;
      }
      queue.push_back(pending);
      arrival.leave_locked();
    }
    qcv.notify_one();
    rollout::ChatResult r;
    try {
      r = fut.get();
    } catch (const std::exception& e) {
      ++failed;
      send_error(res, 500, std::string("generation failed: ") + e.what(), "server_error");
      return;
    }
    const int64_t id = next_id++;
    char idbuf[32];
    std::snprintf(idbuf, sizeof(idbuf), "chatcmpl-%012llx", static_cast<unsigned long long>(id));
    Json body = {{"id", idbuf},
                 {"object", "chat.completion"},
                 {"created", static_cast<int64_t>(std::time(nullptr))},
                 {"model", opts.name},
                 {"choices", Json::array({{{"index", 0},
                                           {"message", {{"role", "assistant"}, {"content", r.content}}},
                                           {"finish_reason", r.finish_reason}}})},
                 {"usage", {{"prompt_tokens", r.prompt_tokens},
                            {"completion_tokens", r.completion_tokens},
                            {"total_tokens", r.prompt_tokens + r.completion_tokens}}}};
    ++completed;
    res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
  }

  void work() {
    for (;;) {
      std::vector<std::shared_ptr<Pending>> batch;
      {
        std::unique_lock<std::mutex> lock(qmutex);
        qcv.wait(lock, [&] { return worker_stop || !queue.empty(); });
        if (queue.empty()) return;  // stopping, nothing left
        // A short window for the batch to fill while requests are still being read and
        // validated (those that arrived while the model was busy are already queued; with
        // none on the way there is nothing to wait for).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(opts.batch_window_s);
        qcv.wait_until(lock, deadline, [&] {
          return worker_stop || arriving == 0 || static_cast<int64_t>(queue.size()) >= opts.max_batch;
        });
        while (!queue.empty() && static_cast<int64_t>(batch.size()) < opts.max_batch) {
          batch.push_back(queue.front());
          queue.pop_front();
        }
      }
      std::vector<rollout::ChatRequest> reqs;
      for (const auto& p : batch) reqs.push_back(p->req);
      ++batches;
      for (int64_t m = max_batch_seen, b = static_cast<int64_t>(batch.size());
           b > m && !max_batch_seen.compare_exchange_weak(m, b);) {}
      try {
        std::vector<rollout::ChatResult> results = model.chat_batch(reqs);
        for (size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(std::move(results[i]));
      } catch (...) {
        for (const auto& p : batch) p->done.set_exception(std::current_exception());
      }
    }
  }
};

OpenAIServer::OpenAIServer(LocalChatModel& model, ServerOptions opts)
    : impl_(std::make_unique<Impl>(model, std::move(opts))) {
  ServerOptions& o = impl_->opts;
  if (o.name.empty()) o.name = model.name();
  if (o.max_batch < 1) throw_invalid("max_batch must be >= 1", {.key = "--max-batch"});
  if (o.fail_every < 0) throw_invalid("fail_every must be >= 0", {.key = "--fail-every"});
  if (o.port < 0 || o.port > 65535) throw_invalid("port must be in 0..65535", {.key = "--port"});
  if (o.http_threads < 1) throw_invalid("http_threads must be >= 1", {.key = "http_threads"});
  if (!o.api_key_env.empty()) {
    const char* k = std::getenv(o.api_key_env.c_str());
    if (!k || !*k)
      throw_invalid("environment variable " + o.api_key_env + " (the key clients must send) is not set",
                    {.key = "--api-key-env"});
    impl_->key = k;
  }
}

OpenAIServer::~OpenAIServer() { stop(); }

int OpenAIServer::start() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.lifecycle);
  if (m.started) return m.bound_port;
  const int threads = m.opts.http_threads;
  m.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // Small responses: without TCP_NODELAY, Nagle plus the client's delayed ACK adds ~40 ms.
  m.http.set_tcp_nodelay(true);
  m.http.Post("/v1/chat/completions",
              [&m](const httplib::Request& req, httplib::Response& res) { m.handle_chat(req, res); });
  m.http.Get("/v1/models", [&m](const httplib::Request& req, httplib::Response& res) {
    if (!m.authorised(req, res)) return;
    Json body = {{"object", "list"},
                 {"data", Json::array({{{"id", m.opts.name}, {"object", "model"}, {"created", 0},
                                        {"owned_by", "flywheel"}}})}};
    res.set_content(body.dump(), "application/json");
  });
  m.http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  m.http.Get("/v1/stats", [this, &m](const httplib::Request& req, httplib::Response& res) {
    if (!m.authorised(req, res)) return;
    res.set_content(stats().dump(), "application/json");
  });
  m.http.Post("/v1/completions", [](const httplib::Request&, httplib::Response& res) {
    send_error(res, 404, "only /v1/chat/completions is served", "invalid_request_error");
  });
  m.http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, what, "server_error");
  });
  // cpp-httplib (Debian's build) listens with a backlog of 5: a burst of more concurrent
  // connections than that overflows the accept queue, and the dropped SYNs are resent
  // after a second — a one-second stall at concurrency 16. Keep its socket options, note
  // the socket, and listen again with a full backlog once bound (Linux raises it in place).
  m.http.set_socket_options([&m](socket_t sock) {
    httplib::default_socket_options(sock);
    m.listen_fd = static_cast<int>(sock);
  });
  if (m.opts.port == 0) {
    m.bound_port = m.http.bind_to_any_port(m.opts.host);
    if (m.bound_port <= 0) throw_runtime("cannot bind a free port on " + m.opts.host, {.key = "--host"});
  } else {
    if (!m.http.bind_to_port(m.opts.host, m.opts.port))
      throw_runtime("cannot bind " + m.opts.host + ":" + std::to_string(m.opts.port),
                    {.key = "--port", .hint = "is another server using it? --port 0 picks a free one"});
    m.bound_port = m.opts.port;
  }
  if (m.listen_fd >= 0) ::listen(m.listen_fd, SOMAXCONN);
  m.worker = std::thread([&m] { m.work(); });
  m.listen_thread = std::thread([&m] { m.http.listen_after_bind(); });
  m.started = true;  // from here stop() joins the threads, also when start() throws below
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!m.http.is_running()) {
    if (std::chrono::steady_clock::now() > give_up) {
      m.stop_locked();
      throw_runtime("the HTTP server on " + m.opts.host + ":" + std::to_string(m.bound_port) + " did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return m.bound_port;
}

void OpenAIServer::stop() {
  std::lock_guard<std::mutex> lock(impl_->lifecycle);
  impl_->stop_locked();
}

int OpenAIServer::port() const { return impl_->bound_port; }
const std::string& OpenAIServer::name() const { return impl_->opts.name; }
std::string OpenAIServer::base_url() const {
  return "http://" + impl_->opts.host + ":" + std::to_string(impl_->bound_port) + "/v1";
}

nlohmann::json OpenAIServer::stats() const {
  const Impl& m = *impl_;
  return {{"requests", m.requests.load()},         {"completed", m.completed.load()},
          {"failed_injected", m.failed_injected.load()}, {"failed", m.failed.load()},
          {"rejected", m.rejected.load()},         {"batches", m.batches.load()},
          {"max_batch_seen", m.max_batch_seen.load()}};
}

}  // namespace fw::arena
