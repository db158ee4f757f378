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
  std::vector<ReplySpan> replies;  // in order, disjoint
  bool marked = false;  // the spans are the template's {% generation %} blocks
};

class JinjaChatTemplate {
 public:
  // `source`: the template's text as shipped (written back into exported model folders).
  JinjaChatTemplate(JinjaTemplate tmpl, nlohmann::ordered_json special_tokens, std::string source);

  // The folder's template (template_source.h; `name` picks a named one) and special
  // tokens; nullopt when the folder ships no template. A template that does not parse
  // throws fw::Error naming its file and line.
  static std::optional<JinjaChatTemplate> from_model_dir(const std::string& model_dir, const std::string& name = "");

  // `end_tokens`: the strings that can end an assistant turn (the tokenizer's special
  // tokens, longest first), tried after each reply when the template marks no
  // {% generation %} block. with_replies false: the text only (a prompt, no mask).
  RenderedChat render(const ChatRequest& request, const std::vector<std::string>& end_tokens,
                      bool with_replies = true) const;

  const std::string& name() const { return tmpl_.name(); }
  const std::string& source() const { return source_; }
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }

 private:
  JinjaTemplate tmpl_;
  nlohmann::ordered_json special_tokens_;
  std::string source_;
};

struct EncodedChat {
  std::string text;
  std::vector<int32_t> ids;              // the text encoded once, as apply_chat_template(tokenize=True)
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // each id's bytes of `text`
  std::vector<ReplySpan> replies;
  std::vector<uint8_t> assistant_mask;   // 1 = a token wholly inside an assistant reply (or what ends it)
};

// Renders `request` (with `tok`'s special tokens as the end tokens) and encodes the text
// once with offsets; the mask comes from the replies' byte spans (mask_from_spans).
// with_mask false: a prompt — no replies are looked for and the mask is all 0.
EncodedChat encode_jinja_chat(const Tokenizer& tok, const JinjaChatTemplate& tmpl, const ChatRequest& request,
                              bool with_mask = true);

// The byte spans of the replies `keep` accepts (by message index; -1 when unknown).
template <class Keep>
std::vector<ByteSpan> reply_bytes(const std::vector<ReplySpan>& replies, Keep keep) {
  std::vector<ByteSpan> out;
  for (const auto& r : replies)
    if (keep(r.message)) out.push_back(r.bytes);
  return out;
}

}  // namespace fw::data
