// Prompt JSONL (PPO rollouts, battles): strings or message lists, the generation prompt,
// truncation, and errors that name file:line and the key.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "data/chat_template.h"
#include "data/prompt_dataset.h"
#include "tests/unit/data/tokenizer_fixture.h"

namespace {
using namespace fw::data;
using fw::data::testing::scratch_dir;
using fw::data::testing::shared_tokenizer;
using fw::data::testing::write_file;

std::string write(const std::string& name, const std::string& text) {
  const std::string path = scratch_dir("prompts_" + name) + "/prompts.jsonl";
  write_file(path, text);
  return path;
}

std::string load_error(const std::string& path, const PromptDataOptions& opts = {}) {
  try {
    load_prompt_dataset({path}, shared_tokenizer(), opts);
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    return e.what();
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}

TEST(PromptData, StringsAndMessageListsGetTheGenerationPrompt) {
  const auto& tok = shared_tokenizer();
  const std::string path = write("ok",
                                 "{\"id\": \"a\", \"prompt\": \"What is 1 + 2?\", \"category\": \"arithmetic\", "
                                 "\"reference\": 3}\n"
                                 "\n"
                                 "{\"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
                                 "{\"role\": \"user\", \"content\": \"Say hi.\"}]}\n");
  const PromptDataset ds = load_prompt_dataset({path}, tok, {.chat_template = TemplateKind::ChatMl});
  ASSERT_EQ(ds.examples.size(), 2u);
  const PromptRecord& a = ds.examples[0].record;
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.category, "arithmetic");
  EXPECT_TRUE(a.has_reference);
  EXPECT_EQ(a.reference, "3");
  EXPECT_EQ(ds.examples[0].prompt_ids,
            encode_chat(tok, TemplateKind::ChatMl, {{"user", "What is 1 + 2?"}}, /*add_generation_prompt=*/true).ids);
  const PromptRecord& b = ds.examples[1].record;
  EXPECT_EQ(b.id, path + ":3");  // no "id": named by file:line
  EXPECT_FALSE(b.has_reference);
  ASSERT_EQ(b.messages.size(), 2u);
  EXPECT_EQ(b.messages[0].role, "system");
  EXPECT_EQ(ds.stats.kept, 2);
  EXPECT_EQ(ds.stats.prompt_tokens,
            static_cast<int64_t>(ds.examples[0].prompt_ids.size() + ds.examples[1].prompt_ids.size()));
}

TEST(PromptData, LongPromptsAreDroppedOrCutFromTheLeft) {
  const auto& tok = shared_tokenizer();
  const std::string path = write("long",
                                 "{\"prompt\": \"Hi.\"}\n"
                                 "{\"prompt\": \"Please count all the words in this rather long sentence for me.\"}\n");
  const auto full = encode_chat(tok, TemplateKind::Plain,
                                {{"user", "Please count all the words in this rather long sentence for me."}}, true).ids;
  const int64_t limit = static_cast<int64_t>(full.size()) - 3;
  const PromptDataset dropped = load_prompt_dataset({path}, tok, {.max_prompt_len = limit});
  EXPECT_EQ(dropped.examples.size(), 1u);
  EXPECT_EQ(dropped.stats.dropped_too_long, 1);
  const PromptDataset cut =
      load_prompt_dataset({path}, tok, {.max_prompt_len = limit, .truncation = PromptTruncation::KeepEnd});
  ASSERT_EQ(cut.examples.size(), 2u);
  EXPECT_EQ(cut.stats.truncated, 1);
  EXPECT_EQ(cut.examples[1].prompt_ids, std::vector<int32_t>(full.end() - limit, full.end()));  // the end survives
  EXPECT_NE(load_error(path, {.max_prompt_len = 1}).find("no prompt left"), std::string::npos);
  const PromptDataset first = load_prompt_dataset({path}, tok, {.max_examples = 1});
  EXPECT_EQ(first.examples.size(), 1u);
}

TEST(PromptData, BadRecordsNameFileLineAndKey) {
  struct Case {
    const char* name;
    const char* line2;
    const char* expected;
  };
  const Case cases[] = {
      {"not_json", "{\"prompt\": ", "prompts.jsonl:2"},
      {"missing", "{\"id\": \"x\"}", "prompt"},
      {"number", "{\"prompt\": 7}", "must be a string or a list of messages"},
      {"assistant_last",
       "{\"prompt\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}]}",
       "prompt[1].role"},
      {"bad_role", "{\"prompt\": [{\"role\": \"robot\", \"content\": \"a\"}]}", "prompt[0].role"},
      {"empty_list", "{\"prompt\": []}", "no message"},
      {"bad_category", "{\"prompt\": \"a\", \"category\": 3}", "category"},
      {"duplicate", "{\"id\": \"one\", \"prompt\": \"b\"}", "duplicate prompt id 'one'"},
  };
  for (const Case& c : cases) {
    const std::string path = write(c.name, std::string("{\"id\": \"one\", \"prompt\": \"a\"}\n") + c.line2 + "\n");
    const std::string err = load_error(path);
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.name << ": " << err;
    EXPECT_NE(err.find("prompts.jsonl:2"), std::string::npos) << c.name << ": " << err;
  }
  EXPECT_THROW(prompt_truncation_from_name("keep_start"), fw::Error);
}

}  // namespace
