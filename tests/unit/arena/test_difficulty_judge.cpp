// The LLM difficulty rater: the reply parser on a table of judge outputs (never guessing),
// and judge_rater against a loopback OpenAI-compatible server: ratings read, unparseable
// replies asked again then excluded (NaN) and counted, failed requests counted.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "arena/difficulty_judge.h"

namespace {
using namespace fw::arena;

TEST(ParseDifficulty, Table) {
  struct Case { const char* reply; std::optional<double> want; };
  const Case cases[] = {
      {"Difficulty: 7", 7},
      {"difficulty: 7/10", 7},
      {"**Difficulty:** 6.5", 6.5},
      {"I would rate the difficulty score of this at... no. Difficulty: 3", 3},
      {"The difficulty level is 8 out of 10.", 8},
      {"Rating: 4\nThis is a simple arithmetic question.", 4},
      {"[[9]]", 9},
      {"Hard question. [[2/10]]", 2},
      {"7", 7},
      {" 7. ", 7},
      {"0", 0},
      {"Difficulty: 10", 10},
      // Never guessed:
      {"Difficulty: 11", std::nullopt},
      {"Difficulty: -2", std::nullopt},
      {"[[3]] and later [[5]]", std::nullopt},
      {"Difficulty: 3. Actually, difficulty: 6", std::nullopt},
      {"It needs 3 steps and 2 facts.", std::nullopt},
      {"", std::nullopt},
      {"Difficulty: hard", std::nullopt},
      {"Difficulty: 100", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_difficulty(c.reply), c.want) << "'" << c.reply << "'";
}

TEST(ParseDifficulty, RendersDialoguesWithRoles) {
  EXPECT_EQ(render_for_rating({{"user", "Compute 2 + 2."}}), "Compute 2 + 2.");
  EXPECT_EQ(render_for_rating({{"user", "a"}, {"assistant", "b"}, {"user", "c"}}), "User: a\n\nAssistant: b\n\nUser: c");
}

std::string completion(const std::string& content) {
  return nlohmann::json{{"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}},
                                      {"finish_reason", "stop"}}}},
                        {"usage", {{"prompt_tokens", 1}, {"completion_tokens", 1}}}}
      .dump();
}

// Replies by the instruction in the prompt: "easy" -> "Difficulty: 2"; "hard" -> "[[9]]";
// "vague" -> prose the first time, "Difficulty: 5" after; "never" -> always prose;
// "broken" -> HTTP 400 (not retried by the client).
class FakeJudge {
 public:
  FakeJudge() {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      const auto body = nlohmann::json::parse(req.body);
      const std::string prompt = body["messages"].back()["content"];
      ++calls_;
      auto has = [&](const char* w) { return prompt.find(std::string("\n") + w + "\n") != std::string::npos; };
      if (has("broken")) {
        res.status = 400;
        res.set_content(R"({"error": "bad"})", "application/json");
        return;
      }
      std::string reply = "I cannot say.";
      if (has("easy")) reply = "Difficulty: 2";
      else if (has("hard")) reply = "[[9]]";
      else if (has("vague")) reply = vague_seen_++ ? "Difficulty: 5" : "Somewhere in the middle.";
      res.set_content(completion(reply), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeJudge() {
    server_.stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int calls() const { return calls_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> calls_{0}, vague_seen_{0};
};

TEST(DifficultyJudge, RatesRetriesAndExcludes) {
  FakeJudge judge;
  fw::rollout::EndpointOptions ep;
  ep.base_url = judge.base_url();
  ep.model = "judge";
  ep.max_retries = 0;
  ep.max_concurrency = 2;
  auto stats = std::make_shared<DifficultyJudgeStats>();
  const DifficultyRater rate =
      judge_rater(std::make_shared<fw::rollout::OpenAIClient>(ep), {.attempts = 3}, stats);
  std::vector<fw::data::PromptRecord> recs(5);
  const char* words[] = {"easy", "hard", "vague", "never", "broken"};
  for (int i = 0; i < 5; ++i) {
    recs[i].id = words[i];
    recs[i].messages = {{"user", words[i]}};
  }
  const std::vector<double> s = rate(recs);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], 2.0);
  EXPECT_EQ(s[1], 9.0);
  EXPECT_EQ(s[2], 5.0);           // parsed on the second ask
  EXPECT_TRUE(std::isnan(s[3]));  // three asks, never a number
  EXPECT_TRUE(std::isnan(s[4]));  // the request failed
  EXPECT_EQ(stats->rated, 3);
  EXPECT_EQ(stats->unparseable, 1);
  EXPECT_EQ(stats->failed, 1);
  // 5 first asks, then vague + never, then never again.
  EXPECT_EQ(stats->requests, 8);
  EXPECT_EQ(judge.calls(), 8);
}

}  // namespace
