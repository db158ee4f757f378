// `flywheel --version`, `info` and `generate` as a user runs them: output format,
// batching that does not change greedy results, seeded sampling, and clear errors with
// exit code 2 for bad input.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/test_tmp.h"
#include "data/tokenizer.h"
#include "model/checkpoint.h"
#include "rollout/generate.h"
#include "tiny_checkpoint.h"

namespace {
namespace fs = std::filesystem;

struct Result {
  int code;
  std::string out;  // stdout and stderr together
};

Result run(const std::string& args) {
  const char* bin = std::getenv("FLYWHEEL_BIN");
  std::string cmd = std::string(bin ? bin : FW_BINARY_DIR "/bin/flywheel") + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    std::string line = out.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty() && line[0] == '{') lines.push_back(nlohmann::json::parse(line));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fw::testing::make_tiny_checkpoint(model_dir()); }
  static std::string model_dir() { return fw::testing::tmp_dir() + "/cli_tiny_model"; }
  static std::string write_prompts(const std::string& name, const std::string& text) {
    std::string path = fw::testing::tmp_dir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(Cli, VersionAndInfo) {
  Result v = run("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.out.find("flywheel 0."), std::string::npos) << v.out;
  Result info = run("info " + model_dir());
  ASSERT_EQ(info.code, 0) << info.out;
  auto c = fw::model::LlamaConfig::load(model_dir());
  EXPECT_NE(info.out.find("(" + std::to_string(c.num_parameters()) + ")"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("GQA"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("tokenizer:      tokenizer.model, 300 tokens"), std::string::npos) << info.out;
}

TEST_F(Cli, GreedyGenerateMatchesTheLibraryAndIsDeterministic) {
  Result a = run("generate --model " + model_dir() + " --prompt 'what is 3 plus 4?' --max-new-tokens 12");
  ASSERT_EQ(a.code, 0) << a.out;
  auto lines = json_lines(a.out);
  ASSERT_EQ(lines.size(), 1u) << a.out;
  EXPECT_LE(lines[0]["completion_tokens"].get<int>(), 12);
  EXPECT_EQ(json_lines(run("generate --model " + model_dir() + " --prompt 'what is 3 plus 4?' --max-new-tokens 12").out),
            lines);

  // The same generation through the library.
  auto tok = fw::data::Tokenizer::load(model_dir());
  auto lm = fw::model::load_causal_lm(model_dir());
  auto ids32 = tok.encode("what is 3 plus 4?", true);
  std::vector<int64_t> ids(ids32.begin(), ids32.end());
  auto gen = fw::rollout::generate(lm, {ids}, {.max_new_tokens = 12, .eos_ids = {tok.eos_id()}, .pad_id = tok.pad_id()});
  std::vector<int32_t> out(gen[0].tokens.begin(), gen[0].tokens.end());
  EXPECT_EQ(lines[0]["response"].get<std::string>(), tok.decode(out));
}

TEST_F(Cli, BatchingDoesNotChangeGreedyOutputs) {
  std::string prompts = write_prompts("cli_prompts.jsonl",
                                      "{\"id\": \"a\", \"prompt\": \"what is 1 plus 2?\"}\n"
                                      "{\"id\": \"b\", \"prompt\": [{\"role\": \"user\", \"content\": \"what is 10 plus 12 and then 3?\"}]}\n"
                                      "{\"id\": 7, \"prompt\": \"5\"}\n"
                                      "\n"
                                      "{\"prompt\": [{\"role\": \"system\", \"content\": \"be brief\"}, {\"role\": \"user\", \"content\": \"the answer is\"}]}\n");
  const std::string base = "generate --model " + model_dir() + " --prompts " + prompts + " --template plain --max-new-tokens 16";
  Result one = run(base + " --batch-size 1");
  Result four = run(base + " --batch-size 4");
  ASSERT_EQ(one.code, 0) << one.out;
  ASSERT_EQ(four.code, 0) << four.out;
  auto a = json_lines(one.out), b = json_lines(four.out);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(a[0]["id"], "a");
  EXPECT_EQ(a[2]["id"], "7");
  EXPECT_EQ(a[3]["id"], "5");  // no id: the line number
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(a[i], b[i]) << i;
}

// --chat-template-kwargs reaches the model's own Jinja template (here a file, as Qwen3's
// enable_thinking reaches its generation prompt); a built-in template, raw text and a value
// that is not a JSON object are refused, naming the flag.
TEST_F(Cli, ChatTemplateKwargsReachTheTemplate) {
  const std::string tmpl = write_prompts("cli_kwargs.jinja",
                                         "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
                                         "{% if add_generation_prompt %}assistant:{% if think is defined and not think %}"
                                         " no thinking, just answer{% endif %} {% endif %}");
  const std::string base = "generate --model " + model_dir() + " --prompt 'what is' --max-new-tokens 2 --template " + tmpl;
  Result plain = run(base), off = run(base + " --chat-template-kwargs '{\"think\": false}'");
  ASSERT_EQ(plain.code, 0) << plain.out;
  ASSERT_EQ(off.code, 0) << off.out;
  EXPECT_GT(json_lines(off.out).at(0)["prompt_tokens"].get<int>(), json_lines(plain.out).at(0)["prompt_tokens"].get<int>());
  for (const std::string& bad : {std::string(" --template plain --chat-template-kwargs '{\"think\": false}'"),
                                 std::string(" --template none --chat-template-kwargs '{\"think\": false}'"),
                                 std::string(" --chat-template-kwargs '[1]'"), std::string(" --chat-template-kwargs '{'")}) {
    Result r = run("generate --model " + model_dir() + " --prompt hi --max-new-tokens 2" + bad);
    EXPECT_EQ(r.code, 2) << bad << "\n" << r.out;
  }
  Result r = run("generate --model " + model_dir() + " --prompt hi --chat-template-kwargs '[1]'");
  EXPECT_NE(r.out.find("--chat-template-kwargs"), std::string::npos) << r.out;
}

TEST_F(Cli, SeededSamplingIsReproducible) {
  const std::string base = "generate --model " + model_dir() + " --prompt 'what is' --max-new-tokens 20 --temperature 1.0 --top-k 50 --top-p 0.95";
  Result a = run(base + " --seed 3"), b = run(base + " --seed 3");
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(json_lines(a.out), json_lines(b.out));
  bool differs = false;
  for (int seed : {4, 5, 6}) differs = differs || json_lines(run(base + " --seed " + std::to_string(seed)).out) != json_lines(a.out);
  EXPECT_TRUE(differs);
}

TEST_F(Cli, BadInputExitsWithTwoAndSaysWhere) {
  std::string bad = write_prompts("cli_bad.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": \n");
  Result r = run("generate --model " + model_dir() + " --prompts " + bad);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(bad + ":2"), std::string::npos) << r.out;

  std::string missing = write_prompts("cli_missing.jsonl", "{\"id\": 1, \"text\": \"no prompt\"}\n");
  r = run("generate --model " + model_dir() + " --prompts " + missing);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find(missing + ":1: missing field \"prompt\""), std::string::npos) << r.out;

  r = run("generate --model " + model_dir() + " --prompt hi --device cuda:0");
  if (r.code != 0) {  // on a machine without a GPU
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("CUDA"), std::string::npos) << r.out;
  }
  r = run("generate --model /nonexistent/model --prompt hi");
  EXPECT_EQ(r.code, 2) << r.out;
  r = run("generate --model " + model_dir() + " --prompt hi --template chatm");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("chatml"), std::string::npos) << r.out;  // did you mean
  r = run("generate --model " + model_dir() + " --prompt hi --top-p 0");
  EXPECT_EQ(r.code, 2) << r.out;
  r = run("info " + fw::testing::tmp_dir());  // a folder that is not a model
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("no config.json"), std::string::npos) << r.out;
}

}  // namespace
