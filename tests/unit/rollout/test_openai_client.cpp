// OpenAIClient against a cpp-httplib server on loopback whose behaviour each test scripts:
// retries on 429 (Retry-After honoured), 5xx, timeouts and malformed 200s; no retry on
// 400; errors that name the URL; chat_many's concurrency cap and once-per-request
// callbacks; the API key sent as a Bearer header and never shown in errors or logs.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "rollout/openai_client.h"

namespace {
using fw::rollout::ChatParams;
using fw::rollout::ChatRequest;
using fw::rollout::ChatResult;
using fw::rollout::EndpointOptions;
using fw::rollout::OpenAIClient;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string completion(const std::string& content, const std::string& finish = "stop") {
  return nlohmann::json{{"id", "x"},
                        {"object", "chat.completion"},
                        {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}},
                                      {"finish_reason", finish}}}},
                        {"usage", {{"prompt_tokens", 7}, {"completion_tokens", 3}, {"total_tokens", 10}}}}
      .dump();
}

// A loopback server; `handler(call_index, request, response)` scripts each test.
class ScriptedServer {
 public:
  using Handler = std::function<void(int, const httplib::Request&, httplib::Response&)>;
  explicit ScriptedServer(Handler h) : handler_(std::move(h)) {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      const int now = ++in_flight_;
      for (int m = max_in_flight_; now > m && !max_in_flight_.compare_exchange_weak(m, now);) {}
      handler_(calls_++, req, res);
      --in_flight_;
    });
    server_.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"object":"list","data":[{"id":"m1","object":"model"},{"id":"m2","object":"model"}]})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ScriptedServer() {
    server_.stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int calls() const { return calls_; }
  int max_in_flight() const { return max_in_flight_; }

 private:
  Handler handler_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> calls_{0}, in_flight_{0}, max_in_flight_{0};
};

EndpointOptions fast_options(const ScriptedServer& s) {
  EndpointOptions o;
  o.base_url = s.base_url();
  o.model = "test-model";
  o.timeout_s = 5;
  o.max_retries = 4;
  o.backoff_initial_s = 0.001;
  o.backoff_max_s = 0.002;
  return o;
}

const std::vector<fw::data::Message> kHello = {{"user", "hello"}};

TEST(OpenAIClient, SendsTheOpenAIRequestBodyAndParsesTheReply) {
  nlohmann::json seen;
  ScriptedServer s([&](int, const httplib::Request& req, httplib::Response& res) {
    seen = nlohmann::json::parse(req.body);
    res.set_content(completion("hi there", "length"), "application/json");
  });
  OpenAIClient c(fast_options(s));
  ChatParams p;
  p.temperature = 0.7;
  p.max_tokens = 12;
  p.seed = 5;
  p.stop = {"\n"};
  ChatResult r = c.chat({{"system", "be brief"}, {"user", "hello"}}, p);
  EXPECT_EQ(r.content, "hi there");
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.prompt_tokens, 7);
  EXPECT_EQ(r.completion_tokens, 3);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(seen["model"], "test-model");
  EXPECT_EQ(seen["messages"][1]["content"], "hello");
  EXPECT_DOUBLE_EQ(seen["temperature"].get<double>(), 0.7);
  EXPECT_EQ(seen["max_tokens"], 12);
  EXPECT_EQ(seen["seed"], 5);
  EXPECT_EQ(seen["stop"], nlohmann::json::array({"\n"}));
}

TEST(OpenAIClient, RequestJsonOmitsUnsetSeedAndEmptyStop) {
  const nlohmann::json j = fw::rollout::chat_request_json("m", kHello, ChatParams{});
  EXPECT_FALSE(j.contains("seed"));
  EXPECT_FALSE(j.contains("stop"));
  EXPECT_EQ(j["max_tokens"], 256);
  EXPECT_EQ(j["top_p"], 1.0);
}

TEST(OpenAIClient, HonoursRetryAfterOn429) {
  ScriptedServer s([](int call, const httplib::Request&, httplib::Response& res) {
    if (call == 0) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      res.set_content(R"({"error":{"message":"slow down"}})", "application/json");
    } else {
      res.set_content(completion("ok"), "application/json");
    }
  });
  OpenAIClient c(fast_options(s));  // backoff alone would wait at most 2 ms
  const auto t0 = Clock::now();
  ChatResult r = c.chat(kHello, {});
  const double waited = since(t0);
  EXPECT_EQ(r.content, "ok");
  EXPECT_EQ(r.attempts, 2);
  EXPECT_GE(waited, 0.95);
  EXPECT_LT(waited, 3.0);
}

TEST(OpenAIClient, RetriesServerErrorsThenSucceeds) {
  ScriptedServer s([](int call, const httplib::Request&, httplib::Response& res) {
    if (call < 3) {
      res.status = call == 1 ? 503 : 500;
      res.set_content("busy", "text/plain");
    } else {
      res.set_content(completion("finally"), "application/json");
    }
  });
  OpenAIClient c(fast_options(s));
  ChatResult r = c.chat(kHello, {});
  EXPECT_EQ(r.content, "finally");
  EXPECT_EQ(r.attempts, 4);
  EXPECT_EQ(s.calls(), 4);
}

TEST(OpenAIClient, SlowResponseTimesOutAndIsRetried) {
  ScriptedServer s([](int call, const httplib::Request&, httplib::Response& res) {
    if (call == 0) std::this_thread::sleep_for(std::chrono::milliseconds(800));
    res.set_content(completion(call == 0 ? "late" : "fast"), "application/json");
  });
  EndpointOptions o = fast_options(s);
  o.timeout_s = 0.25;
  OpenAIClient c(o);
  const auto t0 = Clock::now();
  ChatResult r = c.chat(kHello, {});
  EXPECT_EQ(r.content, "fast");
  EXPECT_EQ(r.attempts, 2);
  EXPECT_LT(since(t0), 0.75);  // did not wait for the slow reply
}

TEST(OpenAIClient, BadRequestIsNotRetriedAndNamesTheUrl) {
  ScriptedServer s([](int, const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(R"({"error":{"message":"bad messages"}})", "application/json");
  });
  OpenAIClient c(fast_options(s));
  try {
    c.chat(kHello, {});
    FAIL() << "expected an error";
  } catch (const fw::Error& e) {
    EXPECT_NE(std::string(e.what()).find(s.base_url() + "/chat/completions"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HTTP 400"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad messages"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.calls(), 1);
}

TEST(OpenAIClient, GivesUpAfterMaxRetriesWithTheLastStatus) {
  ScriptedServer s([](int, const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("overloaded", "text/plain");
  });
  EndpointOptions o = fast_options(s);
  o.max_retries = 2;
  OpenAIClient c(o);
  try {
    c.chat(kHello, {});
    FAIL() << "expected an error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::Runtime);
    const std::string what = e.what();
    EXPECT_NE(what.find("HTTP 503"), std::string::npos) << what;
    EXPECT_NE(what.find("3 attempt"), std::string::npos) << what;
    EXPECT_NE(what.find(s.base_url()), std::string::npos) << what;
  }
  EXPECT_EQ(s.calls(), 3);
}

TEST(OpenAIClient, MalformedOkBodyIsRetriedTwiceThenAnError) {
  ScriptedServer s([](int, const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"choices\": [", "application/json");
  });
  OpenAIClient c(fast_options(s));
  try {
    c.chat(kHello, {});
    FAIL() << "expected an error";
  } catch (const fw::Error& e) {
    EXPECT_NE(std::string(e.what()).find("malformed response"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.calls(), 3);
}

TEST(OpenAIClient, ConnectionRefusedIsRetriedThenNamesTheUrl) {
  const int port = 1;  // tcpmux: nobody listens there
  EndpointOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1/";
  o.model = "m";
  o.max_retries = 1;
  o.backoff_initial_s = o.backoff_max_s = 0.001;
  OpenAIClient c(o);
  try {
    c.chat(kHello, {});
    FAIL() << "expected an error";
  } catch (const fw::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions"), std::string::npos) << what;
    EXPECT_NE(what.find("2 attempt"), std::string::npos) << what;
  }
}

TEST(OpenAIClient, ChatManyRespectsConcurrencyAndReportsEachRequestOnce) {
  ScriptedServer s([](int, const httplib::Request& req, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    const std::string text = nlohmann::json::parse(req.body)["messages"][0]["content"];
    if (text == "bad") {
      res.status = 400;
      res.set_content("no", "text/plain");
      return;
    }
    res.set_content(completion("echo " + text), "application/json");
  });
  EndpointOptions o = fast_options(s);
  o.max_concurrency = 3;
  OpenAIClient c(o);
  std::vector<ChatRequest> reqs;
  for (int i = 0; i < 14; ++i) reqs.push_back({{{"user", i == 5 ? "bad" : std::to_string(i)}}, {}});
  std::vector<int> seen(reqs.size(), 0);
  std::atomic<int> inside{0};
  bool overlapped = false;
  c.chat_many(reqs, [&](size_t i, const ChatResult* r, const fw::Error* e) {
    if (++inside > 1) overlapped = true;
    ASSERT_LT(i, reqs.size());
    ++seen[i];
    EXPECT_TRUE((r == nullptr) != (e == nullptr));
    if (i == 5) {
      EXPECT_NE(e, nullptr);
    } else {
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->content, "echo " + std::to_string(i));
    }
    --inside;
  });
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "request " << i;
  EXPECT_FALSE(overlapped);
  EXPECT_LE(s.max_in_flight(), 3);
  EXPECT_GE(s.max_in_flight(), 2);
  EXPECT_EQ(s.calls(), 14);
}

TEST(OpenAIClient, SendsTheKeyAsBearerAndNeverShowsIt) {
  const std::string key = "sk-test-Zq81secret";
  ::setenv("FW_TEST_OPENAI_KEY", key.c_str(), 1);
  std::string auth;
  ScriptedServer s([&](int, const httplib::Request& req, httplib::Response& res) {
    auth = req.get_header_value("Authorization");
    res.status = 500;  // a server that echoes the request headers back
    res.set_content("got Authorization: " + auth, "text/plain");
  });
  EndpointOptions o = fast_options(s);
  o.api_key_env = "FW_TEST_OPENAI_KEY";
  o.max_retries = 1;
  OpenAIClient c(o);
  ::testing::internal::CaptureStderr();
  std::string what;
  try {
    c.chat(kHello, {});
  } catch (const fw::Error& e) {
    what = e.what();
  }
  const std::string logs = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(auth, "Bearer " + key);
  ASSERT_FALSE(what.empty());
  EXPECT_EQ(what.find(key), std::string::npos) << what;
  EXPECT_NE(what.find("***"), std::string::npos) << what;
  EXPECT_FALSE(logs.empty());  // the retry was logged ...
  EXPECT_EQ(logs.find(key), std::string::npos) << logs;  // ... without the key
  ::unsetenv("FW_TEST_OPENAI_KEY");
}

TEST(OpenAIClient, UnsetKeyVariableIsAnInputError) {
  ::unsetenv("FW_TEST_MISSING_KEY");
  EndpointOptions o;
  o.base_url = "http://127.0.0.1:1/v1";
  o.api_key_env = "FW_TEST_MISSING_KEY";
  try {
    OpenAIClient c(o);
    FAIL() << "expected an error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    EXPECT_NE(std::string(e.what()).find("FW_TEST_MISSING_KEY"), std::string::npos);
  }
}

TEST(OpenAIClient, ListsModels) {
  ScriptedServer s([](int, const httplib::Request&, httplib::Response&) {});
  OpenAIClient c(fast_options(s));
  EXPECT_EQ(c.list_models(), (std::vector<std::string>{"m1", "m2"}));
}

TEST(OpenAIClient, ParsesRetryAfter) {
  const std::time_t now = 1445412475;  // Wed, 21 Oct 2015 07:27:55 GMT
  struct Case {
    std::string value;
    std::optional<double> want;
  };
  const std::vector<Case> cases = {{"3", 3.0},
                                   {"0.5", 0.5},
                                   {"0", 0.0},
                                   {"-1", std::nullopt},
                                   {"soon", std::nullopt},
                                   {"", std::nullopt},
                                   {"Wed, 21 Oct 2015 07:28:00 GMT", 5.0},
                                   {"Wed, 21 Oct 2015 07:27:00 GMT", 0.0}};
  for (const auto& c : cases) EXPECT_EQ(fw::rollout::parse_retry_after(c.value, now), c.want) << c.value;
}

TEST(OpenAIClient, ParseResponseNamesWhatIsMissing) {
  EXPECT_THROW(fw::rollout::parse_chat_response(R"({"choices": []})"), fw::Error);
  EXPECT_THROW(fw::rollout::parse_chat_response(R"({"choices": [{"text": "x"}]})"), fw::Error);
  ChatResult r = fw::rollout::parse_chat_response(
      R"({"choices": [{"message": {"role": "assistant", "content": null}, "finish_reason": "stop"}]})");
  EXPECT_EQ(r.content, "");
  EXPECT_EQ(r.finish_reason, "stop");
}

}  // namespace
