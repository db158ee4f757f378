#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/test_tmp.h"
#include "core/error.h"
#include "core/json_io.h"
#include "data/chat_template.h"
#include "data/synth/task_io.h"
#include "data/synth/verify.h"

namespace {

using fw::synth::Task;

std::string tmp_path(const std::string& name) { return fw::testing::tmp_dir() + "/synth_" + name; }

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::vector<Task> sample(int n = 200) {
  fw::synth::GenerateOptions o;
  o.n = n;
  o.seed = 21;
  return fw::synth::generate_tasks(o);
}

TEST(SynthIo, PromptJsonlRoundTrip) {
  auto tasks = sample();
  const auto path = tmp_path("prompts.jsonl");
  fw::synth::write_prompt_jsonl(path, tasks);
  auto back = fw::synth::read_prompt_jsonl(path);
  ASSERT_EQ(back.size(), tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto &a = tasks[i], &b = back[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.category, b.category);
    EXPECT_EQ(a.difficulty, b.difficulty);
    EXPECT_EQ(a.reference, b.reference);
    EXPECT_EQ(a.reference_response, b.reference_response);
    EXPECT_EQ(a.problem, b.problem);
    ASSERT_EQ(a.messages.size(), b.messages.size());
    for (size_t k = 0; k < a.messages.size(); ++k) {
      EXPECT_EQ(a.messages[k].role, b.messages[k].role);
      EXPECT_EQ(a.messages[k].content, b.messages[k].content);
    }
  }
}

TEST(SynthIo, PromptRecordHasTheDesignFields) {
  auto t = sample(1)[0];
  auto j = fw::synth::task_to_prompt_json(t);
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "prompt", "category", "reference", "difficulty", "problem"}));
  EXPECT_TRUE(j["prompt"].is_array());
  EXPECT_EQ(j["prompt"][0]["role"], "user");
}

TEST(SynthIo, SftJsonlEndsWithTheCanonicalReply) {
  auto tasks = sample();
  const auto path = tmp_path("sft.jsonl");
  fw::synth::write_sft_jsonl(path, tasks);
  size_t i = 0;
  fw::for_each_jsonl(path, [&](const nlohmann::json& j, long) {
    ASSERT_LT(i, tasks.size());
    auto msgs = fw::data::parse_messages(j.at("messages"));
    ASSERT_EQ(msgs.size(), tasks[i].messages.size() + 1);
    EXPECT_EQ(msgs.back().role, "assistant");
    EXPECT_EQ(msgs.back().content, tasks[i].reference_response);
    EXPECT_EQ(fw::synth::verify(tasks[i], msgs.back().content).score, 10);
    EXPECT_EQ(j.at("id"), tasks[i].id);
    EXPECT_EQ(j.at("category"), tasks[i].category);
    ++i;
  });
  EXPECT_EQ(i, tasks.size());
}

TEST(SynthIo, ReadsForeignPromptRecords) {
  const auto path = tmp_path("foreign.jsonl");
  write_text(path,
             "{\"id\": \"q1\", \"prompt\": \"What is 2 + 2?\", \"category\": \"math\", \"reference\": 4}\n"
             "\n"
             "{\"id\": \"q2\", \"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", "
             "\"content\": \"Spell dog backwards.\"}], \"category\": \"string\", \"reference\": \"god\", "
             "\"difficulty\": 2}\n");
  auto ts = fw::synth::read_prompt_jsonl(path);
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].messages.size(), 1u);
  EXPECT_EQ(ts[0].messages[0].role, "user");
  EXPECT_EQ(ts[0].reference, "4");
  EXPECT_EQ(ts[0].difficulty, 0);
  EXPECT_EQ(ts[0].reference_response, "The answer is 4.");
  EXPECT_EQ(ts[1].messages[0].role, "system");
  EXPECT_EQ(ts[1].difficulty, 2);
  EXPECT_EQ(fw::synth::verify(ts[1], "god").score, 10);
}

struct BadCase {
  const char* name;
  const char* second_line;  // line 2 of the file (line 1 is valid)
  const char* key;          // expected ErrorContext::key ("" = any)
  const char* message_part;
};

TEST(SynthIo, MalformedLinesNameFileLineAndKey) {
  const char* good = "{\"id\": \"a\", \"prompt\": [{\"role\": \"user\", \"content\": \"hi\"}], \"category\": \"x\", \"reference\": \"1\"}";
  const BadCase cases[] = {
      {"not_json", "{\"id\": \"b\", ", "", "invalid JSON"},
      {"not_object", "[1, 2]", "", "JSON object"},
      {"no_id", "{\"prompt\": \"hi\", \"category\": \"x\", \"reference\": \"1\"}", "id", "missing field \"id\""},
      {"empty_id", "{\"id\": \"\", \"prompt\": \"hi\", \"category\": \"x\", \"reference\": \"1\"}", "id", "empty"},
      {"id_number", "{\"id\": 5, \"prompt\": \"hi\", \"category\": \"x\", \"reference\": \"1\"}", "id", "must be a string"},
      {"no_prompt", "{\"id\": \"b\", \"category\": \"x\", \"reference\": \"1\"}", "prompt", "missing field \"prompt\""},
      {"prompt_number", "{\"id\": \"b\", \"prompt\": 3, \"category\": \"x\", \"reference\": \"1\"}", "prompt", "list of messages"},
      {"empty_prompt", "{\"id\": \"b\", \"prompt\": [], \"category\": \"x\", \"reference\": \"1\"}", "prompt", "empty"},
      {"bad_role", "{\"id\": \"b\", \"prompt\": [{\"role\": \"robot\", \"content\": \"x\"}], \"category\": \"x\", \"reference\": \"1\"}",
       "prompt[0].role", ""},
      {"no_content", "{\"id\": \"b\", \"prompt\": [{\"role\": \"user\"}], \"category\": \"x\", \"reference\": \"1\"}",
       "prompt[0].content", ""},
      {"ends_with_assistant",
       "{\"id\": \"b\", \"prompt\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"y\"}], "
       "\"category\": \"x\", \"reference\": \"1\"}",
       "prompt", "user turn"},
      {"no_category", "{\"id\": \"b\", \"prompt\": \"hi\", \"reference\": \"1\"}", "category", "missing"},
      {"no_reference", "{\"id\": \"b\", \"prompt\": \"hi\", \"category\": \"x\"}", "reference", "missing field \"reference\""},
      {"reference_list", "{\"id\": \"b\", \"prompt\": \"hi\", \"category\": \"x\", \"reference\": [1]}", "reference", "string"},
      {"bad_difficulty", "{\"id\": \"b\", \"prompt\": \"hi\", \"category\": \"x\", \"reference\": \"1\", \"difficulty\": 7}",
       "difficulty", "1..3"},
      {"duplicate_id", "{\"id\": \"a\", \"prompt\": \"hi\", \"category\": \"x\", \"reference\": \"1\"}", "id",
       "duplicate id 'a' (first on line 1)"},
  };
  for (const auto& c : cases) {
    const auto path = tmp_path(std::string("bad_") + c.name + ".jsonl");
    write_text(path, std::string(good) + "\n" + c.second_line + "\n");
    try {
      fw::synth::read_prompt_jsonl(path);
      ADD_FAILURE() << c.name << ": no error";
    } catch (const fw::Error& e) {
      EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput) << c.name;
      EXPECT_EQ(e.context().file, path) << c.name;
      EXPECT_EQ(e.context().line, 2) << c.name << ": " << e.what();
      if (*c.key) {
        EXPECT_EQ(e.context().key, c.key) << c.name << ": " << e.what();
      }
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << c.name << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(path + ":2"), std::string::npos) << e.what();
    }
  }
}

// A file the user names that is not there is bad input (exit 2), like a bad line.
TEST(SynthIo, MissingFileIsAnInputErrorNamingIt) {
  const std::string missing = tmp_path("does_not_exist.jsonl");
  try {
    fw::synth::read_prompt_jsonl(missing);
    FAIL();
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    EXPECT_EQ(e.context().file, missing);
  }
}

}  // namespace
