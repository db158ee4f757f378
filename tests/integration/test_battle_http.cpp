// Battles over real loopback HTTP against `flywheel serve`, the server failing every third
// request: all battles complete, none duplicated, none lost. The battle process is
// SIGKILLed mid-run and rerun: it finishes without asking the server again for what it
// already had (the server's own request count says so). The API key reaches the server
// but no file the run writes and none of its output.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "core/json_io.h"
#include "data/synth/task_io.h"
#include "data/synth/tasks.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/serve_process.h"
#include "tests/integration/tiny_checkpoint.h"
#include "tests/support/test_tmp.h"

namespace {
namespace fs = std::filesystem;
using fw::testing::ServeProcess;

const char* kKey = "sk-flywheel-test-key-never-written-7731";

std::string recipe(const std::string& dir, const std::string& url, const std::string& model, const std::string& prompts) {
  return "output_dir: " + dir + "\nprompts: [" + prompts + "]\npairs: all\nrecord_time: false\nchunk_prompts: 6\n" +
         "client: {max_retries: 8, backoff_initial_s: 0.001, backoff_max_s: 0.005, max_concurrency: 2, timeout_s: 60}\n" +
         "judge: {kind: rule}\ncompetitors:\n" +
         "  - {name: served-greedy, kind: remote, base_url: '" + url + "', model: " + model +
         ", api_key_env: FW_TEST_API_KEY, sampling: {max_tokens: 6}}\n" +
         "  - {name: served-sampled, kind: remote, base_url: '" + url + "', model: " + model +
         ", api_key_env: FW_TEST_API_KEY, sampling: {temperature: 1.0, seed: 3, max_tokens: 6}}\n" +
         "  - {name: sim, kind: simulated, accuracy: 0.7, seed: 1}\n";
}

// Every regular file under `dir` (and the extra files) concatenated.
std::string all_text(const std::string& dir, const std::vector<std::string>& extra) {
  std::string s;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) s += fw::read_text_file(e.path().string());
  for (const auto& f : extra)
    if (fs::exists(f)) s += fw::read_text_file(f);
  return s;
}

TEST(BattleHttp, FlakyServerKilledClientAndResumeLoseAndRepeatNothing) {
  const std::string root = fw::testing::tmp_dir() + "/battle_http";
  fs::create_directories(root);
  fw::testing::make_tiny_checkpoint(root + "/model");
  const std::string prompts = root + "/prompts.jsonl";
  fw::synth::write_prompt_jsonl(prompts, fw::synth::generate_tasks({.n = 24, .seed = 11, .max_difficulty = 2}));

  const std::string key_env = std::string("FW_TEST_API_KEY=") + kKey;
  ServeProcess server({"--model", root + "/model", "--name", "tiny", "--port", "0", "--max-batch", "4",
                       "--fail-every", "3", "--api-key-env", "FW_TEST_API_KEY"},
                      root + "/serve.log", {key_env});
  server.set_bearer(kKey);
  const std::string dir = root + "/run";
  std::ofstream(root + "/battle.yaml") << recipe(dir, server.url(), server.name(), prompts);

  // 1. A battle run, SIGKILLed once the server has answered 8 requests.
  setenv("FW_TEST_API_KEY", kKey, 1);
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* log = std::fopen((root + "/battle1.log").c_str(), "w");
    dup2(fileno(log), 1);
    dup2(fileno(log), 2);
    const std::string bin = fw::testing::flywheel_bin(), cfg = root + "/battle.yaml";
    execl(bin.c_str(), bin.c_str(), "battle", cfg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  bool ended = false;
  while (server.get("/v1/stats")["completed"].get<int64_t>() < 8 && std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      ended = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(ended) << "the battle finished before it could be killed; see " << root << "/battle1.log";
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  const int64_t completed_at_kill = server.get("/v1/stats")["completed"].get<int64_t>();

  // 2. The rerun finishes the job.
  ASSERT_EQ(fw::testing::run_flywheel("battle " + root + "/battle.yaml", root + "/battle2.log"), 0)
      << fw::testing::read_text(root + "/battle2.log");

  const auto stats = server.get("/v1/stats");
  EXPECT_GT(stats["failed_injected"].get<int64_t>(), 0) << stats.dump();
  std::set<std::string> battles;
  int64_t lines = 0;
  fw::for_each_jsonl(dir + "/battles.jsonl", [&](const nlohmann::json& b, long) {
    ++lines;
    battles.insert(b["question_id"].get<std::string>() + "|" + b["model_a"].get<std::string>() + "|" +
                   b["model_b"].get<std::string>());
  });
  EXPECT_EQ(lines, 24 * 3);           // 3 pairs x 24 prompts: none lost
  EXPECT_EQ(battles.size(), 24u * 3);  // none duplicated
  EXPECT_FALSE(fs::exists(dir + "/unparseable.jsonl") && fs::file_size(dir + "/unparseable.jsonl") > 0);

  // Every remote response the run holds was generated once; the only repeats allowed are
  // the (at most max_concurrency = 2) requests in flight when the client was killed.
  std::set<std::string> remote_keys;
  fw::for_each_jsonl(dir + "/responses.jsonl", [&](const nlohmann::json& r, long) {
    if (r["value"]["model"].get<std::string>().rfind("served", 0) == 0) remote_keys.insert(r["key"]);
  });
  const int64_t completed = stats["completed"].get<int64_t>();
  EXPECT_GE(completed, static_cast<int64_t>(remote_keys.size()));
  EXPECT_LE(completed, static_cast<int64_t>(remote_keys.size()) + 2) << "completed at kill: " << completed_at_kill;
  EXPECT_GT(completed, completed_at_kill);  // the rerun did ask for the rest

  // 3. A third run asks for nothing.
  ASSERT_EQ(fw::testing::run_flywheel("battle " + root + "/battle.yaml", root + "/battle3.log"), 0);
  EXPECT_EQ(server.get("/v1/stats")["requests"], stats["requests"]);

  // The key went to the server (it requires it) but into no file and no output.
  const std::string text = all_text(dir, {root + "/battle1.log", root + "/battle2.log", root + "/battle3.log",
                                          root + "/serve.log"});
  EXPECT_EQ(text.find(kKey), std::string::npos);
  EXPECT_NE(text.find("FW_TEST_API_KEY"), std::string::npos);  // the variable's name is fine (config.yaml)
}

// A local checkpoint as the LLM judge (in-process, no HTTP): a random tiny model never
// writes two scores, so every judgment is retried max_attempts times and then kept apart
// as unparseable — no battle gets a guessed verdict.
TEST(BattleLocalJudge, AJudgeThatNeverParsesKeepsEveryBattleApart) {
  const std::string root = fw::testing::tmp_dir() + "/local_judge";
  fs::create_directories(root);
  fw::testing::make_tiny_checkpoint(root + "/model");
  fw::synth::write_prompt_jsonl(root + "/prompts.jsonl", fw::synth::generate_tasks({.n = 3, .seed = 4}));
  // A short template of our own (the default one is longer than the tiny model's 256
  // positions, which is a clear error naming the prompt length).
  std::ofstream(root + "/judge.txt") << "Q: {question}\nA1: {answer_1}\nA2: {answer_2}\nScores:";
  std::ofstream(root + "/battle.yaml")
      << "output_dir: " << root << "/run\nprompts: [" << root << "/prompts.jsonl]\nrecord_time: false\n"
      << "judge: {kind: llm, model: " << root << "/model, template_file: " << root
      << "/judge.txt, max_attempts: 2, max_tokens: 8, chat_template: plain}\n"
      << "competitors:\n  - {name: a, kind: simulated, accuracy: 1.0}\n  - {name: b, kind: simulated, accuracy: 0.0}\n";
  ASSERT_EQ(fw::testing::run_flywheel("battle " + root + "/battle.yaml", root + "/battle.log"), 0)
      << fw::testing::read_text(root + "/battle.log");
  const auto summary = fw::read_json_file(root + "/run/summary.json");
  EXPECT_EQ(summary["unparseable_written"], 3);
  EXPECT_EQ(summary["battles_written"], 0);
  EXPECT_EQ(summary["judgments_requested"], 6);  // two games per battle, each after 2 attempts
  int64_t kept_apart = 0;
  fw::for_each_jsonl(root + "/run/unparseable.jsonl", [&](const nlohmann::json& b, long) {
    ++kept_apart;
    EXPECT_TRUE(b["winner"].is_null());
    for (const auto& g : b["games"]) EXPECT_NE(g["judgment"].get<std::string>().find("[unparseable:"), std::string::npos);
  });
  EXPECT_EQ(kept_apart, 3);
  std::vector<nlohmann::json> judgments;
  fw::for_each_jsonl(root + "/run/judgments.jsonl", [&](const nlohmann::json& j, long) { judgments.push_back(j); });
  ASSERT_EQ(judgments.size(), 6u);
  for (const auto& j : judgments) EXPECT_EQ(j["value"]["attempts"], 2);
}

// A local judge's chat_template_kwargs reach its template: here a kwarg that makes the
// judge's prompt longer than the tiny model's 256 positions, which is refused with the
// prompt length named, while the same battle without it runs.
TEST(BattleLocalJudge, TheJudgesTemplateKwargsReachItsTemplate) {
  const std::string root = fw::testing::tmp_dir() + "/local_judge_kwargs";
  fs::create_directories(root);
  fw::testing::make_tiny_checkpoint(root + "/model");
  fw::synth::write_prompt_jsonl(root + "/prompts.jsonl", fw::synth::generate_tasks({.n = 2, .seed = 4}));
  std::ofstream(root + "/judge.txt") << "Q: {question}\nA1: {answer_1}\nA2: {answer_2}\nScores:";
  std::ofstream(root + "/chat.jinja") << "{% for m in messages %}{{ m.content }}\n{% endfor %}"
                                      << "{% if padding is defined %}{{ 'padding ' * padding }}{% endif %}";
  auto battle = [&](const std::string& name, const std::string& kwargs) {
    std::ofstream(root + "/" + name + ".yaml")
        << "output_dir: " << root << "/" << name << "\nprompts: [" << root << "/prompts.jsonl]\nrecord_time: false\n"
        << "judge: {kind: llm, model: " << root << "/model, template_file: " << root
        << "/judge.txt, max_attempts: 1, max_tokens: 4, chat_template: " << root << "/chat.jinja" << kwargs << "}\n"
        << "competitors:\n  - {name: a, kind: simulated, accuracy: 1.0}\n  - {name: b, kind: simulated, accuracy: 0.0}\n";
    return fw::testing::run_flywheel("battle " + root + "/" + name + ".yaml", root + "/" + name + ".log");
  };
  ASSERT_EQ(battle("plain", ""), 0) << fw::testing::read_text(root + "/plain.log");
  EXPECT_NE(battle("padded", ", chat_template_kwargs: {padding: 400}"), 0);
  EXPECT_NE(fw::testing::read_text(root + "/padded.log").find("256"), std::string::npos)
      << fw::testing::read_text(root + "/padded.log");
}

}  // namespace
