#include "arena/openai_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <future>
#include <limits>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include "arena/http_pool.h"
#include "arena/local_chat.h"
#include "arena/openai_request.h"
#include "arena/openai_response.h"
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

// What a streamed request's HTTP thread receives from the worker: the choices' events as
// they happen, then the end (or the error that ended the batch).
struct StreamChannel {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<CompletionJob::Event> events;  // choice = the response's choice index
  bool done = false;
  std::string error;                        // why the batch failed, when it did
  std::atomic<bool> cancelled{false};       // the client is gone

  void push(CompletionJob::Event ev) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      events.push_back(std::move(ev));
    }
    cv.notify_one();
  }
  void finish(std::string why = "") {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
      error = std::move(why);
    }
    cv.notify_one();
  }
};

// The request body as JSON. A number too large for a double (1e400) is a 400 naming its
// field, found by the literal nlohmann reports.
nlohmann::ordered_json parse_body(const std::string& body) {
  try {
    return nlohmann::ordered_json::parse(body);
  } catch (const Json::out_of_range& e) {
    const std::string what = e.what();
    const size_t a = what.find('\''), b = what.rfind('\'');
    std::string key;
    if (a != std::string::npos && b > a) {
      const std::string literal = what.substr(a + 1, b - a - 1);
      const size_t at = body.find(literal);
      const size_t colon = at == std::string::npos ? std::string::npos : body.rfind(':', at);
      const size_t close = colon == std::string::npos ? std::string::npos : body.rfind('"', colon);
      const size_t open = close == std::string::npos || close == 0 ? std::string::npos : body.rfind('"', close - 1);
      if (open != std::string::npos) key = body.substr(open + 1, close - open - 1);
      throw_invalid((key.empty() ? "a number" : "\"" + key + "\"") + " is out of range (" + literal + ")", {.key = key});
    }
    throw_invalid(std::string("the body holds a number out of range: ") + what);
  } catch (const Json::exception& e) {
    throw_invalid(std::string("the body is not JSON: ") + e.what());
  }
}

// Why binding host:port failed, for the message: a probe bind reports the errno.
std::string bind_failure(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::strerror(errno);
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string why = "cannot bind";
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1) why = "not an IPv4 address";
  else if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    why = errno == EADDRINUSE ? "already in use" : std::strerror(errno);
  ::close(fd);
  return why;
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
  std::atomic<bool> shutting_down{false};
  std::mutex lifecycle;

  // A request waiting for (or in) a batch: its jobs, with on_event set when streamed.
  struct Pending {
    std::vector<CompletionJob> jobs;
    int64_t sequences = 0;  // choices over all jobs
    std::promise<std::vector<CompletionResult>> done;
    std::shared_ptr<StreamChannel> stream;  // null unless streamed
  };
  std::mutex qmutex;
  std::condition_variable qcv;
  std::deque<std::shared_ptr<Pending>> queue;
  bool worker_stop = false;
  int64_t arriving = 0;  // requests received but not yet queued or rejected

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
      max_batch_seen{0}, streamed{0}, cancelled{0}, next_id{0};

  Impl(LocalChatModel& m, ServerOptions o) : model(m), opts(std::move(o)) {}

  void stop_locked() {  // with `lifecycle` held
    if (!started || stopped) return;
    stopped = true;
    // httplib cuts the streams in flight as it stops; their choices are cancelled rather
    // than decoded to the end for nobody (queued and non-streamed requests are answered).
    shutting_down = true;
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

  ResponseHeader new_header(Endpoint e) {
    char id[40];
    std::snprintf(id, sizeof(id), "%s-%012llx", e == Endpoint::Chat ? "chatcmpl" : "cmpl",
                  static_cast<unsigned long long>(next_id++));
    return {.id = id, .created = static_cast<int64_t>(std::time(nullptr)), .model = opts.name};
  }

  TokenBytes token_bytes() {
    return [this](int64_t id) { return model.token_bytes(id); };
  }

  void handle(Endpoint endpoint, const httplib::Request& hreq, httplib::Response& res) {
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
    ServedRequest req;
    int64_t prompt_tokens = 0;
    try {
      req = parse_served_request(parse_body(hreq.body), endpoint);
      if (req.model && *req.model != opts.name) {
        ++rejected;
        send_error(res, 404, "the model '" + *req.model + "' does not exist; this server serves '" + opts.name + "'",
                   "invalid_request_error", "model");
        return;
      }
      for (const auto& job : req.jobs) prompt_tokens += model.check(job);  // template and length errors: a 400 now
    } catch (const Error& e) {
      ++rejected;
      send_error(res, 400, e.message() + (e.context().hint.empty() ? "" : " (" + e.context().hint + ")"),
                 "invalid_request_error", e.context().key);
      return;
    }
    const ResponseHeader head = new_header(endpoint);
    auto pending = std::make_shared<Pending>();
    pending->jobs = req.jobs;
    for (const auto& job : req.jobs) pending->sequences += job.n;
    if (req.stream) {
      auto channel = std::make_shared<StreamChannel>();
      pending->stream = channel;
      const int64_t per_job = req.jobs.front().n;
      for (size_t j = 0; j < pending->jobs.size(); ++j)
        pending->jobs[j].on_event = [this, channel, j, per_job](const CompletionJob::Event& ev) {
          if (channel->cancelled || shutting_down) return false;
          CompletionJob::Event out = ev;
          out.choice = static_cast<int64_t>(j) * per_job + ev.choice;
          channel->push(std::move(out));
          return true;
        };
    }
    std::future<std::vector<CompletionResult>> fut = pending->done.get_future();
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
    if (req.stream) {
      ++streamed;
      stream_response(req, head, prompt_tokens, pending->sequences, pending->stream, res);
      return;
    }
    std::vector<CompletionResult> results;
    try {
      results = fut.get();
    } catch (const std::exception& e) {
      ++failed;
      send_error(res, 500, std::string("generation failed: ") + e.what(), "server_error");
      return;
    }
    ++completed;
    res.set_content(response_body(req, results, head, token_bytes()).dump(-1, ' ', false, Json::error_handler_t::replace),
                    "application/json");
  }

  // Server-sent events: the role chunk of every choice (chat), then each event as the
  // worker produces it, the usage chunk when asked, and "data: [DONE]". A failed write
  // means the client left: its choices are cancelled and leave the batch.
  void stream_response(const ServedRequest& req, const ResponseHeader& head, int64_t prompt_tokens, int64_t choices,
                       std::shared_ptr<StreamChannel> channel, httplib::Response& res) {
    struct State {
      bool started = false;
      int64_t ended = 0, completion_tokens = 0;
      std::map<int64_t, int64_t> text_offset;  // per choice, bytes sent (completions' text_offset)
    };
    auto st = std::make_shared<State>();
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, req, head, prompt_tokens, choices, channel, st](size_t, httplib::DataSink& sink) {
          auto send = [&](const std::string& text) {
            if (sink.write(text.data(), text.size())) return true;
            if (!channel->cancelled.exchange(true)) ++cancelled;  // the client left
            return false;
          };
          if (!st->started) {
            st->started = true;
            if (req.endpoint == Endpoint::Chat)
              for (int64_t i = 0; i < choices; ++i)
                if (!send(sse_event(role_chunk(req, head, i)))) return false;
          }
          std::deque<CompletionJob::Event> events;
          bool done = false;
          std::string error;
          {
            std::unique_lock<std::mutex> lock(channel->mutex);
            channel->cv.wait(lock, [&] { return channel->done || !channel->events.empty(); });
            events.swap(channel->events);
            done = channel->done;
            error = channel->error;
          }
          for (const auto& ev : events) {
            int64_t& offset = st->text_offset[ev.choice];
            if (!send(sse_event(event_chunk(req, head, ev.choice, ev, offset, token_bytes())))) return false;
            offset += static_cast<int64_t>(ev.delta.size());
            if (!ev.finish_reason.empty()) {
              ++st->ended;
              st->completion_tokens += ev.completion_tokens;
            }
          }
          if (!done) return true;  // called again for the next events
          if (!error.empty()) {
            ++failed;
            send("data: " + error_body("generation failed: " + error, "server_error") + "\n\n");
            sink.done();
            return true;
          }
          if (req.include_usage && !send(sse_event(usage_chunk(req, head, prompt_tokens, st->completion_tokens))))
            return false;
          if (!send("data: [DONE]\n\n")) return false;
          ++completed;
          sink.done();
          return true;
        },
        [this, channel](bool success) {
          if (!success && !channel->cancelled.exchange(true)) ++cancelled;
        });
  }

  // The worker: continuous batching. Between decode steps it admits queued requests whose
  // sequences fit beside the live ones (max_batch in all; a larger request alone), then
  // runs one step; requests whose every choice ended are answered.
  void work() {
    std::map<int64_t, std::pair<std::shared_ptr<Pending>, size_t>> in_flight;  // ticket -> (request, job)
    std::map<Pending*, std::vector<CompletionResult>> results;
    std::map<Pending*, size_t> unfinished;
    for (;;) {
      std::vector<std::shared_ptr<Pending>> admitted;
      {
        std::unique_lock<std::mutex> lock(qmutex);
        if (!model.busy()) {
          qcv.wait(lock, [&] { return worker_stop || !queue.empty(); });
          if (queue.empty()) return;  // stopping, nothing left
          // Nothing running: a short window for a batch to fill while requests are still
          // being read and validated.
          auto queued_sequences = [&] {
            int64_t n = 0;
            for (const auto& p : queue) n += p->sequences;
            return n;
          };
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(opts.batch_window_s);
          qcv.wait_until(lock, deadline,
                         [&] { return worker_stop || arriving == 0 || queued_sequences() >= opts.max_batch; });
        }
        int64_t live = model.live_sequences();
        while (!queue.empty() && ((live == 0 && admitted.empty()) || live + queue.front()->sequences <= opts.max_batch)) {
          live += queue.front()->sequences;
          admitted.push_back(queue.front());
          queue.pop_front();
        }
      }
      if (!admitted.empty()) {
        ++batches;
        auto track = [&](const std::shared_ptr<Pending>& p, const std::vector<int64_t>& tickets, size_t from) {
          results[p.get()].resize(p->jobs.size());
          unfinished[p.get()] = p->jobs.size();
          for (size_t j = 0; j < p->jobs.size(); ++j) in_flight[tickets[from + j]] = {p, j};
        };
        // One prefill for all the admitted requests; should it fail (a start adds nothing
        // when it throws), each request alone, so one bad request fails only itself.
        std::vector<CompletionJob> jobs;
        for (const auto& p : admitted) jobs.insert(jobs.end(), p->jobs.begin(), p->jobs.end());
        try {
          const std::vector<int64_t> tickets = model.start(jobs);
          size_t at = 0;
          for (const auto& p : admitted) {
            track(p, tickets, at);
            at += p->jobs.size();
          }
        } catch (const std::exception&) {
          for (const auto& p : admitted) {
            try {
              track(p, model.start(p->jobs), 0);
            } catch (const std::exception& e) {
              p->done.set_exception(std::current_exception());
              if (p->stream) p->stream->finish(e.what());
            }
          }
        }
        for (int64_t m = max_batch_seen, b = model.live_sequences(); b > m && !max_batch_seen.compare_exchange_weak(m, b);) {}
      }
      if (!model.busy()) continue;
      try {
        for (auto& [ticket, result] : model.step()) {
          auto [p, j] = in_flight.at(ticket);
          in_flight.erase(ticket);
          results[p.get()][j] = std::move(result);
          if (--unfinished[p.get()] > 0) continue;
          p->done.set_value(std::move(results[p.get()]));
          if (p->stream) p->stream->finish();
          results.erase(p.get());
          unfinished.erase(p.get());
        }
      } catch (const std::exception& e) {
        // The batch is lost: every request in it fails, and the worker goes on.
        std::set<Pending*> failed_now;
        for (auto& [ticket, entry] : in_flight) {
          if (!failed_now.insert(entry.first.get()).second) continue;
          entry.first->done.set_exception(std::current_exception());
          if (entry.first->stream) entry.first->stream->finish(e.what());
        }
        in_flight.clear();
        results.clear();
        unfinished.clear();
        model.abort();
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
  if (o.max_connections < 1) throw_invalid("max_connections must be >= 1", {.key = "--max-connections"});
  if (o.read_timeout_s < 1) throw_invalid("read_timeout_s must be >= 1", {.key = "--read-timeout"});
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
  const size_t max_connections = static_cast<size_t>(m.opts.max_connections);
  m.http.new_task_queue = [max_connections] { return new ElasticThreadPool(max_connections); };
  m.http.set_read_timeout(m.opts.read_timeout_s, 0);
  // Small responses: without TCP_NODELAY, Nagle plus the client's delayed ACK adds ~40 ms.
  m.http.set_tcp_nodelay(true);
  m.http.Post("/v1/chat/completions",
              [&m](const httplib::Request& req, httplib::Response& res) { m.handle(Endpoint::Chat, req, res); });
  m.http.Post("/v1/completions",
              [&m](const httplib::Request& req, httplib::Response& res) { m.handle(Endpoint::Completions, req, res); });
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
  // The port is ours alone: httplib's default options add SO_REUSEPORT, with which a
  // second server binds the same port and the kernel splits connections between them.
  // SO_REUSEADDR alone still lets a restarted server rebind over TIME_WAIT connections
  // but not over a listener. cpp-httplib (Debian's build) also listens with a backlog of
  // 5: a burst of more concurrent connections than that overflows the accept queue, and
  // the dropped SYNs are resent after a second. Note the socket and listen again with a
  // full backlog once bound (Linux raises it in place).
  m.http.set_socket_options([&m](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    m.listen_fd = static_cast<int>(sock);
  });
  if (m.opts.port == 0) {
    m.bound_port = m.http.bind_to_any_port(m.opts.host);
    if (m.bound_port <= 0) throw_invalid("cannot bind a free port on " + m.opts.host, {.key = "--host"});
  } else {
    if (!m.http.bind_to_port(m.opts.host, m.opts.port))
      throw_invalid("cannot listen on " + m.opts.host + ":" + std::to_string(m.opts.port) + ": " +
                        bind_failure(m.opts.host, m.opts.port),
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
          {"max_batch_seen", m.max_batch_seen.load()}, {"streamed", m.streamed.load()},
          {"cancelled", m.cancelled.load()}};
}

}  // namespace fw::arena
