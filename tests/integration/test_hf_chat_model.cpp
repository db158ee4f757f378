// A model folder as users bring it from the Hub — Qwen3 weights, a byte-level
// tokenizer.json and no tokenizer.model, the real Qwen2.5-Instruct chat template — through
// SFT, DPO and a battle, end to end with the `flywheel` binary
// (tests/integration/hf_chat_model.py makes the folder with transformers).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/json_io.h"
#include "data/synth/task_io.h"
#include "data/synth/tasks.h"
#include "tests/integration/cli_run.h"
#include "tests/support/test_tmp.h"

namespace {
namespace fs = std::filesystem;
using fw::testing::read_text;
using fw::testing::run_flywheel;

std::string root() { return fw::testing::scratch("hf_chat"); }

// The data and the model folder, made once per test process.
const std::string& model_dir() {
  static const std::string dir = [] {
    fs::create_directories(root());
    const auto tasks = fw::synth::generate_tasks({.n = 240, .seed = 7, .max_difficulty = 1});
    fw::synth::write_sft_jsonl(root() + "/sft.jsonl", tasks);
    fw::synth::write_preference_jsonl(root() + "/pref.jsonl", tasks, 3);
    fw::synth::write_prompt_jsonl(root() + "/prompts.jsonl",
                                  fw::synth::generate_tasks({.n = 8, .seed = 8, .max_difficulty = 1}));
    const std::string out = root() + "/model";
    const std::string cmd = std::string("HF_HUB_OFFLINE=1 ") + FW_PYTHON + " " + FW_SOURCE_DIR +
                            "/tests/integration/hf_chat_model.py " + root() + "/sft.jsonl " + FW_SOURCE_DIR +
                            "/tests/data/chat_templates/Qwen-Qwen2.5-7B-Instruct.jinja " + out + " > " + root() +
                            "/make.log 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd + "\n" + read_text(root() + "/make.log"));
    return out;
  }();
  return dir;
}

std::vector<nlohmann::json> metrics(const std::string& run) {
  std::vector<nlohmann::json> out;
  fw::for_each_jsonl(run + "/metrics.jsonl", [&](const nlohmann::json& j, long) {
    if (j.contains("loss")) out.push_back(j);
  });
  return out;
}

std::string recipe(const std::string& name, const std::string& body) {
  const std::string path = root() + "/" + name + ".yaml";
  std::ofstream(path) << "output_dir: " << root() << "/" << name << "\nseed: 3\nthreads: 2\nlog_every_steps: 1\n" << body;
  fs::remove_all(root() + "/" + name);
  return path;
}

TEST(HfChatModel, SftLearnsTheRepliesUnderTheModelsOwnTemplate) {
  const std::string r = recipe("sft", "model: {path: " + model_dir() + "}\n"
                                      "data: {train: [" + root() + "/sft.jsonl], max_seq_len: 256}\n"
                                      "optim: {lr: 3.0e-3}\nschedule: {warmup_steps: 5}\n"
                                      "train: {max_steps: 40, micro_batch_size: 8}\ncheckpoint: {every_steps: 0}\n");
  ASSERT_EQ(run_flywheel("sft " + r, root() + "/sft.log"), 0) << read_text(root() + "/sft.log");
  // The model's own Jinja template is the one in use, not a built-in look-alike.
  EXPECT_NE(read_text(root() + "/sft.log").find("chat template: jinja"), std::string::npos)
      << read_text(root() + "/sft.log");
  const auto m = metrics(root() + "/sft");
  ASSERT_GE(m.size(), 2u);
  EXPECT_LT(m.back()["loss"].get<double>(), 0.6 * m.front()["loss"].get<double>());
  // The exported folder is the user's kind of folder again: tokenizer.json and the template.
  const std::string final_dir = root() + "/sft/final";
  EXPECT_TRUE(fs::exists(final_dir + "/tokenizer.json"));
  EXPECT_FALSE(fs::exists(final_dir + "/tokenizer.model"));
  // ...with the folder's generation_config.json: both end ids still stop generation.
  EXPECT_EQ(fw::read_json_file(final_dir + "/generation_config.json")["eos_token_id"],
            fw::read_json_file(model_dir() + "/generation_config.json")["eos_token_id"]);
  EXPECT_EQ(fw::read_json_file(final_dir + "/generation_config.json")["eos_token_id"].size(), 2u);
  const std::string convo = root() + "/convo.jsonl";
  std::ofstream(convo) << R"({"messages": [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "5"}]})"
                       << "\n";
  ASSERT_EQ(run_flywheel("template " + model_dir() + " --file " + convo, root() + "/t0.out"), 0);
  ASSERT_EQ(run_flywheel("template " + final_dir + " --file " + convo, root() + "/t1.out"), 0);
  EXPECT_EQ(read_text(root() + "/t0.out"), read_text(root() + "/t1.out"));
  EXPECT_NE(read_text(root() + "/t1.out").find("<|im_start|>system\\nYou are Qwen"), std::string::npos);
}

double mean(const std::vector<nlohmann::json>& m, size_t from, size_t to, const char* key) {
  double sum = 0;
  for (size_t i = from; i < to; ++i) sum += m[i][key].get<double>();
  return sum / static_cast<double>(to - from);
}

TEST(HfChatModel, DpoLearnsToPreferTheChosenAnswers) {
  // Conversational pairs, rendered by the folder's Jinja template (prompt with the
  // generation prompt, then each side), about 3 epochs of the 240 pairs.
  const std::string r = recipe("dpo", "model: {path: " + model_dir() + "}\n"
                                      "data: {train: [" + root() + "/pref.jsonl], max_seq_len: 256}\n"
                                      "optim: {lr: 1.0e-3}\n"
                                      "train: {max_steps: 90, micro_batch_size: 8}\ncheckpoint: {every_steps: 0}\n");
  ASSERT_EQ(run_flywheel("dpo " + r, root() + "/dpo.log"), 0) << read_text(root() + "/dpo.log");
  EXPECT_NE(read_text(root() + "/dpo.log").find("chat template: jinja"), std::string::npos);
  const auto m = metrics(root() + "/dpo");
  ASSERT_EQ(m.size(), 90u);
  // Batch figures are noisy: the first and last 10 steps' means (measured: loss 0.68 ->
  // 0.61, reward accuracy 0.48 -> 0.75).
  EXPECT_LT(mean(m, 80, 90, "loss"), mean(m, 0, 10, "loss") - 0.03);
  EXPECT_GT(mean(m, 80, 90, "rewards/accuracies"), 0.6);
  EXPECT_TRUE(fs::exists(root() + "/dpo/final/tokenizer.json"));
}

TEST(HfChatModel, BattlesAnswerThroughTheModelsTemplateAndStopAtItsEndToken) {
  const std::string model = model_dir();  // (makes the folder the recipe goes into)
  const std::string battle = root() + "/battle.yaml";
  std::ofstream(battle) << "output_dir: " << root() << "/battle\nprompts: [" << root()
                        << "/prompts.jsonl]\npairs: all\nrecord_time: false\njudge: {kind: rule}\n"
                        << "competitors:\n"
                        << "  - {name: qwen-tiny, kind: local, model: " << model
                        << ", sampling: {temperature: 0, max_tokens: 12}}\n"
                        << "  - {name: sim, kind: simulated, accuracy: 1.0}\n";
  fs::remove_all(root() + "/battle");
  ASSERT_EQ(run_flywheel("battle " + battle, root() + "/battle.log"), 0) << read_text(root() + "/battle.log");
  const auto summary = fw::read_json_file(root() + "/battle/summary.json");
  EXPECT_EQ(summary["battles_written"], 8);
  int64_t answers = 0;
  fw::for_each_jsonl(root() + "/battle/responses.jsonl", [&](const nlohmann::json& j, long) {
    if (j.dump().find("qwen-tiny") == std::string::npos) return;
    ++answers;
    // Decoded text: no special token leaks into an answer.
    EXPECT_EQ(j.dump().find("<|im_end|>"), std::string::npos) << j.dump();
  });
  EXPECT_EQ(answers, 8);
}

}  // namespace
