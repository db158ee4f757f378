#include "data/chat/jinja_chat.h"

#include <algorithm>

#include "data/chat/jinja_value.h"
#include "data/chat/reasoning_keys.h"
#include "data/chat/template_source.h"

namespace fw::data {

JinjaChatTemplate::JinjaChatTemplate(JinjaTemplate tmpl, nlohmann::ordered_json special_tokens, std::string source)
    : tmpl_(std::move(tmpl)), special_tokens_(std::move(special_tokens)), source_(std::move(source)) {}

std::optional<JinjaChatTemplate> JinjaChatTemplate::from_model_dir(const std::string& model_dir,
                                                                   const std::string& name) {
  auto source = find_chat_template(model_dir, name);
  if (!source) return std::nullopt;
  return JinjaChatTemplate(JinjaTemplate::parse(source->text, source->origin), special_tokens_context(model_dir),
                           source->text);
}

namespace {

// The messages as apply_chat_template hands them on: keys whose value is null dropped,
// then _alias_reasoning_fields — a message's reasoning, under any of its names
// (reasoning_content, thinking, reasoning: the first present), is given to the template as
// both `thinking` (first, unless the message has it) and `reasoning_content`.
bool needs_rewrite(const nlohmann::ordered_json& m) {
  if (!m.is_object()) return false;
  for (const auto& [k, v] : m.items())
    if (v.is_null() || is_reasoning_key(k)) return true;
  return false;
}

nlohmann::ordered_json template_messages(const nlohmann::ordered_json& messages) {
  if (!messages.is_array()) return messages;
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& given : messages) {
    nlohmann::ordered_json m = given;
    if (given.is_object()) {
      m = nlohmann::ordered_json::object();
      for (const auto& [k, v] : given.items())
        if (!v.is_null()) m[k] = v;
    }
    const nlohmann::ordered_json* reasoning = nullptr;
    if (m.is_object())
      for (std::string_view key : kReasoningKeys)
        if (auto it = m.find(key); it != m.end() && !it->is_null()) {
          reasoning = &*it;
          break;
        }
    if (!reasoning) {
      out.push_back(m);
      continue;
    }
    nlohmann::ordered_json aliased = nlohmann::ordered_json::object();
    aliased["thinking"] = *reasoning;
    for (const auto& [k, v] : m.items()) aliased[k] = v;
    aliased["thinking"] = m.contains("thinking") ? m["thinking"] : *reasoning;
    aliased["reasoning_content"] = *reasoning;
    out.push_back(std::move(aliased));
  }
  return out;
}

}  // namespace

RenderedChat JinjaChatTemplate::render(const ChatRequest& request, const std::vector<std::string>& end_tokens,
                                       bool with_replies) const {
  // transformers: render(messages=, tools=, documents=, add_generation_prompt=,
  // **special_tokens_map, **kwargs) — later keys win. The messages are copied only when
  // apply_chat_template would change them (a null value, a reasoning field).
  nlohmann::ordered_json rewritten;
  const bool rewrite = !request.messages.is_array() ||
                       std::any_of(request.messages.begin(), request.messages.end(), needs_rewrite);
  if (rewrite) rewritten = template_messages(request.messages);
  const nlohmann::ordered_json& messages = rewrite ? rewritten : request.messages;
  jinja::Variables context;
  context.reserve(4 + special_tokens_.size() + request.kwargs.size());
  context.emplace_back("messages", jinja::from_json(messages));
  context.emplace_back("tools", jinja::from_json(request.tools));
  context.emplace_back("documents", jinja::from_json(request.documents));
  context.emplace_back("add_generation_prompt", jinja::Value::from(request.add_generation_prompt));
  for (const auto& [k, v] : special_tokens_.items()) context.emplace_back(k, jinja::from_json(v));
  for (const auto& [k, v] : request.kwargs.items()) context.emplace_back(k, jinja::from_json(v));
  JinjaRenderResult r = tmpl_.render_variables(std::move(context));
  RenderedChat out;
  out.text = std::move(r.text);
  out.marked = !r.generation_spans.empty();
  if (!with_replies) return out;
  if (!out.marked) {
    out.replies = assistant_spans(out.text, messages, end_tokens);
    return out;
  }
  // {% generation %} blocks, paired with the assistant messages in order when there are as
  // many of each (a template may write several blocks per message: then unpaired).
  std::vector<int> assistant;
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].is_object() && messages[i].value("role", "") == "assistant") assistant.push_back(static_cast<int>(i));
  const bool paired = assistant.size() == r.generation_spans.size();
  for (size_t k = 0; k < r.generation_spans.size(); ++k)
    out.replies.push_back({paired ? assistant[k] : -1, r.generation_spans[k]});
  return out;
}

EncodedChat encode_jinja_chat(const Tokenizer& tok, const JinjaChatTemplate& tmpl, const ChatRequest& request,
                              bool with_mask) {
  RenderedChat rendered = tmpl.render(request, tok.special_token_strings(), with_mask);
  TokensWithOffsets t = tok.encode_with_offsets(rendered.text);
  EncodedChat out;
  out.assistant_mask = mask_from_spans(t.offsets, reply_bytes(rendered.replies, [](int) { return true; }));
  out.ids = std::move(t.ids);
  out.offsets = std::move(t.offsets);
  out.replies = std::move(rendered.replies);
  out.text = std::move(rendered.text);
  return out;
}

}  // namespace fw::data
