#include "data/chat/jinja_chat.h"

#include "data/chat/template_source.h"

namespace fw::data {

JinjaChatTemplate::JinjaChatTemplate(JinjaTemplate tmpl, nlohmann::ordered_json special_tokens,
                                     std::vector<std::string> end_tokens)
    : tmpl_(std::move(tmpl)), special_tokens_(std::move(special_tokens)), end_tokens_(std::move(end_tokens)) {}

std::optional<JinjaChatTemplate> JinjaChatTemplate::from_model_dir(const std::string& model_dir,
                                                                   std::vector<std::string> end_tokens,
                                                                   const std::string& name) {
  auto source = find_chat_template(model_dir, name);
  if (!source) return std::nullopt;
  return JinjaChatTemplate(JinjaTemplate::parse(source->text, source->origin), special_tokens_context(model_dir),
                           std::move(end_tokens));
}

namespace {

// The messages as apply_chat_template hands them on: keys whose value is null dropped,
// then _alias_reasoning_fields — a message's reasoning, under any of its names
// (reasoning_content, thinking, reasoning: the first present), is given to the template as
// both `thinking` (first, unless the message has it) and `reasoning_content`.
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
      for (const char* key : {"reasoning_content", "thinking", "reasoning"})
        if (m.contains(key) && !m[key].is_null()) {
          reasoning = &m[key];
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

RenderedChat JinjaChatTemplate::render(const ChatRequest& request) const {
  // transformers: render(messages=, tools=, documents=, add_generation_prompt=,
  // **special_tokens_map, **kwargs) — later keys win.
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = template_messages(request.messages);
  context["tools"] = request.tools;
  context["documents"] = request.documents;
  context["add_generation_prompt"] = request.add_generation_prompt;
  for (const auto& [k, v] : special_tokens_.items()) context[k] = v;
  for (const auto& [k, v] : request.kwargs.items()) context[k] = v;
  JinjaRenderResult r = tmpl_.render(context);
  RenderedChat out;
  out.text = std::move(r.text);
  out.marked = !r.generation_spans.empty();
  out.assistant_spans = out.marked ? std::move(r.generation_spans)
                                   : assistant_spans(out.text, request.messages, end_tokens_);
  return out;
}

EncodedChat encode_jinja_chat(const Tokenizer& tok, const JinjaChatTemplate& tmpl, const ChatRequest& request) {
  RenderedChat rendered = tmpl.render(request);
  TokensWithOffsets t = tok.encode_with_offsets(rendered.text);
  EncodedChat out;
  out.assistant_mask = mask_from_spans(t.offsets, rendered.assistant_spans);
  out.ids = std::move(t.ids);
  out.text = std::move(rendered.text);
  return out;
}

}  // namespace fw::data
