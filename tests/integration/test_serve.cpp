// `flywheel serve` as a subprocess on a free port, driven by our OpenAI client: concurrent
// requests are batched, greedy responses equal LocalChatModel::chat_batch in-process,
// /v1/models lists the name, bad requests get a 400, the key is required when asked for,
// and with --fail-every 3 every third request is a 500 that the client's retries absorb
// with no request lost; /v1/stats counts match what the client saw. SIGTERM exits 0.
#include <gtest/gtest.h>

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "arena/local_chat.h"
#include "rollout/openai_client.h"
#include "tests/integration/serve_process.h"
#include "tests/integration/tiny_checkpoint.h"
#include "tests/support/test_tmp.h"

namespace {
using fw::rollout::ChatRequest;
using fw::rollout::ChatResult;
using fw::rollout::EndpointOptions;
using fw::rollout::OpenAIClient;

std::string model_dir() { return fw::testing::tmp_dir() + "/serve_tiny"; }

using fw::testing::ServeProcess;

std::vector<ChatRequest> requests(int n) {
  std::vector<ChatRequest> reqs;
  for (int i = 0; i < n; ++i) {
    ChatRequest r;
    r.messages = {{"user", "what is " + std::to_string(i) + " plus " + std::to_string(2 * i + 1) + "?"}};
    r.params.max_tokens = 8;
    reqs.push_back(r);
  }
  return reqs;
}

EndpointOptions endpoint(const ServeProcess& s) {
  EndpointOptions o;
  o.base_url = s.url();
  o.model = s.name();
  o.timeout_s = 30;
  o.backoff_initial_s = 0.001;
  o.backoff_max_s = 0.005;
  return o;
}

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fw::testing::make_tiny_checkpoint(model_dir()); }
};

TEST_F(Serve, BatchesConcurrentRequestsAndMatchesInProcessGreedy) {
  ServeProcess s({"--model", model_dir(), "--name", "tiny-served", "--port", "0", "--max-batch", "8",
                  "--batch-window-ms", "50", "--threads", "1"},
                 fw::testing::tmp_dir() + "/serve_a.log");
  EXPECT_EQ(s.name(), "tiny-served");
  EndpointOptions o = endpoint(s);
  o.max_concurrency = 8;
  OpenAIClient client(o);
  EXPECT_EQ(client.list_models(), std::vector<std::string>{"tiny-served"});

  const auto reqs = requests(12);
  std::vector<std::optional<ChatResult>> got(reqs.size());
  client.chat_many(reqs, [&](size_t i, const ChatResult* r, const fw::Error* e) {
    ASSERT_EQ(e, nullptr) << e->what();
    got[i] = *r;
  });
  const nlohmann::json stats = s.get("/v1/stats");
  EXPECT_EQ(stats["requests"], 12);
  EXPECT_EQ(stats["completed"], 12);
  EXPECT_GT(stats["max_batch_seen"].get<int>(), 1) << stats.dump();
  EXPECT_LT(stats["batches"].get<int>(), 12) << stats.dump();

  fw::arena::LocalChatModel local = fw::arena::LocalChatModel::load(model_dir(), {.max_batch = 8});
  const auto want = local.chat_batch(reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    ASSERT_TRUE(got[i]) << i;
    EXPECT_EQ(got[i]->content, want[i].content) << i;
    EXPECT_EQ(got[i]->finish_reason, want[i].finish_reason) << i;
    EXPECT_EQ(got[i]->prompt_tokens, want[i].prompt_tokens) << i;
    EXPECT_EQ(got[i]->completion_tokens, want[i].completion_tokens) << i;
  }

  // OpenAI's response shape, and clear 400s/404s.
  auto ok = s.post("/v1/chat/completions",
                   R"({"model": "tiny-served", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "temperature": 0})");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  const auto body = nlohmann::json::parse(ok->body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "tiny-served");
  EXPECT_TRUE(body["id"].is_string());
  EXPECT_TRUE(body["created"].is_number_integer());
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(body["usage"]["total_tokens"].get<int>(),
            body["usage"]["prompt_tokens"].get<int>() + body["usage"]["completion_tokens"].get<int>());
  struct Bad {
    std::string body;
    int status;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {R"({"messages": [{"role": "wizard", "content": "hi"}]})", 400, "role"},
      {R"({"messages": "hi"})", 400, "messages"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "n": 0})", 400, "\"n\" must be in 1..64"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "temperature": 1e400})", 400, "\"temperature\" is out of range"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "temperature": -1})", 400, "\"temperature\" must be >= 0"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "top_p": 1.5})", 400, "\"top_p\" must be in (0, 1]"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": -3})", 400, "\"max_tokens\""},
      {R"({"messages": [{"role": "user", "content": "hi"}], "tools": []})", 400, "\"tools\" is not supported"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}})", 400, "response_format"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 3})", 400, "needs \"logprobs\": true"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 21})", 400, "top_logprobs"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "frequency_penalty": 0.5})", 400, "frequency_penalty"},
      {R"({"messages": [{"role": "user", "content": "hi"}], "bogus": 1})", 400, "\"bogus\" is not a field"},
      {"not json", 400, "JSON"},
      {R"({"model": "other", "messages": [{"role": "user", "content": "hi"}]})", 404, "tiny-served"},
  };
  for (const auto& b : bad) {
    auto r = s.post("/v1/chat/completions", b.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, b.status) << b.body << " -> " << r->body;
    const auto message = nlohmann::json::parse(r->body)["error"]["message"].get<std::string>();
    EXPECT_NE(message.find(b.says), std::string::npos) << r->body;
  }
  // The client does not retry a 400 and names the URL.
  ChatRequest streamless = reqs[0];
  streamless.messages = {{"user", "hi"}, {"user", "again"}, {"robot", "?"}};
  try {
    client.chat(streamless.messages, streamless.params);
    ADD_FAILURE() << "expected a 400";
  } catch (const fw::Error& e) {
    EXPECT_NE(std::string(e.what()).find(s.url()), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.get("/health")["status"], "ok");
  EXPECT_EQ(s.terminate(), 0);
}

TEST_F(Serve, InjectedFailuresAreRetriedAndNoneLost) {
  ::setenv("FW_TEST_SERVE_KEY", "sk-serve-test-key", 1);
  ServeProcess s({"--model", model_dir(), "--port", "0", "--max-batch", "4", "--fail-every", "3",
                  "--api-key-env", "FW_TEST_SERVE_KEY", "--threads", "1"},
                 fw::testing::tmp_dir() + "/serve_b.log");
  EXPECT_EQ(s.name(), "serve_tiny");  // the folder's name by default

  // Without the key: 401, and the request counts as received, not generated.
  auto denied = s.post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}]})");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);

  EndpointOptions o = endpoint(s);
  o.api_key_env = "FW_TEST_SERVE_KEY";
  o.max_concurrency = 4;
  OpenAIClient client(o);
  const auto reqs = requests(10);
  std::vector<int> done(reqs.size(), 0);
  int retries = 0;
  client.chat_many(reqs, [&](size_t i, const ChatResult* r, const fw::Error* e) {
    ++done[i];
    ASSERT_EQ(e, nullptr) << e->what();
    retries += r->attempts - 1;
  });
  for (size_t i = 0; i < done.size(); ++i) EXPECT_EQ(done[i], 1) << i;

  httplib::Client raw("http://" + s.url().substr(7, s.url().size() - 10));
  auto st = raw.Get("/v1/stats", {{"Authorization", "Bearer sk-serve-test-key"}});
  ASSERT_TRUE(st);
  ASSERT_EQ(st->status, 200);
  const auto stats = nlohmann::json::parse(st->body);
  const int received = stats["requests"];
  EXPECT_EQ(stats["completed"], 10) << stats.dump();
  EXPECT_EQ(stats["failed_injected"], received / 3) << stats.dump();
  EXPECT_EQ(stats["failed_injected"], retries) << stats.dump();
  EXPECT_EQ(received, 1 + 10 + retries) << stats.dump();  // the 401, the requests, the retries
  EXPECT_GT(retries, 0);
  EXPECT_EQ(s.terminate(), 0);
  ::unsetenv("FW_TEST_SERVE_KEY");
}

}  // namespace
