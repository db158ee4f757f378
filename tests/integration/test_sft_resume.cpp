// `flywheel sft` as a user runs it: SIGKILL mid-run and rerun equals an uninterrupted
// run (bit-exact on CPU in deterministic mode); a corrupt newest checkpoint is skipped;
// the result loads in transformers with the same logits.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <set>
#include <fcntl.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_tmp.h"
#include "model/checkpoint.h"
#include "model/safetensors_io.h"

namespace {
namespace fs = std::filesystem;

std::string bin() {
  const char* b = std::getenv("FLYWHEEL_BIN");
  return b ? b : FW_BINARY_DIR "/bin/flywheel";
}

std::string tmp(const std::string& name) { return fw::testing::tmp_dir() + "/" + name; }

// Writes a small SFT data set and a deterministic from-scratch recipe.
std::string write_recipe(const std::string& name, int max_steps) {
  const std::string data = tmp(name + "_data.jsonl");
  {
    std::ofstream out(data);
    for (int i = 0; i < 200; ++i)
      out << "{\"messages\": [{\"role\": \"user\", \"content\": \"What is " << i % 37 << " plus " << i % 11
          << "?\"}, {\"role\": \"assistant\", \"content\": \"The answer is " << i % 37 + i % 11 << ".\"}]}\n";
  }
  const std::string recipe = tmp(name + ".yaml");
  std::ofstream(recipe) << "output_dir: " << tmp(name + "_run") << "\n"
                        << "seed: 3\ndeterministic: true\nthreads: 1\n"
                        << "model:\n  chat_template: plain\n  from_scratch: {hidden_size: 64, intermediate_size: 128, "
                           "num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2}\n"
                        << "tokenizer: {train_vocab_size: 300}\n"
                        << "data: {train: [" << data << "], max_seq_len: 128}\n"
                        << "optim: {lr: 0.002, weight_decay: 0.01}\n"
                        << "schedule: {kind: cosine, warmup_steps: 3}\n"
                        << "train: {max_steps: " << max_steps << ", micro_batch_size: 4}\n"
                        << "checkpoint: {every_steps: 10, keep_last: 3}\n";
  return recipe;
}

int run_blocking(const std::string& args) {
  int status = std::system((bin() + " " + args + " > /dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double max_param_diff(const std::string& a, const std::string& b) {
  auto x = fw::model::load_causal_lm(a), y = fw::model::load_causal_lm(b);
  auto py = y->named_parameters();
  double d = 0;
  for (const auto& item : x->named_parameters()) d = std::max(d, (item.value() - py[item.key()]).abs().max().item<double>());
  return d;
}

TEST(SftResume, SigkillThenResumeEqualsUninterruptedRun) {
  fs::remove_all(tmp("resume_straight_run"));
  fs::remove_all(tmp("resume_killed_run"));
  const std::string straight = write_recipe("resume_straight", 30);
  ASSERT_EQ(run_blocking("sft " + straight), 0);

  const std::string killed = write_recipe("resume_killed", 30);
  pid_t pid = fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(bin().c_str(), bin().c_str(), "sft", killed.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill it as soon as the step-10 checkpoint exists: mid-way through steps 11..30.
  const fs::path ckpt = tmp("resume_killed_run") + "/checkpoint-00000010";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(ckpt) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(fs::exists(ckpt));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the run ended before it could be killed";
  ASSERT_FALSE(fs::exists(tmp("resume_killed_run") + "/final"));

  ASSERT_EQ(run_blocking("sft " + killed), 0);  // the same command resumes
  EXPECT_EQ(max_param_diff(tmp("resume_straight_run") + "/final", tmp("resume_killed_run") + "/final"), 0.0);
  // metrics.jsonl has each step exactly once.
  std::ifstream m(tmp("resume_killed_run") + "/metrics.jsonl");
  std::string line;
  std::set<int64_t> steps;
  int lines = 0;
  while (std::getline(m, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) {
      steps.insert(j["step"].get<int64_t>());
      ++lines;
    }
  }
  EXPECT_EQ(lines, 30);
  EXPECT_EQ(steps.size(), 30u);
}

TEST(SftResume, CorruptNewestCheckpointFallsBackToThePreviousOne) {
  fs::remove_all(tmp("resume_corrupt_run"));
  const std::string recipe = write_recipe("resume_corrupt", 20);
  ASSERT_EQ(run_blocking("sft " + recipe + " train.max_steps=20"), 0);
  // Damage the newest checkpoint's optimizer state, then extend the run by 10 steps.
  const std::string newest = tmp("resume_corrupt_run") + "/checkpoint-00000020/trainer_state/optimizer.pt";
  ASSERT_TRUE(fs::exists(newest));
  fs::resize_file(newest, fs::file_size(newest) / 2);
  const std::string log = tmp("resume_corrupt.log");
  std::system((bin() + " sft " + recipe + " train.max_steps=30 > " + log + " 2>&1").c_str());
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("checkpoint-00000020"), std::string::npos) << text;
  EXPECT_NE(text.find("resumed from"), std::string::npos) << text;
  EXPECT_NE(text.find("checkpoint-00000010 at step 10"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(tmp("resume_corrupt_run") + "/checkpoint-00000030"));
}

TEST(SftCli, NanLossStopsWithTheLastGoodStateSaved) {
  fs::remove_all(tmp("sft_nan_run"));
  const std::string recipe = write_recipe("sft_nan", 6);
  // Step 4's loss is made NaN by the test hook.
  const std::string args = "sft " + recipe;
  const std::string log = tmp("sft_nan.log");
  int status = std::system(("FLYWHEEL_TEST_NAN_AT_STEP=4 " + bin() + " " + args + " > " + log + " 2>&1").c_str());
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(WEXITSTATUS(status), 1) << text;
  EXPECT_NE(text.find("loss is nan"), std::string::npos) << text;
  EXPECT_NE(text.find("at step 4; stopped with the last good state saved in"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(tmp("sft_nan_run") + "/checkpoint-00000003/trainer_state/manifest.json"));
  EXPECT_FALSE(fs::exists(tmp("sft_nan_run") + "/final"));
  // Under on_nan: skip the run drops that step and finishes.
  fs::remove_all(tmp("sft_nan_skip_run"));
  status = std::system(("FLYWHEEL_TEST_NAN_AT_STEP=4 " + bin() + " " + args + " train.on_nan=skip output_dir=" +
                        tmp("sft_nan_skip_run") + " > " + log + " 2>&1").c_str());
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(fs::exists(tmp("sft_nan_skip_run") + "/final/model.safetensors"));
}

TEST(SftCli, BadRecipeExitsWithTwo) {
  const std::string recipe = write_recipe("cli_bad_recipe", 5);
  EXPECT_EQ(run_blocking("sft " + recipe + " train.micro_batchsize=3"), 2);
  EXPECT_EQ(run_blocking("sft " + recipe + " data.train=[/nonexistent.jsonl]"), 2);  // a missing data file is bad input
  EXPECT_EQ(run_blocking("sft /nonexistent.yaml"), 2);
}

TEST(SftParity, TrainedModelLoadsInTransformersWithTheSameLogits) {
  fs::remove_all(tmp("sft_parity_run"));
  const std::string recipe = write_recipe("sft_parity", 5);
  ASSERT_EQ(run_blocking("sft " + recipe), 0);
  const std::string dir = tmp("sft_parity_run") + "/final";
  auto lm = fw::model::load_causal_lm(dir);
  at::Tensor ids = at::randint(0, lm->config().vocab_size, {2, 12}, at::kLong);
  fw::model::save_safetensors(dir + "/ids.safetensors", {{"input_ids", ids}});
  const std::string cmd = std::string(FW_PYTHON) + " " + FW_SOURCE_DIR + "/tests/parity/hf_reference.py logits " + dir +
                          " " + dir + "/ids.safetensors " + dir + "/hf_logits.safetensors";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  at::NoGradGuard g;
  auto theirs = fw::model::load_safetensors(dir + "/hf_logits.safetensors").at(0).second;
  EXPECT_LT((lm->forward(ids) - theirs).abs().max().item<double>(), 1e-4);
}

}  // namespace
