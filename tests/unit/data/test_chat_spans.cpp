// Assistant spans and masks from offsets (data/chat/chat_spans.h), and a model folder's
// template and special tokens (data/chat/template_source.h, jinja_chat.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/json_io.h"
#include "data/chat/chat_spans.h"
#include "data/chat/jinja_chat.h"
#include "data/chat/template_source.h"
#include "tests/support/test_tmp.h"

namespace {
using fw::data::ByteSpan;
using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

std::string template_file(const std::string& name) {
  return fw::read_text_file(std::string(FW_TEST_DATA_DIR) + "/chat_templates/" + name + ".jinja");
}

std::string span_text(const std::string& text, ByteSpan s) { return text.substr(s.first, s.second - s.first); }

TEST(AssistantSpans, EachReplyWithTheTokenThatEndsItsTurn) {
  const std::string text =
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello there<|im_end|>\n"
      "<|im_start|>user\nAgain<|im_end|>\n<|im_start|>assistant\nHi again<|im_end|>\n";
  const json messages = json::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"},
    {"role": "user", "content": "Again"}, {"role": "assistant", "content": "Hi again"}])");
  const auto spans = fw::data::assistant_spans(text, messages, {"<|endoftext|>", "<|im_end|>"});
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(span_text(text, spans[0].bytes), "Hello there<|im_end|>");
  EXPECT_EQ(spans[0].message, 1);
  EXPECT_EQ(span_text(text, spans[1].bytes), "Hi again<|im_end|>");
  EXPECT_EQ(spans[1].message, 3);
}

TEST(AssistantSpans, ReasoningSpacesBeforeAndWhiteSpaceBeforeTheEndToken) {
  // Llama-2's " {reply} </s>": the leading space belongs to the reply, the space before </s> too.
  const std::string llama2 = "<s>[INST] Hi [/INST] Hello </s>";
  const json m1 = json::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Hello\n"}])");
  const auto s1 = fw::data::assistant_spans(llama2, m1, {"</s>"});
  ASSERT_EQ(s1.size(), 1u);
  EXPECT_EQ(span_text(llama2, s1[0].bytes), " Hello </s>");
  // Reasoning before the content: the span starts at the reasoning.
  const std::string qwen = "<|im_start|>assistant\n<think>\nadd them\n</think>\n\n4<|im_end|>\n";
  const json m2 = json::parse(R"([{"role": "assistant", "content": "4", "reasoning_content": "add them"}])");
  const auto s2 = fw::data::assistant_spans(qwen, m2, {"<|im_end|>"});
  ASSERT_EQ(s2.size(), 1u);
  EXPECT_EQ(span_text(qwen, s2[0].bytes), "add them\n</think>\n\n4<|im_end|>");
}

TEST(AssistantSpans, AShortReplyIsNotFoundInTheTemplatesOwnHeader) {
  // "a" occurs in "assistant" first; the reply is the one an end token follows.
  const std::string text = "<|im_start|>user\nfirst letter of apple?<|im_end|>\n<|im_start|>assistant\na<|im_end|>\n";
  const json messages = json::parse(R"([{"role": "user", "content": "first letter of apple?"}, {"role": "assistant", "content": "a"}])");
  const auto spans = fw::data::assistant_spans(text, messages, {"<|im_end|>"});
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(span_text(text, spans[0].bytes), "a<|im_end|>");
}

TEST(AssistantSpans, EarlierReasoningTheTemplateDropsAndInlineThinkTags) {
  // Qwen3 drops the reasoning of turns before the last user query (a reasoning_content
  // field, or inline <think> in the content) and shows the last turn's in full.
  const std::string text =
      "<|im_start|>user\nQ0<|im_end|>\n<|im_start|>assistant\nA0<|im_end|>\n"
      "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n"
      "<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n<think>\nr2\n</think>\n\nA2<|im_end|>\n";
  const json messages = json::parse(R"([{"role": "user", "content": "Q0"},
    {"role": "assistant", "content": "A0", "reasoning_content": "r0"}, {"role": "user", "content": "Q1"},
    {"role": "assistant", "content": "<think>\nr1\n</think>\n\nA1"}, {"role": "user", "content": "Q2"},
    {"role": "assistant", "content": "<think>\nr2\n</think>\n\nA2"}])");
  const auto spans = fw::data::assistant_spans(text, messages, {"<|im_end|>"});
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(span_text(text, spans[0].bytes), "A0<|im_end|>");
  EXPECT_EQ(span_text(text, spans[1].bytes), "A1<|im_end|>");
  EXPECT_EQ(span_text(text, spans[2].bytes), "<think>\nr2\n</think>\n\nA2<|im_end|>");
}

TEST(AssistantSpans, AToolCallReplyRunsToItsEndToken) {
  const std::string text =
      "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", "
      "\"arguments\": {\"city\": \"Rome\"}}\n</tool_call><|im_end|>\n";
  const json messages = json::parse(R"([{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": null,
    "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]}])");
  const auto spans = fw::data::assistant_spans(text, messages, {"<|im_end|>"});
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(span_text(text, spans[0].bytes), "get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call><|im_end|>");
}

TEST(AssistantSpans, AReplyTheTemplateDropsIsAnErrorNamingTheMessage) {
  const json messages = json::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "gone"}])");
  try {
    fw::data::assistant_spans("user: Hi\n", messages, {});
    FAIL() << "a missing reply was accepted";
  } catch (const fw::Error& e) {
    EXPECT_NE(std::string(e.what()).find("messages[1]"), std::string::npos) << e.what();
  }
}

TEST(MaskFromSpans, OnlyTokensWhollyInsideASpan) {
  // tokens: [0,3) [3,6) [6,9) [9,12) [12,12); span [4,9) takes the third only (the second straddles).
  const std::vector<std::pair<uint32_t, uint32_t>> offsets = {{0, 3}, {3, 6}, {6, 9}, {9, 12}, {12, 12}};
  EXPECT_EQ(fw::data::mask_from_spans(offsets, {{4, 9}}), (std::vector<uint8_t>{0, 0, 1, 0, 0}));
  EXPECT_EQ(fw::data::mask_from_spans(offsets, {{0, 6}, {9, 12}}), (std::vector<uint8_t>{1, 1, 0, 1, 0}));
  EXPECT_EQ(fw::data::mask_from_spans(offsets, {}), (std::vector<uint8_t>{0, 0, 0, 0, 0}));
  // Byte-fallback pieces of one character: all but the last are zero-width at its start.
  const std::vector<std::pair<uint32_t, uint32_t>> bytes = {{0, 2}, {2, 2}, {2, 2}, {2, 5}, {5, 7}};
  EXPECT_EQ(fw::data::mask_from_spans(bytes, {{2, 5}}), (std::vector<uint8_t>{0, 1, 1, 1, 0}));
}

TEST(TemplateSource, TransformersOrderNamedTemplatesAndSpecialTokens) {
  const std::string dir = fw::testing::tmp_dir() + "/template_source";
  fs::create_directories(dir);
  EXPECT_FALSE(fw::data::find_chat_template(dir).has_value());
  std::ofstream(dir + "/tokenizer_config.json") << R"({"bos_token": {"content": "<s>", "lstrip": false},
    "eos_token": "</s>", "additional_special_tokens": ["<x>"],
    "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]})";
  EXPECT_EQ(fw::data::find_chat_template(dir)->text, "D");
  EXPECT_EQ(fw::data::find_chat_template(dir, "tool_use")->text, "T");
  try {
    fw::data::find_chat_template(dir, "rag");
    FAIL() << "an unknown template name was accepted";
  } catch (const fw::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tool_use"), std::string::npos) << e.what();  // names what there is
  }
  std::ofstream(dir + "/chat_template.jinja") << "J";
  EXPECT_EQ(fw::data::find_chat_template(dir)->text, "J");  // chat_template.jinja first, as transformers
  const auto special = fw::data::special_tokens_context(dir);
  EXPECT_EQ(special["bos_token"], "<s>");
  EXPECT_EQ(special["eos_token"], "</s>");
  EXPECT_EQ(special["additional_special_tokens"], json::array({"<x>"}));
  EXPECT_FALSE(special.contains("pad_token"));
  std::ofstream(dir + "/tokenizer_config.json") << R"({"chat_template": 7})";
  fs::remove(dir + "/chat_template.jinja");
  EXPECT_THROW(fw::data::find_chat_template(dir), fw::Error);
}

TEST(JinjaChatTemplate, Llama31RendersWithTheFoldersTokensAndFindsTheReplies) {
  const std::string dir = fw::testing::tmp_dir() + "/llama31";
  fs::create_directories(dir);
  std::ofstream(dir + "/chat_template.jinja") << template_file("meta-llama-Llama-3.1-8B-Instruct");
  std::ofstream(dir + "/tokenizer_config.json") << R"({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"})";
  auto tmpl = fw::data::JinjaChatTemplate::from_model_dir(dir);
  ASSERT_TRUE(tmpl.has_value());
  fw::data::ChatRequest req;
  req.messages = json::parse(R"([{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}])");
  req.kwargs = {{"date_string", "26 Jul 2024"}};
  const auto r = tmpl->render(req, {"<|eot_id|>", "<|eom_id|>"});
  EXPECT_EQ(r.text.rfind("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n", 0), 0u) << r.text;
  EXPECT_NE(r.text.find("Today Date: 26 Jul 2024"), std::string::npos) << r.text;
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_FALSE(r.marked);
  EXPECT_EQ(span_text(r.text, r.replies[0].bytes), "4<|eot_id|>");
}

TEST(JinjaChatTemplate, GenerationBlocksMarkTheRepliesExactly) {
  const std::string dir = fw::testing::tmp_dir() + "/qwen3_training";
  fs::create_directories(dir);
  std::ofstream(dir + "/chat_template.jinja") << template_file("trl-qwen3_training");
  std::ofstream(dir + "/tokenizer_config.json") << R"({"eos_token": "<|im_end|>"})";
  auto tmpl = fw::data::JinjaChatTemplate::from_model_dir(dir);
  ASSERT_TRUE(tmpl.has_value());
  fw::data::ChatRequest req;
  req.messages = json::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])");
  const auto r = tmpl->render(req, {"<|im_end|>"});
  EXPECT_TRUE(r.marked);
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].message, 1);
  EXPECT_NE(span_text(r.text, r.replies[0].bytes).find("Hello"), std::string::npos) << r.text;
}

}  // namespace
