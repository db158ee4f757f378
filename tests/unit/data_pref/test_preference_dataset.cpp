// Preference JSONL: TRL's formats, implicit prompts, counted skips, truncation and errors
// that name file:line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "data/chat_template.h"
#include "data/preference_dataset.h"
#include "tests/unit/data/tokenizer_fixture.h"

namespace {
using namespace fw::data;
using fw::data::testing::scratch_dir;
using fw::data::testing::shared_tokenizer;
using fw::data::testing::write_file;

std::string write(const std::string& name, const std::string& text) {
  const std::string path = scratch_dir("pref_" + name) + "/data.jsonl";
  write_file(path, text);
  return path;
}

std::vector<int32_t> cat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<Message> msgs(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<Message> out;
  for (const auto& [role, content] : list) out.push_back({role, content});
  return out;
}

// The error a load throws, as text (fails the test if nothing is thrown).
std::string load_error(const std::string& path, const PreferenceDataOptions& opts = {}) {
  try {
    load_preference_jsonl({path}, shared_tokenizer(), opts);
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    return e.what();
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}

TEST(PreferenceData, PlainTextIsBosPromptThenCompletionAndEos) {
  const auto& tok = shared_tokenizer();
  auto path = write("text", R"({"prompt": "What is 1 + 2?", "chosen": " 1 + 2 = 3.", "rejected": " 1 + 2 = 4."})"
                            "\n");
  auto ds = load_preference_jsonl({path}, tok, {});
  ASSERT_EQ(ds.examples.size(), 1u);
  const auto& ex = ds.examples[0];
  EXPECT_EQ(ex.prompt_ids, tok.encode("What is 1 + 2?", /*add_bos=*/true));
  EXPECT_EQ(ex.chosen_ids, cat(tok.encode_continuation(" 1 + 2 = 3."), {tok.eos_id()}));
  EXPECT_EQ(ex.rejected_ids, cat(tok.encode_continuation(" 1 + 2 = 4."), {tok.eos_id()}));
  EXPECT_EQ(tok.decode(cat(ex.prompt_ids, ex.chosen_ids)), "What is 1 + 2? 1 + 2 = 3.");
  EXPECT_EQ(ex.margin, 0.0);
  EXPECT_EQ(ds.stats.kept, 1);
  EXPECT_EQ(ds.stats.prompt_tokens, static_cast<int64_t>(ex.prompt_ids.size()));
  EXPECT_EQ(ds.stats.completion_tokens, static_cast<int64_t>(ex.chosen_ids.size() + ex.rejected_ids.size()));
}

// For every template: prompt = the generation-prompt encoding, prompt + completion = the
// whole conversation's encoding, and the completion ends with the template's end of turn.
TEST(PreferenceData, ConversationalFollowsTheChatTemplate) {
  const auto& tok = shared_tokenizer();
  auto path = write("chat",
                    R"({"prompt": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Say hello."}],)"
                    R"( "chosen": [{"role": "assistant", "content": "Hello!"}], "rejected": [{"role": "assistant", "content": "No."}], "margin": 2.5})"
                    "\n");
  const auto prompt = msgs({{"system", "You are a helpful assistant."}, {"user", "Say hello."}});
  auto full = [&](const char* reply) {
    auto m = prompt;
    m.push_back({"assistant", reply});
    return m;
  };
  for (TemplateKind kind : {TemplateKind::Plain, TemplateKind::ChatMl, TemplateKind::Llama2}) {
    SCOPED_TRACE(template_name(kind));
    auto ds = load_preference_jsonl({path}, tok, {.chat_template = kind});
    ASSERT_EQ(ds.examples.size(), 1u);
    const auto& ex = ds.examples[0];
    EXPECT_EQ(ex.prompt_ids, encode_chat(tok, kind, prompt, /*add_generation_prompt=*/true).ids);
    EXPECT_EQ(cat(ex.prompt_ids, ex.chosen_ids), encode_chat(tok, kind, full("Hello!")).ids);
    EXPECT_EQ(cat(ex.prompt_ids, ex.rejected_ids), encode_chat(tok, kind, full("No.")).ids);
    if (kind == TemplateKind::ChatMl) {
      ASSERT_GE(ex.chosen_ids.size(), 2u);
      EXPECT_EQ(ex.chosen_ids[ex.chosen_ids.size() - 2], tok.piece_to_id("<|im_end|>"));
      EXPECT_EQ(tok.decode(ex.chosen_ids), "Hello!<|im_end|>\n");
    } else {
      EXPECT_EQ(ex.chosen_ids.back(), tok.eos_id());
      EXPECT_EQ(tok.decode(ex.chosen_ids), kind == TemplateKind::Llama2 ? "Hello! " : "Hello!");
    }
    EXPECT_EQ(ex.margin, 2.5);
    EXPECT_EQ(ds.stats.with_margin, 1);
  }
}

TEST(PreferenceData, ImplicitPromptIsTheSharedPrefix) {
  const auto& tok = shared_tokenizer();
  auto implicit = write("implicit",
                        R"({"chosen": [{"role": "user", "content": "Hi there."}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "4."}],)"
                        R"( "rejected": [{"role": "user", "content": "Hi there."}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "5."}]})"
                        "\n"
                        R"({"chosen": "The small river is green.", "rejected": "The small river is quiet."})"
                        "\n");
  auto explicit_ = write("explicit",
                         R"({"prompt": [{"role": "user", "content": "Hi there."}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "What is 2 + 2?"}],)"
                         R"( "chosen": [{"role": "assistant", "content": "4."}], "rejected": [{"role": "assistant", "content": "5."}]})"
                         "\n"
                         R"({"prompt": "The small river is", "chosen": " green.", "rejected": " quiet."})"
                         "\n");
  for (TemplateKind kind : {TemplateKind::Plain, TemplateKind::ChatMl}) {
    SCOPED_TRACE(template_name(kind));
    auto a = load_preference_jsonl({implicit}, tok, {.chat_template = kind});
    auto b = load_preference_jsonl({explicit_}, tok, {.chat_template = kind});
    ASSERT_EQ(a.examples.size(), 2u);
    ASSERT_EQ(b.examples.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(a.examples[i].prompt_ids, b.examples[i].prompt_ids) << i;
      EXPECT_EQ(a.examples[i].chosen_ids, b.examples[i].chosen_ids) << i;
      EXPECT_EQ(a.examples[i].rejected_ids, b.examples[i].rejected_ids) << i;
    }
    EXPECT_EQ(a.stats.implicit_prompt, 2);
    EXPECT_EQ(b.stats.implicit_prompt, 0);
  }
  // The text form splits before the space, as TRL's extract_prompt: " green." is the reply.
  auto a = load_preference_jsonl({implicit}, tok, {});
  EXPECT_EQ(tok.decode(a.examples[1].prompt_ids), "The small river is");
}

TEST(PreferenceData, CountsSkips) {
  const auto& tok = shared_tokenizer();
  auto path = write("skips",
                    // identical chosen and rejected
                    R"({"prompt": "Hello!", "chosen": " Hi.", "rejected": " Hi."})" "\n"
                    // empty sides: blank text, empty list, whitespace-only reply, implicit prefix
                    R"({"prompt": "Hello!", "chosen": "  ", "rejected": " Hi."})" "\n"
                    R"({"prompt": [{"role": "user", "content": "Hello!"}], "chosen": [], "rejected": [{"role": "assistant", "content": "Hi."}]})" "\n"
                    R"({"prompt": [{"role": "user", "content": "Hello!"}], "chosen": [{"role": "assistant", "content": "Hi."}], "rejected": [{"role": "assistant", "content": " \n"}]})" "\n"
                    R"({"chosen": "Hello! Hi.", "rejected": "Hello! Hi. More."})" "\n"
                    // kept
                    R"({"prompt": "Hello!", "chosen": " Hi.", "rejected": " Go away."})" "\n");
  auto ds = load_preference_jsonl({path}, tok, {});
  EXPECT_EQ(ds.stats.read, 6);
  EXPECT_EQ(ds.stats.kept, 1);
  EXPECT_EQ(ds.stats.dropped_identical, 1);
  EXPECT_EQ(ds.stats.dropped_empty, 4);
  EXPECT_EQ(ds.examples.size(), 1u);
  EXPECT_NE(ds.stats.summary().find("1/6 preference pairs kept"), std::string::npos) << ds.stats.summary();

  auto limited = load_preference_jsonl({path}, tok, {.max_examples = 1000});
  EXPECT_EQ(limited.stats.read, 6);
  auto only_first = write("only_skips", R"({"prompt": "Hello!", "chosen": " Hi.", "rejected": " Hi."})" "\n");
  EXPECT_NE(load_error(only_first).find("no usable preference pairs"), std::string::npos);
}

TEST(PreferenceData, MaxExamplesStopsReading) {
  const auto& tok = shared_tokenizer();
  std::string text;
  for (int i = 0; i < 5; ++i) text += R"({"prompt": "Hello!", "chosen": " Hi.", "rejected": " Go away."})" "\n";
  auto ds = load_preference_jsonl({write("max", text)}, tok, {.max_examples = 3});
  EXPECT_EQ(ds.stats.read, 3);
  EXPECT_EQ(ds.examples.size(), 3u);
}

TEST(PreferenceData, TruncationDropsOrKeepsTheEnd) {
  const auto& tok = shared_tokenizer();
  auto path = write("long", R"({"prompt": "The quiet teacher reads a simple sentence, and the garden helps it.", "chosen": " Thanks a lot!", "rejected": " No."})"
                            "\n");
  auto whole = load_preference_jsonl({path}, tok, {});
  const auto& ex = whole.examples[0];
  const int64_t longer = static_cast<int64_t>(std::max(ex.chosen_ids.size(), ex.rejected_ids.size()));
  const int64_t max_len = longer + 3;  // room for 3 prompt tokens
  ASSERT_GT(static_cast<int64_t>(ex.prompt_ids.size()), 3);

  PreferenceDataOptions drop{.max_seq_len = max_len};
  EXPECT_NE(load_error(path, drop).find("1 too long"), std::string::npos);

  PreferenceDataOptions keep{.max_seq_len = max_len, .truncation = PreferenceTruncation::KeepEnd};
  auto kept = load_preference_jsonl({path}, tok, keep);
  ASSERT_EQ(kept.examples.size(), 1u);
  EXPECT_EQ(kept.stats.truncated, 1);
  const auto& k = kept.examples[0];
  EXPECT_EQ(k.prompt_ids, std::vector<int32_t>(ex.prompt_ids.end() - 3, ex.prompt_ids.end()));
  EXPECT_EQ(k.chosen_ids, ex.chosen_ids);
  EXPECT_EQ(k.rejected_ids, ex.rejected_ids);

  // keep_end cannot help when the longer completion leaves no room for a prompt token.
  PreferenceDataOptions tight{.max_seq_len = longer, .truncation = PreferenceTruncation::KeepEnd};
  EXPECT_NE(load_error(path, tight).find("1 too long"), std::string::npos);

  EXPECT_EQ(preference_truncation_from_name("keep_end"), PreferenceTruncation::KeepEnd);
  EXPECT_THROW(preference_truncation_from_name("keep_start"), fw::Error);
}

TEST(PreferenceData, ErrorsNameFileAndLine) {
  const std::string good = R"({"prompt": "Hello!", "chosen": " Hi.", "rejected": " Go away."})" "\n";
  struct Case {
    const char* name;
    std::string line;
    const char* expect;  // a piece of the message
  };
  const std::vector<Case> cases = {
      {"missing", R"({"prompt": "Hello!", "chosen": " Hi."})", "missing field \"rejected\""},
      {"malformed", R"({"prompt": "Hello!", "chosen": )", "invalid JSON"},
      {"mixed", R"({"prompt": "Hello!", "chosen": [{"role": "assistant", "content": "Hi."}], "rejected": " No."})",
       "must all be strings or all be message lists"},
      {"margin", R"({"prompt": "Hello!", "chosen": " Hi.", "rejected": " No.", "margin": "big"})",
       "margin must be a number"},
      {"role", R"({"prompt": [{"role": "user", "content": "Hi"}], "chosen": [{"role": "asistant", "content": "Hi."}], "rejected": [{"role": "assistant", "content": "No."}]})",
       "chosen[0].role"},
      {"no_reply", R"({"prompt": [{"role": "user", "content": "Hi"}], "chosen": [{"role": "user", "content": "Hi."}], "rejected": [{"role": "assistant", "content": "No."}]})",
       "no assistant message"},
      {"not_object", R"(["Hello!", " Hi.", " No."])", "must be a JSON object"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = write(std::string("err_") + c.name, good + c.line + "\n" + good);
    const std::string what = load_error(path);
    EXPECT_NE(what.find(path + ":2"), std::string::npos) << what;
    EXPECT_NE(what.find(c.expect), std::string::npos) << what;
  }
}

TEST(PreferenceData, CollectsTextsForATokenizer) {
  auto path = write("texts",
                    R"({"prompt": "P1", "chosen": "C1", "rejected": "R1"})" "\n"
                    R"({"chosen": [{"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}], "rejected": [{"role": "user", "content": "U"}, {"role": "assistant", "content": "B"}]})" "\n");
  auto texts = collect_preference_texts({path});
  EXPECT_EQ(texts, (std::vector<std::string>{"P1", "C1", "R1", "U", "A", "U", "B"}));
}

}  // namespace
