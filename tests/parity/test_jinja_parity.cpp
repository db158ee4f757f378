// Parity of the native Jinja engine with transformers' apply_chat_template(tokenize=False):
// tests/parity/chat_templates.py renders every template under tests/data/chat_templates on
// its conversations (with and without system, tools, tool calls and results, reasoning,
// empty contents, unicode, generation prompt on and off, enable_thinking on and off) and
// writes the context each render saw with its text or error; here the same context is
// rendered natively and must give the same bytes, or the same raise_exception message.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/chat/jinja.h"
#include "tests/support/test_tmp.h"

namespace {

using nlohmann::ordered_json;

const ordered_json& reference() {
  static const ordered_json ref = [] {
    const std::string out = fw::testing::tmp_dir() + "/jinja_parity." + std::to_string(getpid()) + ".json";
    const std::string cmd = std::string("HF_HUB_OFFLINE=1 ") + FW_PYTHON + " " + FW_SOURCE_DIR +
                            "/tests/parity/chat_templates.py " + FW_SOURCE_DIR + "/tests/data/chat_templates " + out;
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    std::ifstream f(out);
    ordered_json j = ordered_json::parse(f);
    std::filesystem::remove(out);
    return j;
  }();
  return ref;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

TEST(JinjaParity, EveryTemplateRendersLikeTransformers) {
  const ordered_json& cases = reference();
  ASSERT_TRUE(cases.is_array());
  std::map<std::string, fw::data::JinjaTemplate> templates;
  struct Tally {
    int passed = 0, total = 0, refused = 0;
  };
  std::map<std::string, Tally> tally;
  int with_spans = 0;
  for (const ordered_json& c : cases) {
    const std::string file = c["template"].get<std::string>();
    const std::string what = file + ": " + c["case"].get<std::string>();
    if (!templates.count(file)) {
      const std::string path = std::string(FW_SOURCE_DIR) + "/tests/data/chat_templates/" + file;
      templates.emplace(file, fw::data::JinjaTemplate::parse(read_file(path), file));
    }
    const fw::data::JinjaTemplate& t = templates.at(file);
    auto& [passed, total, refused] = tally[file];
    ++total;
    if (c.contains("text")) {
      try {
        const fw::data::JinjaRenderResult result = t.render(c["context"]);
        const std::string& text = result.text;
        bool same = text == c["text"].get<std::string>();
        EXPECT_EQ(text, c["text"].get<std::string>()) << what;
        if (c.contains("generation_spans")) {  // return_assistant_tokens_mask's spans, in bytes
          std::vector<std::pair<size_t, size_t>> expected;
          for (const ordered_json& span : c["generation_spans"]) expected.emplace_back(span[0], span[1]);
          EXPECT_EQ(result.generation_spans, expected) << what;
          same = same && result.generation_spans == expected;
          ++with_spans;
        }
        passed += same;
      } catch (const fw::Error& e) {
        ADD_FAILURE() << what << ": " << e.what();
      }
      continue;
    }
    // transformers refused this conversation: so must we, with raise_exception's message.
    ++refused;
    try {
      t.render(c["context"]);
      ADD_FAILURE() << what << ": rendered, but transformers raised: " << c["error"];
    } catch (const fw::Error& e) {
      if (c["raised"].get<bool>()) {
        EXPECT_EQ(e.message(), c["error"].get<std::string>()) << what;
        passed += e.message() == c["error"].get<std::string>();
      } else {
        ++passed;
      }
    }
  }
  EXPECT_GT(with_spans, 40);  // the {% generation %} template's renders compared their spans
  for (const auto& [file, n] : tally)
    std::cout << file << ": " << n.passed << " of " << n.total << " conversations match (" << n.total - n.refused
              << " rendered, " << n.refused << " refused by the template)\n";
}

}  // namespace
