// `flywheel template` and `flywheel tokenize` against transformers, on folders of
// tokenizer files alone (tests/parity/template_cli_reference.py): for every real template
// of tests/data/chat_templates and every conversation of chat_templates.py, with the
// generation prompt off and on, the text equals apply_chat_template(tokenize=False), the
// ids equal apply_chat_template(tokenize=True), and the assistant mask equals transformers'
// return_assistant_tokens_mask for {% generation %} templates; for the others the mask
// covers each assistant reply and the token that ends its turn. A conversation the
// template refuses gives an error line in its place, and the others are still written.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/test_tmp.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// The reference folder of one template (each test process makes only its own).
std::string reference_dir(const std::string& name) {
  const std::string out = fw::testing::tmp_dir() + "/template_cli";
  const std::string cmd = std::string("HF_HUB_OFFLINE=1 ") + FW_PYTHON + " " + FW_SOURCE_DIR +
                          "/tests/parity/template_cli_reference.py " + FW_SOURCE_DIR + "/tests/data/chat_templates " +
                          out + " " + name + " > " + out + ".log 2>&1";
  fs::create_directories(out);
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  return out;
}

std::vector<ordered_json> read_jsonl(const std::string& path) {
  std::vector<ordered_json> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) out.push_back(ordered_json::parse(line));
  return out;
}

int run(const std::string& args, const std::string& out) {
  const std::string cmd = std::string(FW_BINARY_DIR) + "/bin/flywheel " + args + " > " + out + " 2> " + out + ".err";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> template_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(std::string(FW_TEST_DATA_DIR) + "/chat_templates"))
    if (e.path().extension() == ".jinja") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The text of each line's masked tokens (one `flywheel tokenize --decode` for all lines;
// a line that failed gives "").
std::vector<std::string> masked_texts(const std::string& folder, const std::vector<ordered_json>& got) {
  const std::string in = folder + "/masked.jsonl", out = folder + "/masked.out";
  {
    std::ofstream f(in);
    for (const auto& g : got) {
      ordered_json masked = ordered_json::array();
      if (!g.contains("error"))
        for (size_t i = 0; i < g["ids"].size(); ++i)
          if (g["assistant_mask"][i] == 1) masked.push_back(g["ids"][i]);
      f << ordered_json{{"ids", masked}}.dump() << "\n";
    }
  }
  EXPECT_EQ(run("tokenize " + folder + " --decode --file " + in, out), 0);
  std::vector<std::string> texts;
  for (const auto& j : read_jsonl(out)) texts.push_back(j["text"].get<std::string>());
  return texts;
}

std::string trimmed(const std::string& s) {
  const size_t a = s.find_first_not_of(" \n\t\r"), b = s.find_last_not_of(" \n\t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

class TemplateCli : public ::testing::TestWithParam<std::string> {};

TEST_P(TemplateCli, TextIdsAndMasksEqualTransformers) {
  const std::string folder = reference_dir(GetParam()) + "/" + GetParam();
  for (int gen : {0, 1}) {
    const std::string input = folder + "/gen" + std::to_string(gen) + ".jsonl";
    const std::string out = folder + "/gen" + std::to_string(gen) + ".out";
    const auto expected = read_jsonl(folder + "/gen" + std::to_string(gen) + ".expected.jsonl");
    const auto inputs = read_jsonl(input);
    const int rc = run("template " + folder + " --file " + input + (gen ? " --add-generation-prompt" : ""), out);
    const auto got = read_jsonl(out);
    ASSERT_EQ(got.size(), expected.size()) << "one output line per input line";
    const std::vector<std::string> masked_of = masked_texts(folder, got);
    ASSERT_EQ(masked_of.size(), got.size());
    bool any_error = false;
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE(GetParam() + " gen=" + std::to_string(gen) + " line " + std::to_string(i + 1));
      if (expected[i].contains("error")) {
        any_error = true;
        EXPECT_TRUE(got[i].contains("error")) << "transformers refused: " << expected[i]["error"];
        continue;
      }
      ASSERT_FALSE(got[i].contains("error")) << got[i]["error"];
      EXPECT_EQ(got[i]["text"], expected[i]["text"]);
      EXPECT_EQ(got[i]["ids"], expected[i]["ids"]);
      ASSERT_EQ(got[i]["assistant_mask"].size(), got[i]["ids"].size());
      if (expected[i].contains("assistant_masks")) {
        EXPECT_EQ(got[i]["assistant_mask"], expected[i]["assistant_masks"]);
        continue;
      }
      // Without generation blocks: every assistant reply, as the template shows it (whole,
      // or after its inline </think> where the template drops the reasoning), lies in the
      // masked text.
      const std::string& masked = masked_of[i];
      const std::string text = got[i]["text"];
      for (const auto& m : inputs[i]["messages"]) {
        if (m["role"] != "assistant" || !m.contains("content") || !m["content"].is_string()) continue;
        std::string reply = trimmed(m["content"].get<std::string>());
        if (const size_t think = reply.rfind("</think>"); think != std::string::npos && text.find(reply) == std::string::npos)
          reply = trimmed(reply.substr(think + 8));
        if (reply.empty() || text.find(reply) == std::string::npos) continue;  // a reply the template does not show
        EXPECT_NE(masked.find(reply), std::string::npos) << "reply " << m["content"] << " not in the masked text " << masked;
      }
    }
    EXPECT_EQ(rc, any_error ? 2 : 0) << "exit code: 2 when some line was refused";
  }
}

INSTANTIATE_TEST_SUITE_P(RealTemplates, TemplateCli, ::testing::ValuesIn(template_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
