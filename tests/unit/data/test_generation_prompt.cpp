// data/generation_prompt: which template a --template flag resolves to for a model folder
// (declared or not), and the ids of a generation prompt with and without a template.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/generation_prompt.h"
#include "tests/unit/data/tokenizer_fixture.h"

namespace {
using fw::data::TemplateKind;
using namespace fw::data::testing;

TEST(GenerationPrompt, ResolvesTheTemplateFlag) {
  const std::string bare = scratch_dir("gp_bare");
  const std::string chatml = scratch_dir("gp_chatml");
  write_file(chatml + "/tokenizer_config.json", R"({"chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}{% endfor %}"})");
  const std::string jinja = scratch_dir("gp_jinja");
  write_file(jinja + "/chat_template.jinja", "[INST] {{ messages[0]['content'] }} [/INST]");
  // A folder flywheel wrote: its template is exactly the built-in's Jinja text.
  const std::string ours = scratch_dir("gp_ours");
  write_file(ours + "/tokenizer_config.json",
             nlohmann::json{{"chat_template", fw::data::hf_jinja_template(TemplateKind::ChatMl)}}.dump());
  struct Case {
    std::string dir, flag;
    std::optional<TemplateKind> want;
  };
  const std::vector<Case> cases = {
      {bare, "auto", std::nullopt},          {bare, "none", std::nullopt},
      {bare, "plain", TemplateKind::Plain},  {ours, "auto", TemplateKind::ChatMl},
      {chatml, "none", std::nullopt},        {chatml, "llama2", TemplateKind::Llama2},
  };
  for (const auto& c : cases) EXPECT_EQ(fw::data::resolve_template(c.dir, c.flag), c.want) << c.dir << " " << c.flag;
  // Any other template a folder ships is rendered as it is, by the Jinja engine.
  for (const auto& dir : {chatml, jinja}) {
    const auto t = fw::data::resolve_template(dir, "auto");
    ASSERT_TRUE(t.has_value());
    EXPECT_TRUE(t->is_jinja()) << dir;
  }
  EXPECT_TRUE(fw::data::resolve_template(ours, "jinja")->is_jinja());
  EXPECT_EQ(fw::data::declared_template(bare), std::nullopt);
  EXPECT_THROW(fw::data::resolve_template(bare, "chatmll"), fw::Error);
}

TEST(GenerationPrompt, EncodesWithAndWithoutATemplate) {
  const auto& tok = shared_tokenizer();
  const std::vector<fw::data::Message> msgs = {{"user", "what is 2 plus 3?"}};
  // A template: the messages with the generation prompt; raw text becomes one user turn.
  const auto want = fw::data::encode_chat(tok, TemplateKind::Plain, msgs, true).ids;
  EXPECT_EQ(fw::data::encode_generation_prompt(tok, TemplateKind::Plain, msgs, "", "p"), want);
  EXPECT_EQ(fw::data::encode_generation_prompt(tok, TemplateKind::Plain, {}, "what is 2 plus 3?", "p"), want);
  // No template: raw text after bos; a message list is an error naming the prompt.
  EXPECT_EQ(fw::data::encode_generation_prompt(tok, std::nullopt, {}, "what is 2 plus 3?", "p"),
            tok.encode("what is 2 plus 3?", true));
  try {
    fw::data::encode_generation_prompt(tok, std::nullopt, msgs, "", "prompt-7");
    FAIL() << "expected an error";
  } catch (const fw::Error& e) {
    EXPECT_NE(std::string(e.what()).find("prompt-7"), std::string::npos) << e.what();
    EXPECT_EQ(e.context().key, "--template");
  }
}

}  // namespace
