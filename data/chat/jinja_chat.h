// A model's own Jinja chat template, with what transformers' apply_chat_template hands it:
// the conversation (OpenAI-format messages as given: tool_calls, tool_call_id, name,
// reasoning_content, content as a string or a list of parts), tools, documents,
// add_generation_prompt, the special-token strings and the caller's keyword arguments
// (enable_thinking, ...). Rendering gives the text and where the assistant's replies lie in
// it: the {% generation %} blocks when the template marks them, otherwise each reply found
// by its text (chat_spans.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/chat/chat_spans.h"
#include "data/chat/jinja.h"
#include "data/tokenizer.h"

namespace fw::data {

struct ChatRequest {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;      // null: none (the template sees None)
  nlohmann::ordered_json documents;  // null: none
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();  // extra template variables
  bool add_generation_prompt = false;
};

struct RenderedChat {
  std::string text;
  std::vector<ByteSpan> assistant_spans;  // sorted, disjoint
  bool marked = false;  // the spans are the template's {% generation %} blocks
};

class JinjaChatTemplate {
 public:
  // `end_tokens`: the strings that can end an assistant turn (the tokenizer's special
  // tokens), tried in order after each reply when the template marks no generation block.
  JinjaChatTemplate(JinjaTemplate tmpl, nlohmann::ordered_json special_tokens, std::vector<std::string> end_tokens);

  // The folder's template (template_source.h; `name` picks a named one) and special
  // tokens; nullopt when the folder ships no template. A template that does not parse
  // throws fw::Error naming its file and line.
  static std::optional<JinjaChatTemplate> from_model_dir(const std::string& model_dir,
                                                         std::vector<std::string> end_tokens,
                                                         const std::string& name = "");

  RenderedChat render(const ChatRequest& request) const;

  const std::string& name() const { return tmpl_.name(); }
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }

 private:
  JinjaTemplate tmpl_;
  nlohmann::ordered_json special_tokens_;
  std::vector<std::string> end_tokens_;
};

struct EncodedChat {
  std::string text;
  std::vector<int32_t> ids;              // the text encoded once, as apply_chat_template(tokenize=True)
  std::vector<uint8_t> assistant_mask;   // 1 = a token wholly inside an assistant reply (or what ends it)
};

// Renders `request` and encodes the text once with offsets; the mask comes from the
// replies' byte spans (mask_from_spans). `tmpl` should list `tok`'s special tokens as
// its end tokens.
EncodedChat encode_jinja_chat(const Tokenizer& tok, const JinjaChatTemplate& tmpl, const ChatRequest& request);

}  // namespace fw::data
