#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/chat_template.h"
#include "data/preference_dataset.h"
#include "data/prompt_dataset.h"
#include "data/sft_dataset.h"
#include "tests/unit/data/tokenizer_fixture.h"

using fw::data::encode_chat;
using fw::data::Encoded;
using fw::data::MaskMode;
using fw::data::Message;
using fw::data::render_chat_text;
using fw::data::TemplateKind;
using fw::data::Tokenizer;
using namespace fw::data::testing;

namespace {

// A 3-turn conversation with a system prompt.
std::vector<Message> conversation() {
  return {{"system", "You are a helpful assistant."},
          {"user", "What is 2 + 3?"},
          {"assistant", "2 + 3 = 5."},
          {"user", "And 4 * 5?"},
          {"assistant", "4 * 5 = 20."},
          {"user", "Say hello."},
          {"assistant", "Hello!"}};
}

std::vector<Message> without_last(std::vector<Message> m) {
  m.pop_back();
  return m;
}

std::vector<std::string> assistant_contents() { return {"2 + 3 = 5.", "4 * 5 = 20.", "Hello!"}; }

// Expected strings, written from Hugging Face's Jinja templates.
const std::string kLlama2 =
    "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nWhat is 2 + 3? [/INST] "
    "2 + 3 = 5. </s><s>[INST] And 4 * 5? [/INST] 4 * 5 = 20. </s><s>[INST] Say hello. "
    "[/INST] Hello! </s>";
const std::string kLlama2Prompt =
    "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nWhat is 2 + 3? [/INST] "
    "2 + 3 = 5. </s><s>[INST] And 4 * 5? [/INST] 4 * 5 = 20. </s><s>[INST] Say hello. "
    "[/INST]";
const std::string kChatMlPrompt =
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n"
    "<|im_start|>assistant\n2 + 3 = 5.<|im_end|>\n"
    "<|im_start|>user\nAnd 4 * 5?<|im_end|>\n"
    "<|im_start|>assistant\n4 * 5 = 20.<|im_end|>\n"
    "<|im_start|>user\nSay hello.<|im_end|>\n"
    "<|im_start|>assistant\n";
const std::string kChatMl = kChatMlPrompt + "Hello!<|im_end|>\n";
const std::string kPlainPrompt =
    "<s>System: You are a helpful assistant.\nUser: What is 2 + 3?\nAssistant: 2 + 3 = 5.</s>"
    "User: And 4 * 5?\nAssistant: 4 * 5 = 20.</s>User: Say hello.\nAssistant:";
const std::string kPlain = kPlainPrompt + " Hello!</s>";

// The contiguous runs of masked ids.
std::vector<std::vector<int32_t>> masked_runs(const Encoded& e) {
  std::vector<std::vector<int32_t>> runs;
  bool in_run = false;
  for (size_t i = 0; i < e.ids.size(); ++i) {
    if (e.assistant_mask[i]) {
      if (!in_run) runs.emplace_back();
      runs.back().push_back(e.ids[i]);
    }
    in_run = e.assistant_mask[i] != 0;
  }
  return runs;
}

std::vector<int32_t> cat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

template <class F>
fw::Error expect_error(F&& fn) {
  try {
    fn();
  } catch (const fw::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected fw::Error";
  return fw::Error(fw::ErrorKind::Runtime, "none");
}

}  // namespace

TEST(ChatTemplate, RendersExactText) {
  const Tokenizer& tok = shared_tokenizer();
  EXPECT_EQ(render_chat_text(tok, TemplateKind::Llama2, conversation(), false), kLlama2);
  EXPECT_EQ(render_chat_text(tok, TemplateKind::ChatMl, conversation(), false), kChatMl);
  EXPECT_EQ(render_chat_text(tok, TemplateKind::Plain, conversation(), false), kPlain);
  // Generation prompts.
  auto prompt = without_last(conversation());
  EXPECT_EQ(render_chat_text(tok, TemplateKind::Llama2, prompt, true), kLlama2Prompt);
  EXPECT_EQ(render_chat_text(tok, TemplateKind::ChatMl, prompt, true), kChatMlPrompt);
  EXPECT_EQ(render_chat_text(tok, TemplateKind::Plain, prompt, true), kPlainPrompt);
  // Without the generation prompt, chatml stops after the user turn.
  EXPECT_EQ(render_chat_text(tok, TemplateKind::ChatMl, prompt, false),
            kChatMlPrompt.substr(0, kChatMlPrompt.size() - std::string("<|im_start|>assistant\n").size()));
}

TEST(ChatTemplate, Llama2StripsAndFoldsLikeJinja) {
  std::vector<Message> m = {{"system", " Be brief. "},
                            {"user", " hi\n"},
                            {"assistant", "\thello \xc2\xa0"},
                            {"user", "\xe3\x80\x80" "again  "}};
  // Jinja strips the folded "<<SYS>>...<</SYS>>\n\n{user}" as a whole: the system text
  // and the user's leading space stay, the user's trailing whitespace goes.
  EXPECT_EQ(render_chat_text(TemplateKind::Llama2, m, false),
            "<s>[INST] <<SYS>>\n Be brief. \n<</SYS>>\n\n hi [/INST] hello </s><s>[INST] again [/INST]");
  // Without a system message nothing is folded in.
  EXPECT_EQ(render_chat_text(TemplateKind::Llama2, {{"user", "Q"}, {"assistant", "A"}}, false),
            "<s>[INST] Q [/INST] A </s>");
}

TEST(ChatTemplate, Llama2IdsMatchMetaReference) {
  // Meta's reference: each turn is encode("[INST] {user} [/INST] {assistant} ") with bos
  // and eos, the system prompt folded into the first user message.
  const Tokenizer& tok = shared_tokenizer();
  Encoded e = encode_chat(tok, TemplateKind::Llama2, conversation());
  auto expected = cat({
      tok.encode("[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nWhat is 2 + 3? [/INST] 2 + 3 = 5. ",
                 true, true),
      tok.encode("[INST] And 4 * 5? [/INST] 4 * 5 = 20. ", true, true),
      tok.encode("[INST] Say hello. [/INST] Hello! ", true, true)});
  EXPECT_EQ(e.ids, expected);
  EXPECT_EQ(e.assistant_mask.size(), e.ids.size());
}

TEST(ChatTemplate, ChatMlIdsMatchEncodingTheWholeText) {
  const Tokenizer& tok = shared_tokenizer();
  Encoded e = encode_chat(tok, TemplateKind::ChatMl, conversation());
  EXPECT_EQ(e.ids, tok.encode_continuation(kChatMl));
  EXPECT_EQ(tok.decode(e.ids), kChatMl);
  EXPECT_EQ(e.ids.front(), tok.piece_to_id("<|im_start|>"));
}

TEST(ChatTemplate, PlainIdsEncodeEachLineFresh) {
  const Tokenizer& tok = shared_tokenizer();
  Encoded e = encode_chat(tok, TemplateKind::Plain, conversation());
  auto expected = cat({{tok.bos_id()},
                       tok.encode("System: You are a helpful assistant.\n"),
                       tok.encode("User: What is 2 + 3?\n"),
                       tok.encode("Assistant: 2 + 3 = 5.", false, true),
                       tok.encode("User: And 4 * 5?\n"),
                       tok.encode("Assistant: 4 * 5 = 20.", false, true),
                       tok.encode("User: Say hello.\n"),
                       tok.encode("Assistant: Hello!", false, true)});
  EXPECT_EQ(e.ids, expected);
  // Every "User" is the same token, also right after </s>.
  int32_t user = tok.encode("User:").front();
  EXPECT_EQ(std::count(e.ids.begin(), e.ids.end(), user), 3);
}

TEST(ChatTemplate, MaskCoversExactlyTheAssistantTokens) {
  const Tokenizer& tok = shared_tokenizer();
  struct Case { TemplateKind kind; int32_t end; std::string before, after; };
  const int32_t im_end = tok.piece_to_id("<|im_end|>");
  for (const Case& c : {Case{TemplateKind::Llama2, tok.eos_id(), " ", " "},
                        Case{TemplateKind::ChatMl, im_end, "", ""},
                        Case{TemplateKind::Plain, tok.eos_id(), " ", ""}}) {
    SCOPED_TRACE(fw::data::template_name(c.kind));
    Encoded e = encode_chat(tok, c.kind, conversation());
    ASSERT_EQ(e.assistant_mask.size(), e.ids.size());
    auto runs = masked_runs(e);
    ASSERT_EQ(runs.size(), 3u);
    size_t masked = 0;
    for (size_t k = 0; k < runs.size(); ++k) {
      const auto& run = runs[k];
      masked += run.size();
      ASSERT_GE(run.size(), 2u);
      EXPECT_EQ(run.back(), c.end);  // the end-of-turn token is trained on
      std::vector<int32_t> body(run.begin(), run.end() - 1);
      const std::string content = assistant_contents()[k];
      EXPECT_EQ(body, tok.encode_continuation(c.before + content + c.after));
      // decode drops one leading dummy-prefix space
      EXPECT_EQ(tok.decode(body), content + c.after);
    }
    size_t ones = std::count(e.assistant_mask.begin(), e.assistant_mask.end(), 1);
    EXPECT_EQ(ones, masked);
    // Everything unmasked is prompt: it holds none of the replies.
    std::vector<int32_t> prompt_ids;
    for (size_t i = 0; i < e.ids.size(); ++i)
      if (!e.assistant_mask[i]) prompt_ids.push_back(e.ids[i]);
    std::string prompt_text = tok.decode(prompt_ids);
    for (const auto& content : assistant_contents())
      EXPECT_EQ(prompt_text.find(content), std::string::npos) << prompt_text;
  }
}

TEST(ChatTemplate, LastTurnAndEverythingMasks) {
  const Tokenizer& tok = shared_tokenizer();
  for (TemplateKind kind : {TemplateKind::Llama2, TemplateKind::ChatMl, TemplateKind::Plain}) {
    SCOPED_TRACE(fw::data::template_name(kind));
    Encoded all = encode_chat(tok, kind, conversation(), false, MaskMode::AllAssistant);
    Encoded last = encode_chat(tok, kind, conversation(), false, MaskMode::LastAssistant);
    Encoded every = encode_chat(tok, kind, conversation(), false, MaskMode::Everything);
    EXPECT_EQ(last.ids, all.ids);
    EXPECT_EQ(every.ids, all.ids);
    auto runs = masked_runs(last);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0], masked_runs(all).back());
    for (size_t i = 0; i < all.ids.size(); ++i) EXPECT_LE(last.assistant_mask[i], all.assistant_mask[i]);
    EXPECT_EQ(std::count(every.assistant_mask.begin(), every.assistant_mask.end(), 1),
              static_cast<long>(every.ids.size()));
    // The last reply ends the conversation (chatml then adds one unmasked "\n").
    if (kind != TemplateKind::ChatMl) {
      EXPECT_EQ(last.assistant_mask.back(), 1);
    }
  }
}

TEST(ChatTemplate, GenerationPromptIsAPrefixOfTheConversation) {
  const Tokenizer& tok = shared_tokenizer();
  auto prompt = without_last(conversation());
  for (TemplateKind kind : {TemplateKind::Llama2, TemplateKind::ChatMl, TemplateKind::Plain}) {
    SCOPED_TRACE(fw::data::template_name(kind));
    Encoded full = encode_chat(tok, kind, conversation());
    Encoded gen = encode_chat(tok, kind, prompt, true);
    ASSERT_LT(gen.ids.size(), full.ids.size());
    EXPECT_TRUE(std::equal(gen.ids.begin(), gen.ids.end(), full.ids.begin()));
    EXPECT_TRUE(std::equal(gen.assistant_mask.begin(), gen.assistant_mask.end(),
                           full.assistant_mask.begin()));
    EXPECT_EQ(gen.assistant_mask.back(), 0);
    // What follows the prompt is exactly the masked reply.
    for (size_t i = gen.ids.size(); i < full.ids.size(); ++i)
      EXPECT_EQ(full.assistant_mask[i], kind == TemplateKind::ChatMl && i == full.ids.size() - 1 ? 0 : 1)
          << "position " << i;
  }
  // The prompts end as the templates say.
  Encoded chatml = encode_chat(tok, TemplateKind::ChatMl, prompt, true);
  auto tail = cat({{tok.piece_to_id("<|im_start|>")}, tok.encode_continuation("assistant\n")});
  ASSERT_GE(chatml.ids.size(), tail.size());
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), chatml.ids.end() - tail.size()));
  Encoded plain = encode_chat(tok, TemplateKind::Plain, prompt, true);
  auto plain_tail = tok.encode("Assistant:");
  EXPECT_TRUE(std::equal(plain_tail.begin(), plain_tail.end(), plain.ids.end() - plain_tail.size()));
  // llama2 ignores add_generation_prompt (the prompt already ends in [/INST]).
  EXPECT_EQ(encode_chat(tok, TemplateKind::Llama2, prompt, true).ids,
            encode_chat(tok, TemplateKind::Llama2, prompt, false).ids);
}

TEST(ChatTemplate, ParsesOpenAiMessages) {
  auto j = nlohmann::json::parse(R"([
    {"role": "system", "content": "S"},
    {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    {"role": "assistant", "content": "C", "name": "bot"}])");
  auto m = fw::data::parse_messages(j);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1].role, "user");
  EXPECT_EQ(m[1].content, "ab");
  EXPECT_EQ(m[2].content, "C");
  auto back = fw::data::messages_to_json(m);
  EXPECT_EQ(back[1]["content"], "ab");
  EXPECT_EQ(fw::data::parse_messages(back)[0].content, "S");
}

TEST(ChatTemplate, BadMessagesNameTheProblemAndIndex) {
  auto e = expect_error([] {
    fw::data::parse_messages(nlohmann::json::parse(
        R"([{"role": "user", "content": "hi"}, {"role": "bot", "content": "x"}])"));
  });
  EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
  EXPECT_EQ(e.context().key, "messages[1].role");
  EXPECT_NE(e.message().find("'bot'"), std::string::npos) << e.what();

  e = expect_error([] {
    fw::data::parse_messages(nlohmann::json::parse(R"([{"role": "asistant", "content": "x"}])"));
  });
  EXPECT_NE(e.context().hint.find("assistant"), std::string::npos) << e.what();

  e = expect_error([] {
    fw::data::parse_messages(nlohmann::json::parse(R"([{"role": "user", "content": "a"}, {"role": "user"}])"));
  });
  EXPECT_EQ(e.context().key, "messages[1].content");
  EXPECT_NE(e.message().find("no content"), std::string::npos);

  e = expect_error([] { fw::data::parse_messages(nlohmann::json::parse(R"([{"content": "x"}])")); });
  EXPECT_EQ(e.context().key, "messages[0].role");
  EXPECT_THROW(fw::data::parse_messages(nlohmann::json::parse(R"({"role": "user"})")), fw::Error);
  EXPECT_THROW(fw::data::parse_messages(nlohmann::json::parse(R"([{"role": "user", "content": 5}])")),
               fw::Error);

  // Messages built in code are checked too.
  const Tokenizer& tok = shared_tokenizer();
  e = expect_error([&] { encode_chat(tok, TemplateKind::ChatMl, {{"robot", "x"}}); });
  EXPECT_EQ(e.context().key, "messages[0].role");
}

TEST(ChatTemplate, Llama2RejectsWhatItCannotExpress) {
  const Tokenizer& tok = shared_tokenizer();
  auto e = expect_error([&] {
    encode_chat(tok, TemplateKind::Llama2, {{"user", "a"}, {"user", "b"}});
  });
  EXPECT_EQ(e.context().key, "messages[1].role");
  EXPECT_NE(e.message().find("alternate"), std::string::npos);
  e = expect_error([&] {
    encode_chat(tok, TemplateKind::Llama2, {{"user", "a"}, {"assistant", "b"}, {"system", "c"}});
  });
  EXPECT_EQ(e.context().key, "messages[2].role");
  EXPECT_THROW(encode_chat(tok, TemplateKind::Llama2, {{"assistant", "a"}}), fw::Error);
  // chatml and plain take any order.
  EXPECT_NO_THROW(encode_chat(tok, TemplateKind::ChatMl, {{"user", "a"}, {"user", "b"}}));
  EXPECT_NO_THROW(encode_chat(tok, TemplateKind::Plain, {{"assistant", "a"}, {"system", "b"}}));
}

TEST(ChatTemplate, ChatMlNeedsItsTokens) {
  auto e = expect_error([] {
    encode_chat(bare_tokenizer(), TemplateKind::ChatMl, {{"user", "hi"}});
  });
  EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
  EXPECT_NE(e.message().find("<|im_start|>"), std::string::npos) << e.what();
  // The same tokens given as Hugging Face added tokens work, and are skipped by decode.
  std::string dir = scratch_dir("chatml_added");
  bare_tokenizer().save(dir + "/tokenizer.model");
  write_file(dir + "/tokenizer_config.json", R"({"added_tokens_decoder": {
      "512": {"content": "<|im_start|>", "special": true},
      "513": {"content": "<|im_end|>", "special": true}}, "eos_token": "<|im_end|>"})");
  Tokenizer tok = Tokenizer::load(dir);
  Encoded enc = encode_chat(tok, TemplateKind::ChatMl, conversation());
  EXPECT_EQ(enc.ids, tok.encode_continuation(kChatMl));
  EXPECT_EQ(std::count(enc.ids.begin(), enc.ids.end(), 512), 7);
  auto runs = masked_runs(enc);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[2].back(), 513);
  EXPECT_EQ(tok.decode(runs[2]), "Hello!");
}

TEST(ChatTemplate, NamesAndDetection) {
  EXPECT_EQ(fw::data::template_from_name("llama2"), TemplateKind::Llama2);
  EXPECT_EQ(fw::data::template_from_name("chatml"), TemplateKind::ChatMl);
  EXPECT_EQ(fw::data::template_from_name("plain"), TemplateKind::Plain);
  for (TemplateKind k : {TemplateKind::Llama2, TemplateKind::ChatMl, TemplateKind::Plain})
    EXPECT_EQ(fw::data::template_from_name(fw::data::template_name(k)), k);
  auto e = expect_error([] { fw::data::template_from_name("chatm1"); });
  EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
  EXPECT_NE(e.context().hint.find("'chatml'"), std::string::npos) << e.what();

  std::string dir = scratch_dir("detect");
  using fw::data::detect_template;
  EXPECT_EQ(detect_template(dir, TemplateKind::Plain), TemplateKind::Plain);  // no files
  EXPECT_EQ(detect_template(dir + "/missing", TemplateKind::ChatMl), TemplateKind::ChatMl);
  write_file(dir + "/tokenizer_config.json",
             nlohmann::json({{"chat_template",
                              "{% for message in messages %}{{'<|im_start|>' + message['role'] + "
                              "'\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"}})
                 .dump());
  EXPECT_EQ(detect_template(dir, TemplateKind::Plain), TemplateKind::ChatMl);
  write_file(dir + "/tokenizer_config.json",
             R"({"chat_template": "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"})");
  EXPECT_EQ(detect_template(dir, TemplateKind::Plain), TemplateKind::Llama2);
  write_file(dir + "/tokenizer_config.json",
             R"({"chat_template": [{"name": "tool_use", "template": "x"},
                                   {"name": "default", "template": "[INST]"}]})");
  EXPECT_EQ(detect_template(dir, TemplateKind::Plain), TemplateKind::Llama2);
  write_file(dir + "/tokenizer_config.json", R"({"chat_template": "{{ messages }}"})");
  EXPECT_EQ(detect_template(dir, TemplateKind::Plain), TemplateKind::Plain);
  write_file(dir + "/tokenizer_config.json", R"({"bos_token": "<s>"})");
  write_file(dir + "/chat_template.jinja", "{{ '<|im_start|>' }}");
  EXPECT_EQ(detect_template(dir, TemplateKind::Llama2), TemplateKind::ChatMl);
  write_file(dir + "/tokenizer_config.json", "{ broken");
  EXPECT_THROW(detect_template(dir, TemplateKind::Plain), fw::Error);
}

// A recipe's chat_template_kwargs reach a model's own Jinja template (Qwen3's
// enable_thinking), tools reach it too, and a built-in template refuses both.
TEST(ChatTemplate, KwargsAndToolsReachTheModelsOwnTemplate) {
  const Tokenizer& tok = shared_tokenizer();
  const std::string dir = scratch_dir("kwargs");
  write_file(dir + "/chat_template.jinja",
             "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
             "{% if tools %}tools:{% for t in tools %} {{ t.function.name }}{% endfor %}\n{% endif %}"
             "{% if add_generation_prompt %}<|im_start|>assistant\n"
             "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}"
             "{% endif %}");
  const auto tmpl = fw::data::load_chat_template(dir, "auto");
  ASSERT_TRUE(tmpl.is_jinja());
  const std::vector<Message> msgs = {{"user", "Hi", {}}};
  const std::string thinking = render_chat_text(tok, tmpl, msgs, true);
  EXPECT_EQ(thinking.find("<think>"), std::string::npos) << thinking;
  const auto no_thinking = tmpl.with_kwargs({{"enable_thinking", false}});
  EXPECT_NE(render_chat_text(tok, no_thinking, msgs, true).find("<think>\n\n</think>"), std::string::npos);
  EXPECT_NE(no_thinking.name().find("enable_thinking"), std::string::npos) << no_thinking.name();
  // The ids follow the rendered text.
  EXPECT_NE(encode_chat(tok, no_thinking, msgs, true).ids, encode_chat(tok, tmpl, msgs, true).ids);

  const nlohmann::ordered_json tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "get_weather", "parameters": {}}}])");
  const std::vector<Message> conv = {{"user", "Weather?", {}}, {"assistant", "Sunny.", {}}};
  const Encoded with_tools = encode_chat(tok, tmpl, conv, false, MaskMode::AllAssistant, 0, tools);
  EXPECT_NE(tok.decode(with_tools.ids).find("tools: get_weather"), std::string::npos) << tok.decode(with_tools.ids);

  // Built-in templates read neither.
  const fw::data::ChatTemplate plain = TemplateKind::Plain;
  auto e = expect_error([&] { plain.with_kwargs({{"enable_thinking", false}}); });
  EXPECT_EQ(e.context().key, "chat_template_kwargs");
  EXPECT_NO_THROW(plain.with_kwargs(nlohmann::ordered_json::object()));
  e = expect_error([&] { encode_chat(tok, plain, conv, false, MaskMode::AllAssistant, 0, tools); });
  EXPECT_EQ(e.context().key, "tools");
  e = expect_error([&] { tmpl.with_kwargs({{"add_generation_prompt", true}}); });  // flywheel's to set
  EXPECT_EQ(e.context().key, "chat_template_kwargs");
  e = expect_error([&] { tmpl.with_kwargs(nlohmann::ordered_json::array()); });
  EXPECT_EQ(e.context().key, "chat_template_kwargs");
}

// transformers' tojson keeps the keys in the order the user wrote them (sort_keys=False),
// so a tool definition renders "type" before "function" and "name" before "description",
// and a call's arguments as sent. SFT, preference and prompt files keep that order from
// the line to the template (nlohmann::json, which sorts, would put "function" first).
TEST(ChatTemplate, RecordsKeepTheirKeyOrderIntoTheTemplate) {
  const Tokenizer& tok = shared_tokenizer();
  const std::string dir = scratch_dir("key_order");
  write_file(dir + "/chat_template.jinja",
             "{% if tools %}{{ tools | tojson }}\n{% endif %}"
             "{% for m in messages %}{{ m.role }}: {% if m.tool_calls %}{{ m.tool_calls[0].function.arguments | tojson }}"
             "{% else %}{{ m.content }}{% endif %}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}");
  const auto tmpl = fw::data::load_chat_template(dir, "auto");
  ASSERT_TRUE(tmpl.is_jinja());
  const std::string tools = R"([{"type": "function", "function": {"name": "weather", "description": "d"}}])";
  const std::string call = R"({"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "weather",)"
                           R"( "arguments": {"unit": "c", "city": "Paris"}}}]})";
  const std::string user = R"({"role": "user", "content": "Weather?"})";
  const std::string tool_turn = R"({"role": "tool", "content": "sunny"})";
  const std::string answer = R"({"role": "assistant", "content": "Sunny."})";
  auto contains_in_order = [&](const std::string& text) {
    EXPECT_NE(text.find(tools), std::string::npos) << text;
    EXPECT_NE(text.find(R"({"unit": "c", "city": "Paris"})"), std::string::npos) << text;
  };

  write_file(dir + "/sft.jsonl", "{\"messages\": [" + user + ", " + call + ", " + tool_turn + ", " + answer +
                                     "], \"tools\": " + tools + "}\n");
  fw::data::SftDataOptions sft;
  sft.chat_template = tmpl;
  const auto ds = fw::data::load_sft_jsonl({dir + "/sft.jsonl"}, tok, sft);
  ASSERT_EQ(ds.examples.size(), 1u);
  contains_in_order(tok.decode(ds.examples[0].ids));

  write_file(dir + "/pref.jsonl", "{\"prompt\": [" + user + "], \"chosen\": [" + call + "], \"rejected\": [" + answer +
                                      "], \"tools\": " + tools + "}\n");
  fw::data::PreferenceDataOptions pref;
  pref.chat_template = tmpl;
  const auto pairs = fw::data::load_preference_jsonl({dir + "/pref.jsonl"}, tok, pref);
  ASSERT_EQ(pairs.examples.size(), 1u);
  const auto& ex = pairs.examples[0];
  std::vector<int32_t> chosen = ex.prompt_ids;
  chosen.insert(chosen.end(), ex.chosen_ids.begin(), ex.chosen_ids.end());
  contains_in_order(tok.decode(chosen));
  // Tools need a template: with text records they are refused, naming the field.
  write_file(dir + "/pref_text.jsonl", "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\", \"tools\": " + tools + "}\n");
  auto e = expect_error([&] { fw::data::load_preference_jsonl({dir + "/pref_text.jsonl"}, tok, pref); });
  EXPECT_EQ(e.context().key, "tools");
  EXPECT_EQ(e.context().line, 1);

  write_file(dir + "/prompts.jsonl", "{\"id\": \"p\", \"prompt\": [" + user + ", " + call + ", " + tool_turn + ", " + user + "]}\n");
  const auto prompts = fw::data::read_prompt_records({dir + "/prompts.jsonl"});
  ASSERT_EQ(prompts.size(), 1u);
  EXPECT_EQ(prompts[0].messages[1].raw["tool_calls"][0]["function"]["arguments"].dump(), R"({"unit":"c","city":"Paris"})");
}

// Preference pairs as TRL's extract_prompt splits them: the shared prompt is the messages
// equal as whole dicts, so replies that differ only in their tool calls stay replies;
// replies of tool calls or reasoning alone are not empty; an empty tools list on text
// records is no tools.
TEST(ChatTemplate, PreferenceRepliesOfToolCallsOrReasoningAreKept) {
  const Tokenizer& tok = shared_tokenizer();
  const std::string dir = scratch_dir("pref_tool_calls");
  write_file(dir + "/chat_template.jinja",
             "{% for m in messages %}{{ m.role }}: {% if m.tool_calls %}{{ m.tool_calls[0].function.arguments | tojson }}"
             "{% elif m.thinking %}({{ m.thinking }}){% else %}{{ m.content }}{% endif %}\n{% endfor %}"
             "{% if add_generation_prompt %}assistant: {% endif %}");
  const auto tmpl = fw::data::load_chat_template(dir, "auto");
  auto call = [](const std::string& city) {
    return R"({"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "w", "arguments": {"city": ")" +
           city + R"("}}}]})";
  };
  const std::string user = R"({"role": "user", "content": "Weather?"})";
  write_file(dir + "/pref.jsonl",
             "{\"chosen\": [" + user + ", " + call("Paris") + "], \"rejected\": [" + user + ", " + call("Rome") + "]}\n" +
                 "{\"chosen\": [" + user + R"(, {"role": "assistant", "content": "", "thinking": "hmm"}], "rejected": [)" +
                 user + R"(, {"role": "assistant", "content": "no"}]})" + "\n" +
                 R"({"prompt": "a", "chosen": "b", "rejected": "c", "tools": []})" + "\n");
  fw::data::PreferenceDataOptions opts;
  opts.chat_template = tmpl;
  const auto pairs = fw::data::load_preference_jsonl({dir + "/pref.jsonl"}, tok, opts);
  ASSERT_EQ(pairs.examples.size(), 3u) << pairs.stats.summary();
  const auto& ex = pairs.examples[0];
  EXPECT_NE(tok.decode(ex.chosen_ids).find("Paris"), std::string::npos) << tok.decode(ex.chosen_ids);
  EXPECT_NE(tok.decode(ex.rejected_ids).find("Rome"), std::string::npos) << tok.decode(ex.rejected_ids);
  EXPECT_EQ(tok.decode(ex.prompt_ids).find("Paris"), std::string::npos) << tok.decode(ex.prompt_ids);
  EXPECT_NE(tok.decode(pairs.examples[1].chosen_ids).find("(hmm)"), std::string::npos);
}
