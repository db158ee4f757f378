#include "rollout/openai_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "core/log.h"

namespace fw::rollout {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw_runtime("curl_global_init failed");
  });
}

size_t write_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct HeaderSink {
  std::optional<std::string> retry_after;
};

size_t write_header(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == "retry-after") {
      std::string value = line.substr(colon + 1);
      const auto b = value.find_first_not_of(" \t");
      const auto e = value.find_last_not_of(" \t\r\n");
      static_cast<HeaderSink*>(user)->retry_after = b == std::string::npos ? "" : value.substr(b, e - b + 1);
    }
  }
  return size * n;
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 300);
  if (body.size() > 300) s += "...";
  return s;
}

// A 200 whose body we cannot read: retried at most this many times.
constexpr int kMalformedRetries = 2;

double jitter(double ceiling) {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, std::max(ceiling, 0.0))(gen);
}

}  // namespace

std::optional<double> parse_retry_after(const std::string& value, std::time_t now) {
  if (value.empty()) return std::nullopt;
  char* end = nullptr;
  const double secs = std::strtod(value.c_str(), &end);
  if (end && *end == '\0' && std::isfinite(secs) && secs >= 0) return secs;
  const std::time_t when = curl_getdate(value.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  return std::max(0.0, std::difftime(when, now));
}

nlohmann::json chat_request_json(const std::string& model, const std::vector<data::Message>& messages,
                                 const ChatParams& p) {
  nlohmann::json j = {{"model", model},
                      {"messages", data::messages_to_json(messages)},
                      {"temperature", p.temperature},
                      {"top_p", p.top_p},
                      {"max_tokens", p.max_tokens}};
  if (p.seed) j["seed"] = *p.seed;
  if (!p.stop.empty()) j["stop"] = p.stop;
  return j;
}

ChatResult parse_chat_response(const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body);  // throws on bad JSON
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty())
    throw_runtime("chat completion response has no \"choices\"");
  const nlohmann::json& c = j["choices"][0];
  if (!c.is_object() || !c.contains("message") || !c["message"].is_object())
    throw_runtime("chat completion response has no \"choices[0].message\"");
  ChatResult r;
  const nlohmann::json& content = c["message"].value("content", nlohmann::json());
  if (content.is_string()) r.content = content.get<std::string>();
  else if (!content.is_null()) throw_runtime("\"choices[0].message.content\" is not a string");
  if (c.contains("finish_reason") && c["finish_reason"].is_string()) r.finish_reason = c["finish_reason"];
  if (j.contains("usage") && j["usage"].is_object()) {
    const auto& u = j["usage"];
    if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer()) r.prompt_tokens = u["prompt_tokens"];
    if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer())
      r.completion_tokens = u["completion_tokens"];
  }
  return r;
}

OpenAIClient::OpenAIClient(EndpointOptions opts) : opts_(std::move(opts)) {
  if (opts_.base_url.empty()) throw_invalid("empty base_url", {.key = "base_url", .hint = "e.g. http://127.0.0.1:8000/v1"});
  opts_.base_url = trim_slash(opts_.base_url);
  if (opts_.max_retries < 0) throw_invalid("max_retries must be >= 0", {.key = "max_retries"});
  if (opts_.max_concurrency < 1) throw_invalid("max_concurrency must be >= 1", {.key = "max_concurrency"});
  if (!(opts_.timeout_s > 0)) throw_invalid("timeout_s must be > 0", {.key = "timeout_s"});
  if (!opts_.api_key_env.empty()) {
    const char* k = std::getenv(opts_.api_key_env.c_str());
    if (!k || !*k)
      throw_invalid("environment variable " + opts_.api_key_env + " (the API key for " + opts_.base_url +
                        ") is not set",
                    {.key = "api_key_env", .hint = "export " + opts_.api_key_env + "=... or leave api_key_env empty"});
    key_ = k;
  }
  global_init();
}

std::string OpenAIClient::chat_url() const { return opts_.base_url + "/chat/completions"; }

std::string OpenAIClient::mask(std::string text) const {
  if (key_.empty()) return text;
  for (size_t pos = text.find(key_); pos != std::string::npos; pos = text.find(key_, pos + 3))
    text.replace(pos, key_.size(), "***");
  return text;
}

OpenAIClient::Response OpenAIClient::perform(const std::string& method, const std::string& url,
                                             const std::string& body, std::string* curl_error,
                                             bool* retryable_transport) {
  std::unique_ptr<CURL, void (*)(CURL*)> h(curl_easy_init(), curl_easy_cleanup);
  if (!h) throw_runtime("curl_easy_init failed for " + url);
  Response r;
  HeaderSink headers;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  list = curl_slist_append(list, "Content-Type: application/json");
  list = curl_slist_append(list, "Accept: application/json");
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip for large bodies
  std::string auth;
  if (!key_.empty()) {
    auth = "Authorization: Bearer " + key_;
    list = curl_slist_append(list, auth.c_str());
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> list_guard(list, curl_slist_free_all);
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.timeout_s * 1000));
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(opts_.timeout_s, 30.0) * 1000));
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h.get(), CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(h.get(), CURLOPT_HEADERDATA, &headers);
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h.get(), CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode
  if (method == "POST") {
    curl_easy_setopt(h.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(h.get());
  if (rc != CURLE_OK) {
    *curl_error = std::string(curl_easy_strerror(rc)) + (errbuf[0] ? std::string(" (") + errbuf + ")" : "");
    // Transport failures worth another try; a malformed URL or an unsupported scheme is not.
    *retryable_transport = rc != CURLE_URL_MALFORMAT && rc != CURLE_UNSUPPORTED_PROTOCOL &&
                           rc != CURLE_NOT_BUILT_IN && rc != CURLE_OUT_OF_MEMORY;
    return r;
  }
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &r.status);
  if (headers.retry_after) r.retry_after_s = parse_retry_after(*headers.retry_after, std::time(nullptr));
  return r;
}

template <class T>
T OpenAIClient::with_retries(const std::string& method, const std::string& url, const std::string& body,
                             const std::function<T(const std::string&)>& parse, int* attempts) {
  int malformed = 0;
  for (int attempt = 0;; ++attempt) {
    std::string curl_error;
    bool retryable_transport = false;
    Response r = perform(method, url, body, &curl_error, &retryable_transport);
    std::string failure;  // why this attempt failed, empty on success
    bool retry = false;
    if (!curl_error.empty()) {
      failure = curl_error;
      retry = retryable_transport;
    } else if (r.status == 200) {
      try {
        T out = parse(r.body);
        if (attempts) *attempts = attempt + 1;
        return out;
      } catch (const std::exception& e) {
        failure = "malformed response (" + std::string(e.what()) + "): " + snippet(r.body);
        retry = malformed++ < kMalformedRetries;
      }
    } else {
      failure = "HTTP " + std::to_string(r.status) + ": " + snippet(r.body);
      retry = r.status == 429 || r.status >= 500 || r.status == 408;
      if (!retry)
        throw Error(r.status >= 400 && r.status < 500 ? ErrorKind::InvalidInput : ErrorKind::Runtime,
                    mask(method + " " + url + " failed: " + failure),
                    {.hint = r.status == 401 || r.status == 403 ? "check the API key (api_key_env)" : ""});
    }
    if (!retry || attempt >= opts_.max_retries)
      throw_runtime(mask(method + " " + url + " failed after " + std::to_string(attempt + 1) +
                         " attempt(s): " + failure));
    double sleep_s = jitter(std::min(opts_.backoff_max_s, opts_.backoff_initial_s * std::pow(2.0, attempt)));
    if (r.retry_after_s && *r.retry_after_s <= std::max(60.0, opts_.backoff_max_s)) sleep_s = *r.retry_after_s;
    log::warn(mask(method + " " + url + ": " + failure.substr(0, 200) + "; retry " + std::to_string(attempt + 1) +
                   "/" + std::to_string(opts_.max_retries) + " in " + std::to_string(sleep_s) + " s"));
    std::this_thread::sleep_for(std::chrono::duration<double>(sleep_s));
  }
}

ChatResult OpenAIClient::chat(const std::vector<data::Message>& messages, const ChatParams& params) {
  const std::string body = chat_request_json(opts_.model, messages, params).dump(-1, ' ', false,
                                                                                  nlohmann::json::error_handler_t::replace);
  int attempts = 1;
  ChatResult r = with_retries<ChatResult>("POST", chat_url(), body, parse_chat_response, &attempts);
  r.attempts = attempts;
  return r;
}

std::vector<std::string> OpenAIClient::list_models() {
  const std::function<std::vector<std::string>(const std::string&)> parse = [](const std::string& body) {
    const nlohmann::json j = nlohmann::json::parse(body);
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) throw_runtime("models response has no \"data\" list");
    std::vector<std::string> ids;
    for (const auto& m : j["data"])
      if (m.is_object() && m.contains("id") && m["id"].is_string()) ids.push_back(m["id"]);
    return ids;
  };
  return with_retries<std::vector<std::string>>("GET", opts_.base_url + "/models", "", parse, nullptr);
}

void OpenAIClient::chat_many(const std::vector<ChatRequest>& requests,
                             const std::function<void(size_t, const ChatResult*, const fw::Error*)>& on_done) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex done_mutex;
  std::exception_ptr callback_error;
  auto worker = [&] {
    while (!stop) {
      const size_t i = next++;
      if (i >= requests.size()) return;
      std::optional<ChatResult> result;
      std::optional<Error> error;
      try {
        result = chat(requests[i].messages, requests[i].params);
      } catch (const Error& e) {
        error = e;
      } catch (const std::exception& e) {
        error = Error(ErrorKind::Runtime, mask(chat_url() + ": " + e.what()));
      }
      std::lock_guard<std::mutex> lock(done_mutex);
      if (callback_error) return;
      try {
        on_done(i, result ? &*result : nullptr, error ? &*error : nullptr);
      } catch (...) {
        callback_error = std::current_exception();
        stop = true;
      }
    }
  };
  const size_t n = std::min(requests.size(), static_cast<size_t>(opts_.max_concurrency));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < n; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (callback_error) std::rethrow_exception(callback_error);
}

}  // namespace fw::rollout
