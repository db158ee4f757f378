// parse_served_request: OpenAI's fields into jobs, OpenAI's defaults, and a 400-worthy
// error naming the field for every out-of-range number and unsupported field.
#include <gtest/gtest.h>

#include "arena/openai_request.h"
#include "core/error.h"

namespace {
using fw::arena::Endpoint;
using fw::arena::parse_served_request;
using Json = nlohmann::ordered_json;

const char* kHi = R"([{"role": "user", "content": "hi"}])";

Json chat(const std::string& extra) { return Json::parse(std::string(R"({"messages": )") + kHi + extra + "}"); }

TEST(OpenAIRequest, ChatDefaultsAreOpenAIs) {
  const auto r = parse_served_request(chat(""), Endpoint::Chat);
  ASSERT_EQ(r.jobs.size(), 1u);
  EXPECT_EQ(r.jobs[0].params.temperature, 1.0);
  EXPECT_EQ(r.jobs[0].params.top_p, 1.0);
  EXPECT_GT(r.jobs[0].params.max_tokens, 1'000'000);  // the rest of the context
  EXPECT_EQ(r.jobs[0].n, 1);
  EXPECT_EQ(r.jobs[0].top_logprobs, -1);
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.logprobs);
}

TEST(OpenAIRequest, ChatFieldsAreRead) {
  const auto r = parse_served_request(
      chat(R"(, "model": "m", "n": 3, "temperature": 0.5, "top_p": 0.9, "max_completion_tokens": 7, "seed": -2,
           "stop": ["x", "y"], "stream": true, "stream_options": {"include_usage": true}, "logprobs": true,
           "top_logprobs": 5, "user": "me", "presence_penalty": 0, "response_format": {"type": "text"})"),
      Endpoint::Chat);
  EXPECT_EQ(*r.model, "m");
  EXPECT_EQ(r.jobs[0].n, 3);
  EXPECT_EQ(r.jobs[0].params.temperature, 0.5);
  EXPECT_EQ(r.jobs[0].params.top_p, 0.9);
  EXPECT_EQ(r.jobs[0].params.max_tokens, 7);
  EXPECT_EQ(*r.jobs[0].params.seed, static_cast<uint64_t>(-2));
  EXPECT_EQ(r.jobs[0].params.stop, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(r.stream && r.include_usage && r.logprobs);
  EXPECT_EQ(r.jobs[0].top_logprobs, 5);
  EXPECT_EQ(parse_served_request(chat(R"(, "logprobs": true)"), Endpoint::Chat).jobs[0].top_logprobs, 0);
}

// vLLM's chat_template_kwargs (e.g. Qwen3's enable_thinking) travel with the request.
TEST(OpenAIRequest, ChatTemplateKwargsAreRead) {
  const auto r = parse_served_request(chat(R"(, "chat_template_kwargs": {"enable_thinking": false, "a": [1]})"),
                                      Endpoint::Chat);
  EXPECT_EQ(r.jobs[0].template_kwargs.dump(), R"({"enable_thinking":false,"a":[1]})");  // as sent
  EXPECT_TRUE(parse_served_request(chat(""), Endpoint::Chat).jobs[0].template_kwargs.empty());
}

// A tool call's arguments reach the template in the order the client sent them, as
// transformers' tojson writes them (not sorted).
TEST(OpenAIRequest, MessagesKeepTheirKeyOrder) {
  const auto r = parse_served_request(
      Json::parse(R"({"messages": [{"role": "user", "content": "w?"}, {"role": "assistant", "tool_calls": [)"
                  R"({"type": "function", "function": {"name": "w", "arguments": {"unit": "c", "city": "P"}}}]},)"
                  R"( {"role": "tool", "content": "sunny"}, {"role": "user", "content": "so?"}]})"),
      Endpoint::Chat);
  EXPECT_EQ(r.jobs[0].messages[1].raw["tool_calls"][0]["function"].dump(),
            R"({"name":"w","arguments":{"unit":"c","city":"P"}})");
}

TEST(OpenAIRequest, CompletionsTakeRawPromptsAndTheLegacyDefaults) {
  const auto r = parse_served_request(Json::parse(R"({"prompt": ["a", "b"], "n": 2, "logprobs": 3})"),
                                      Endpoint::Completions);
  ASSERT_EQ(r.jobs.size(), 2u);
  EXPECT_EQ(*r.jobs[1].prompt, "b");
  EXPECT_EQ(r.jobs[0].params.max_tokens, 16);
  EXPECT_EQ(r.jobs[0].n, 2);
  EXPECT_EQ(r.jobs[0].top_logprobs, 3);
  EXPECT_TRUE(r.logprobs);
}

TEST(OpenAIRequest, BadFieldsAreRefusedByName) {
  struct Case {
    std::string extra;
    std::string key;
  };
  const std::vector<Case> cases = {
      {R"(, "temperature": -0.1)", "temperature"},
      {R"(, "temperature": "hot")", "temperature"},
      {R"(, "top_p": 0)", "top_p"},
      {R"(, "top_p": 1.01)", "top_p"},
      {R"(, "max_tokens": -1)", "max_tokens"},
      {R"(, "max_tokens": 2.5)", "max_tokens"},
      {R"(, "max_tokens": 18446744073709551615)", "max_tokens"},
      {R"(, "n": 0)", "n"},
      {R"(, "n": 65)", "n"},
      {R"(, "seed": 1.5)", "seed"},
      {R"(, "stop": [1])", "stop"},
      {R"(, "stop": ["a", "b", "c", "d", "e"])", "stop"},
      {R"(, "stop": "")", "stop"},
      {R"(, "stream": "yes")", "stream"},
      {R"(, "stream_options": {"include_usage": true})", "stream_options"},
      {R"(, "stream": true, "stream_options": {"other": 1})", "stream_options.other"},
      {R"(, "top_logprobs": 2)", "top_logprobs"},
      {R"(, "chat_template_kwargs": [1])", "chat_template_kwargs"},
      {R"(, "logprobs": true, "top_logprobs": 21)", "top_logprobs"},
      {R"(, "logprobs": 3)", "logprobs"},
      {R"(, "tools": [{"type": "function"}])", "tools"},
      {R"(, "tool_choice": "auto")", "tool_choice"},
      {R"(, "response_format": {"type": "json_object"})", "response_format"},
      {R"(, "frequency_penalty": 0.1)", "frequency_penalty"},
      {R"(, "logit_bias": {"5": 1})", "logit_bias"},
      {R"(, "store": true)", "store"},
      {R"(, "mystery": 1)", "mystery"},
  };
  for (const auto& c : cases) {
    try {
      parse_served_request(chat(c.extra), Endpoint::Chat);
      ADD_FAILURE() << "accepted " << c.extra;
    } catch (const fw::Error& e) {
      EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput) << e.what();
      EXPECT_EQ(e.context().key, c.key) << c.extra << " -> " << e.what();
    }
  }
  for (const auto& [body, key] : std::vector<std::pair<std::string, std::string>>{
           {R"({"prompt": [1, 2]})", "prompt"},
           {R"({"prompt": "x", "echo": true})", "echo"},
           {R"({"prompt": "x", "suffix": "y"})", "suffix"},
           {R"({"prompt": "x", "best_of": 3})", "best_of"},
           {R"({"prompt": "x", "logprobs": 21})", "logprobs"},
           {R"({"prompt": "x", "messages": []})", "messages"},
           {R"({"n": 1})", "prompt"}}) {
    try {
      parse_served_request(Json::parse(body), Endpoint::Completions);
      ADD_FAILURE() << "accepted " << body;
    } catch (const fw::Error& e) {
      EXPECT_EQ(e.context().key, key) << body << " -> " << e.what();
    }
  }
}

}  // namespace
