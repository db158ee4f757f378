// The recipes as data-parallel runs of 2 processes over Gloo, started as torchrun starts
// them: 2 ranks x micro-batch 2 end with the same parameters as 1 rank x micro-batch 4
// (1e-5) for SFT, DPO and the reward model, with gradient accumulation; the same holds
// under torchrun itself; PPO runs on 2 ranks; a dead rank stops the other with an error
// instead of a hang; resuming with another number of ranks is refused with a clear error.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "data/synth/task_io.h"
#include "data/synth/tasks.h"
#include "tests/integration/cli_run.h"

namespace {
namespace fs = std::filesystem;
using fw::testing::folder_weights;
using fw::testing::max_weight_diff;
using fw::testing::read_text;
using fw::testing::run_flywheel;
using fw::testing::run_flywheel_ranks;
std::string tmp(const std::string& name) { return fw::testing::scratch(name); }

struct Data {
  std::string sft, pref, prompts;
};
const Data& data() {
  static const Data d = [] {
    fw::synth::GenerateOptions o;
    o.n = 160;
    o.seed = 8;
    o.max_difficulty = 1;
    const auto tasks = fw::synth::generate_tasks(o);
    Data x{tmp("dp_sft.jsonl"), tmp("dp_pref.jsonl"), tmp("dp_prompts.jsonl")};
    fw::synth::write_sft_jsonl(x.sft, tasks);
    fw::synth::write_preference_jsonl(x.pref, tasks, 8);
    fw::synth::write_prompt_jsonl(x.prompts, tasks);
    return x;
  }();
  return d;
}

// A deterministic from-scratch recipe for `kind` (sft | dpo | rm); micro_batch and
// grad_accum per rank.
std::string write_recipe(const std::string& name, const std::string& kind, int micro_batch, int grad_accum,
                         const std::string& extra = "") {
  const std::string recipe = tmp(name + ".yaml");
  const std::string train = kind == "sft" ? data().sft : data().pref;
  std::ofstream(recipe) << "output_dir: " << tmp(name + "_run") << "\nseed: 5\ndeterministic: true\nthreads: 1\n"
                        << "model:\n  chat_template: plain\n  from_scratch: {hidden_size: 32, intermediate_size: 64, "
                           "num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2}\n"
                        << "tokenizer: {train_vocab_size: 400}\n"
                        << "data: {train: [" << train << "], max_seq_len: 128"
                        << (kind == "sft" ? ", packing: false" : "") << "}\n"
                        << "optim: {lr: 0.003}\n"
                        << "train: {max_steps: 10, micro_batch_size: " << micro_batch << ", grad_accum: " << grad_accum
                        << "}\ncheckpoint: {every_steps: 4, keep_last: 3}\n"
                        << extra;
  fs::remove_all(tmp(name + "_run"));
  return recipe;
}

std::string logs(const std::string& prefix, int world) {
  std::string out;
  for (int r = 0; r < world; ++r) out += "--- rank " + std::to_string(r) + "\n" + read_text(prefix + "." + std::to_string(r));
  return out;
}

struct Case {
  const char* kind;
  int grad_accum;
  double tolerance;  // largest parameter difference after 10 steps
};

class DataParallelEquivalence : public ::testing::TestWithParam<Case> {};

TEST_P(DataParallelEquivalence, TwoRanksOfTwoEqualOneRankOfFour) {
  const Case c = GetParam();
  const std::string tag = std::string(c.kind) + "_ga" + std::to_string(c.grad_accum);
  const std::string one = write_recipe(tag + "_one", c.kind, 4, c.grad_accum);
  ASSERT_EQ(run_flywheel(std::string(c.kind) + " " + one, tmp(tag + "_one.log")), 0) << read_text(tmp(tag + "_one.log"));
  const std::string two = write_recipe(tag + "_two", c.kind, 2, c.grad_accum);
  const auto codes = run_flywheel_ranks(std::string(c.kind) + " " + two, 2, tmp(tag + "_two.log"));
  ASSERT_EQ(codes, (std::vector<int>{0, 0})) << logs(tmp(tag + "_two.log"), 2);
  EXPECT_NE(read_text(tmp(tag + "_two.log.0")).find("data parallel over 2 ranks"), std::string::npos);
  const double diff =
      max_weight_diff(folder_weights(tmp(tag + "_one_run/final")), folder_weights(tmp(tag + "_two_run/final")));
  EXPECT_LT(diff, c.tolerance) << c.kind;
  std::printf("%s, grad_accum %d: max parameter difference %.3g\n", c.kind, c.grad_accum, diff);
  // Rank 0 alone wrote the run folder; the metrics have one line per step.
  std::ifstream in(tmp(tag + "_two_run/metrics.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(in, line);)
    if (nlohmann::json::parse(line).contains("loss")) ++lines;
  EXPECT_EQ(lines, 10);
}

INSTANTIATE_TEST_SUITE_P(Recipes, DataParallelEquivalence,
                         // The reward model's fresh head and pooled last token amplify
                         // summation-order differences more: 1e-4 there.
                         ::testing::Values(Case{"sft", 1, 1e-5}, Case{"sft", 2, 1e-5}, Case{"dpo", 1, 1e-5},
                                           Case{"dpo", 2, 1e-5}, Case{"rm", 2, 1e-4}),
                         [](const auto& info) {
                           return std::string(info.param.kind) + "_accum" + std::to_string(info.param.grad_accum);
                         });

TEST(DataParallel, ResumingWithAnotherNumberOfRanksIsRefused) {
  const std::string two = write_recipe("dp_resume", "sft", 2, 1, "");
  ASSERT_EQ(run_flywheel_ranks("sft " + two + " train.max_steps=4", 2, tmp("dp_resume.log")),
            (std::vector<int>{0, 0}))
      << logs(tmp("dp_resume.log"), 2);
  // The 2-rank checkpoint, resumed by one rank for more steps.
  std::ofstream(two, std::ios::app) << "";
  const std::string log = tmp("dp_resume_one.log");
  EXPECT_EQ(run_flywheel("sft " + two + " train.max_steps=8", log), 2) << read_text(log);
  EXPECT_NE(read_text(log).find("written by a run of 2 rank(s); this run has 1"), std::string::npos) << read_text(log);
}

TEST(DataParallel, ADeadRankStopsTheOtherWithAnError) {
  const std::string recipe =
      write_recipe("dp_dead", "sft", 2, 1, "dist_timeout_seconds: 60\n");
  const int port = fw::testing::free_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    const std::string cmd = "exec env RANK=" + std::to_string(r) + " WORLD_SIZE=2 LOCAL_RANK=" + std::to_string(r) +
                            " LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " +
                            fw::testing::flywheel_bin() + " sft " + recipe + " train.max_steps=100000 > " +
                            tmp("dp_dead.log." + std::to_string(r)) + " 2>&1";
    const pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    pids.push_back(pid);
  }
  // Once training is under way (the first checkpoint), rank 1 dies.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(tmp("dp_dead_run/checkpoint-00000004")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pids[1], SIGKILL);
  int status = 0;
  waitpid(pids[1], &status, 0);
  const auto t0 = std::chrono::steady_clock::now();
  waitpid(pids[0], &status, 0);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << read_text(tmp("dp_dead.log.0"));
  EXPECT_LT(waited, 60.0) << "rank 0 should notice the dead peer well within the timeout";
  const std::string log0 = read_text(tmp("dp_dead.log.0"));
  EXPECT_NE(log0.find("failed"), std::string::npos) << log0;
  EXPECT_NE(log0.find("another rank died"), std::string::npos) << log0;
  // What was checkpointed before survives and verifies.
  EXPECT_TRUE(fs::exists(tmp("dp_dead_run/checkpoint-00000004/trainer_state/manifest.json")));
}

TEST(DataParallel, PpoRunsOnTwoRanks) {
  // A policy and reward model to run PPO with (one rank each), then 2-rank PPO.
  const std::string policy = write_recipe("dp_ppo_policy", "sft", 8, 1);
  ASSERT_EQ(run_flywheel("sft " + policy + " train.max_steps=15", tmp("dp_ppo_policy.log")), 0);
  const std::string rm_recipe = tmp("dp_ppo_rm.yaml");
  std::ofstream(rm_recipe) << "output_dir: " << tmp("dp_ppo_rm_run") << "\nseed: 1\nthreads: 1\n"
                           << "model: {path: " << tmp("dp_ppo_policy_run/final") << "}\n"
                           << "data: {train: [" << data().pref << "], max_seq_len: 128}\n"
                           << "train: {max_steps: 4, micro_batch_size: 8}\n";
  ASSERT_EQ(run_flywheel("rm " + rm_recipe, tmp("dp_ppo_rm.log")), 0) << read_text(tmp("dp_ppo_rm.log"));
  const std::string recipe = tmp("dp_ppo.yaml");
  std::ofstream(recipe) << "output_dir: " << tmp("dp_ppo_run") << "\nseed: 3\ndeterministic: true\nthreads: 1\n"
                        << "model: {path: " << tmp("dp_ppo_policy_run/final") << "}\n"
                        << "data: {train: [" << data().prompts << "], max_prompt_len: 96}\n"
                        << "ppo: {reward_model_path: " << tmp("dp_ppo_rm_run/final")
                        << ", batch_size: 4, num_mini_batches: 2, ppo_epochs: 2, max_new_tokens: 10, "
                           "adaptive_kl: true, kl_target: 0.01, kl_horizon: 100}\n"
                        << "optim: {lr: 0.0005}\ntrain: {max_steps: 4, micro_batch_size: 1}\n"
                        << "checkpoint: {every_steps: 2}\n";
  fs::remove_all(tmp("dp_ppo_run"));
  ASSERT_EQ(run_flywheel_ranks("ppo " + recipe, 2, tmp("dp_ppo.log")), (std::vector<int>{0, 0}))
      << logs(tmp("dp_ppo.log"), 2);
  std::ifstream in(tmp("dp_ppo_run/metrics.jsonl"));
  int steps = 0;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("objective/scores")) continue;
    ++steps;
    EXPECT_EQ(j["episode"], steps * 8);  // 4 rollouts per rank per step
  }
  EXPECT_EQ(steps, 4);
  EXPECT_TRUE(fs::exists(tmp("dp_ppo_run/final/model.safetensors")));
}

TEST(DataParallel, TorchrunAndFlywheelLaunchStartTheSameRun) {
  // torchrun's agent hosts the store (TORCHELASTIC_USE_AGENT_STORE): every rank is a client.
  const std::string torchrun = (fs::path(FW_PYTHON).parent_path() / "torchrun").string();
  if (!fs::exists(torchrun)) GTEST_SKIP() << "no torchrun next to " << FW_PYTHON;
  const std::string manual = write_recipe("dp_manual", "sft", 2, 1);
  ASSERT_EQ(run_flywheel_ranks("sft " + manual, 2, tmp("dp_manual.log")), (std::vector<int>{0, 0}));
  const std::string recipe = write_recipe("dp_torchrun", "sft", 2, 1);
  const std::string log = tmp("dp_torchrun.log");
  const std::string cmd = torchrun + " --no-python --standalone --nproc-per-node 2 " + fw::testing::flywheel_bin() +
                          " sft " + recipe + " > " + log + " 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_text(log);
  EXPECT_EQ(max_weight_diff(folder_weights(tmp("dp_manual_run/final")), folder_weights(tmp("dp_torchrun_run/final"))),
            0.0);
  // flywheel-launch: rank 0 hosts the store; every output line names its rank.
  const std::string launched = write_recipe("dp_launch", "sft", 2, 1);
  const std::string launch_log = tmp("dp_launch.log");
  const std::string launch = std::string(FW_BINARY_DIR) + "/bin/flywheel-launch --nproc-per-node 2 --master-port 0 -- " +
                             fw::testing::flywheel_bin() + " sft " + launched + " > " + launch_log + " 2>&1";
  const int launch_status = std::system(launch.c_str());
  ASSERT_TRUE(WIFEXITED(launch_status) && WEXITSTATUS(launch_status) == 0) << read_text(launch_log);
  EXPECT_NE(read_text(launch_log).find("[rank0]: [rank 0] data parallel over 2 ranks"), std::string::npos)
      << read_text(launch_log);
  EXPECT_EQ(max_weight_diff(folder_weights(tmp("dp_manual_run/final")), folder_weights(tmp("dp_launch_run/final"))),
            0.0);
}

// The pid of the launcher's child whose environment has RANK=<rank>.
pid_t rank_pid(pid_t launcher, int rank) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(text.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != launcher) continue;
    std::ifstream env(entry.path() / "environ");
    std::string vars((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    if (vars.find(std::string("\0RANK=") + std::to_string(rank) + '\0') != std::string::npos ||
        vars.rfind("RANK=" + std::to_string(rank) + '\0', 0) == 0)
      return static_cast<pid_t>(std::stoi(name));
  }
  return -1;
}

TEST(DataParallel, KillingARankStopsTheLaunchThenResumeContinues) {
  const std::string recipe = write_recipe("dp_kill", "sft", 2, 1, "dist_timeout_seconds: 60\n");
  const std::string args = std::string(FW_BINARY_DIR) + "/bin/flywheel-launch --nproc-per-node 2 --master-port 0 -- " +
                           fw::testing::flywheel_bin() + " sft " + recipe + " train.max_steps=400";
  const pid_t launcher = fork();
  if (launcher == 0) {
    const std::string cmd = "exec " + args + " > " + tmp("dp_kill.log") + " 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(tmp("dp_kill_run/checkpoint-00000004")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const pid_t victim = rank_pid(launcher, 1);
  ASSERT_GT(victim, 0) << "rank 1 not found";
  kill(victim, SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  waitpid(launcher, &status, 0);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string log = read_text(tmp("dp_kill.log"));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << log;
  EXPECT_LT(waited, 60.0) << log;
  EXPECT_NE(log.find("rank 1"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(tmp("dp_kill_run/final")));
  // resume: auto continues from the newest checkpoint (a short run this time).
  const std::string again = tmp("dp_kill_again.log");
  ASSERT_EQ(std::system((std::string(FW_BINARY_DIR) + "/bin/flywheel-launch --nproc-per-node 2 --master-port 0 -- " +
                         fw::testing::flywheel_bin() + " sft " + recipe + " train.max_steps=12 > " + again + " 2>&1")
                            .c_str()) >> 8,
            0)
      << read_text(again);
  EXPECT_NE(read_text(again).find("resumed from"), std::string::npos) << read_text(again);
  EXPECT_TRUE(fs::exists(tmp("dp_kill_run/final/model.safetensors")));
}

TEST(DataParallel, AnUnreachableStoreFailsWithinTheTimeout) {
  const std::string recipe = write_recipe("dp_nostore", "sft", 2, 1, "dist_timeout_seconds: 3\n");
  // Rank 1 of 2 alone: nobody serves the store at this port.
  const std::string log = tmp("dp_nostore.log");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string cmd = "RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                          std::to_string(fw::testing::free_port()) + " " + fw::testing::flywheel_bin() + " sft " +
                          recipe + " > " + log + " 2>&1";
  const int status = std::system(cmd.c_str());
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(WEXITSTATUS(status), 1) << read_text(log);
  EXPECT_LT(waited, 30.0);
  EXPECT_NE(read_text(log).find("rendezvous with 2 ranks at 127.0.0.1:"), std::string::npos) << read_text(log);
}

}  // namespace
