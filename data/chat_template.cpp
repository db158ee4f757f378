#include "data/chat_template.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_io.h"
#include "core/strings.h"
#include "data/chat/jinja_chat.h"
#include "data/chat/template_source.h"

namespace fw::data {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kRoles = {"system", "user", "assistant", "tool"};
const std::vector<std::string> kTemplateNames = {"llama2", "chatml", "plain"};
constexpr const char* kImStart = "<|im_start|>";
constexpr const char* kImEnd = "<|im_end|>";

std::string msg_key(size_t i, const char* field = nullptr) {
  std::string k = "messages[" + std::to_string(i) + "]";
  if (field) k += std::string(".") + field;
  return k;
}

void check_role(const std::string& role, size_t i) {
  for (const auto& r : kRoles)
    if (role == r) return;
  std::string guess = closest_match(role, kRoles);
  throw_invalid("unknown role '" + role + "' (expected system, user, assistant or tool)",
                {.key = msg_key(i, "role"),
                 .hint = guess.empty() ? std::string() : "did you mean '" + guess + "'?"});
}

ChatSegment text_seg(std::string text, int message, bool fresh, bool assistant = false) {
  return {ChatSegment::Kind::Text, std::move(text), message, assistant, fresh};
}
ChatSegment token_seg(ChatSegment::Kind kind, std::string text, int message, bool assistant = false) {
  return {kind, std::move(text), message, assistant, false};
}

void llama2_segments(const std::vector<Message>& msgs, std::vector<ChatSegment>& out) {
  size_t start = 0;
  bool has_system = !msgs.empty() && msgs[0].role == "system";
  if (has_system) start = 1;
  for (size_t i = start; i < msgs.size(); ++i) {
    const Message& m = msgs[i];
    const int mi = static_cast<int>(i);
    if (m.role == "system")
      throw_invalid("the llama2 template allows a system message only as the first message",
                    {.key = msg_key(i, "role")});
    size_t k = i - start;
    if ((m.role == "user") != (k % 2 == 0))
      throw_invalid("Conversation roles must alternate user/assistant/user/assistant/...",
                    {.key = msg_key(i, "role"),
                     .hint = "the llama2 template needs user first (after an optional system "
                             "message) and strict alternation"});
    std::string content = m.content;
    if (k == 0 && has_system)
      content = "<<SYS>>\n" + msgs[0].content + "\n<</SYS>>\n\n" + content;
    if (m.role == "user") {
      out.push_back(token_seg(ChatSegment::Kind::Bos, "", mi));
      out.push_back(text_seg("[INST] " + python_strip(content) + " [/INST]", mi, /*fresh=*/true));
    } else {
      out.push_back(text_seg(" " + python_strip(content) + " ", mi, false, /*assistant=*/true));
      out.push_back(token_seg(ChatSegment::Kind::Eos, "", mi, /*assistant=*/true));
    }
  }
}

void chatml_segments(const std::vector<Message>& msgs, bool gen, std::vector<ChatSegment>& out) {
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Message& m = msgs[i];
    const int mi = static_cast<int>(i);
    out.push_back(token_seg(ChatSegment::Kind::Piece, kImStart, mi));
    if (m.role == "assistant") {
      out.push_back(text_seg("assistant\n", mi, false));
      out.push_back(text_seg(m.content, mi, false, /*assistant=*/true));
      out.push_back(token_seg(ChatSegment::Kind::Piece, kImEnd, mi, /*assistant=*/true));
    } else {
      out.push_back(text_seg(m.role + "\n" + m.content, mi, false));
      out.push_back(token_seg(ChatSegment::Kind::Piece, kImEnd, mi));
    }
    out.push_back(text_seg("\n", mi, false));
  }
  if (gen) {
    out.push_back(token_seg(ChatSegment::Kind::Piece, kImStart, -1));
    out.push_back(text_seg("assistant\n", -1, false));
  }
}

void plain_segments(const std::vector<Message>& msgs, bool gen, std::vector<ChatSegment>& out) {
  out.push_back(token_seg(ChatSegment::Kind::Bos, "", -1));
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Message& m = msgs[i];
    const int mi = static_cast<int>(i);
    if (m.role == "assistant") {
      out.push_back(text_seg("Assistant:", mi, /*fresh=*/true));
      out.push_back(text_seg(" " + m.content, mi, false, /*assistant=*/true));
      out.push_back(token_seg(ChatSegment::Kind::Eos, "", mi, /*assistant=*/true));
    } else {
      const char* label = m.role == "system" ? "System: " : "User: ";
      out.push_back(text_seg(label + m.content + "\n", mi, /*fresh=*/true));
    }
  }
  if (gen) out.push_back(text_seg("Assistant:", -1, /*fresh=*/true));
}

}  // namespace

std::string hf_jinja_template(TemplateKind kind) {
  switch (kind) {
    case TemplateKind::ChatMl:
      return "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
             "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    case TemplateKind::Llama2:
      return "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
             "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}"
             "{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
             "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
             "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
             "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
             "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
             "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
    case TemplateKind::Plain:
      return "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}"
             "{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}"
             "{{ 'System: ' + message['content'] + '\\n' }}{% else %}{{ 'User: ' + message['content'] + '\\n' }}"
             "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";
  }
  return "";
}

// ---- Messages ---------------------------------------------------------------------------

std::vector<Message> parse_messages(const nlohmann::ordered_json& j) {
  if (!j.is_array())
    throw_invalid(std::string("expected a list of messages, got ") + j.type_name(), {.key = "messages"});
  std::vector<Message> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& m = j[i];
    if (!m.is_object())
      throw_invalid(std::string("expected a message object {\"role\", \"content\"}, got ") +
                        m.type_name(),
                    {.key = msg_key(i)});
    if (!m.contains("role") || !m["role"].is_string())
      throw_invalid(m.contains("role") ? "role must be a string" : "message has no role",
                    {.key = msg_key(i, "role")});
    Message msg;
    msg.role = m["role"].get<std::string>();
    check_role(msg.role, i);
    msg.raw = m;
    const bool tool_calls = m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty();
    if ((!m.contains("content") || m["content"].is_null()) && !tool_calls)
      throw_invalid("message has no content", {.key = msg_key(i, "content")});
    const auto& c = m.contains("content") ? m["content"] : m;  // (an object: no content)
    if (c.is_object() || c.is_null()) {
      // an assistant turn of tool calls only
    } else if (c.is_string()) {
      msg.content = c.get<std::string>();
    } else if (c.is_array()) {
      for (size_t p = 0; p < c.size(); ++p) {
        const auto& part = c[p];
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
            !part["text"].is_string())
          throw_invalid("only text content parts {\"type\": \"text\", \"text\": ...} are supported",
                        {.key = msg_key(i, "content") + "[" + std::to_string(p) + "]"});
        msg.content += part["text"].get<std::string>();
      }
    } else {
      throw_invalid(std::string("content must be a string or a list of text parts, got ") +
                        c.type_name(),
                    {.key = msg_key(i, "content")});
    }
    out.push_back(std::move(msg));
  }
  return out;
}

nlohmann::ordered_json record_tools(const nlohmann::ordered_json& record) {
  if (!record.contains("tools") || record["tools"].is_null()) return nullptr;
  if (!record["tools"].is_array()) throw_invalid("must be a list of tool definitions", {.key = "tools"});
  return record["tools"];
}

nlohmann::json messages_to_json(const std::vector<Message>& messages) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
}

// ---- Template names ---------------------------------------------------------------------

TemplateKind template_from_name(const std::string& name) {
  if (name == "llama2") return TemplateKind::Llama2;
  if (name == "chatml") return TemplateKind::ChatMl;
  if (name == "plain") return TemplateKind::Plain;
  std::string guess = closest_match(name, kTemplateNames);
  throw_invalid("unknown chat template '" + name + "' (expected llama2, chatml or plain)",
                {.hint = guess.empty() ? std::string() : "did you mean '" + guess + "'?"});
}

std::string template_name(TemplateKind kind) {
  switch (kind) {
    case TemplateKind::Llama2: return "llama2";
    case TemplateKind::ChatMl: return "chatml";
    case TemplateKind::Plain: return "plain";
  }
  return "?";
}

TemplateKind detect_template(const std::string& model_dir, TemplateKind fallback) {
  std::string tmpl;
  const fs::path dir(model_dir);
  const std::string config_path = (dir / "tokenizer_config.json").string();
  std::error_code ec;
  if (fs::is_regular_file(config_path, ec)) {
    nlohmann::json config = read_json_file(config_path);
    if (config.is_object() && config.contains("chat_template")) {
      const auto& t = config["chat_template"];
      if (t.is_string()) {
        tmpl = t.get<std::string>();
      } else if (t.is_array()) {  // [{"name": "default", "template": "..."}, ...]
        for (const auto& e : t) {
          if (!e.is_object() || !e.contains("template") || !e["template"].is_string()) continue;
          if (tmpl.empty() || e.value("name", "") == "default") tmpl = e["template"].get<std::string>();
        }
      } else if (!t.is_null()) {
        throw_invalid("chat_template must be a string or a list of {name, template}",
                      {.file = config_path, .key = "chat_template"});
      }
    }
  }
  const std::string jinja_path = (dir / "chat_template.jinja").string();
  if (tmpl.empty() && fs::is_regular_file(jinja_path, ec)) tmpl = read_text_file(jinja_path);
  if (tmpl.find(kImStart) != std::string::npos) return TemplateKind::ChatMl;
  if (tmpl.find("[INST]") != std::string::npos) return TemplateKind::Llama2;
  if (tmpl.find("'Assistant:") != std::string::npos) return TemplateKind::Plain;
  return fallback;
}

// ---- Rendering and encoding -------------------------------------------------------------

std::vector<ChatSegment> chat_segments(TemplateKind kind, const std::vector<Message>& messages,
                                       bool add_generation_prompt) {
  for (size_t i = 0; i < messages.size(); ++i) {
    check_role(messages[i].role, i);
    if (messages[i].role == "tool")
      throw_invalid("the built-in " + template_name(kind) + " template has no tool turns",
                    {.key = msg_key(i, "role"), .hint = "use a model whose own chat template renders tools"});
  }
  std::vector<ChatSegment> out;
  switch (kind) {
    case TemplateKind::Llama2: llama2_segments(messages, out); break;
    case TemplateKind::ChatMl: chatml_segments(messages, add_generation_prompt, out); break;
    case TemplateKind::Plain: plain_segments(messages, add_generation_prompt, out); break;
  }
  return out;
}

namespace {

Encoded encode_builtin(const Tokenizer& tok, TemplateKind kind, const std::vector<Message>& messages,
                       bool add_generation_prompt, MaskMode mask, int from_message) {
  const auto segments = chat_segments(kind, messages, add_generation_prompt);
  int last_assistant = -1;
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].role == "assistant") last_assistant = static_cast<int>(i);

  auto need = [&](int32_t id, const std::string& what) {
    if (id < 0)
      throw_invalid("the " + template_name(kind) + " chat template needs " + what +
                        ", which the tokenizer does not have",
                    {.file = tok.source(),
                     .hint = kind == TemplateKind::ChatMl
                                 ? "train the tokenizer with user_defined_symbols "
                                   "<|im_start|>,<|im_end|> or use another template"
                                 : "use a tokenizer with bos and eos tokens"});
    return id;
  };

  Encoded out;
  for (const auto& seg : segments) {
    std::vector<int32_t> ids;
    switch (seg.kind) {
      case ChatSegment::Kind::Text:
        if (seg.text.empty()) continue;
        ids = seg.fresh ? tok.encode(seg.text) : tok.encode_continuation(seg.text);
        break;
      case ChatSegment::Kind::Bos: ids = {need(tok.bos_id(), "a bos token")}; break;
      case ChatSegment::Kind::Eos: ids = {need(tok.eos_id(), "an eos token")}; break;
      case ChatSegment::Kind::Piece:
        ids = {need(tok.piece_to_id(seg.text), "the token " + seg.text)};
        break;
    }
    bool train = false;
    switch (mask) {
      case MaskMode::AllAssistant: train = seg.assistant && seg.message >= from_message; break;
      case MaskMode::LastAssistant: train = seg.assistant && seg.message == last_assistant && seg.message >= from_message; break;
      case MaskMode::Everything: train = true; break;
    }
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    out.assistant_mask.insert(out.assistant_mask.end(), ids.size(), train ? 1 : 0);
  }
  return out;
}

}  // namespace

std::string render_chat_text(TemplateKind kind, const std::vector<Message>& messages,
                             bool add_generation_prompt, std::string_view bos, std::string_view eos) {
  std::string out;
  for (const auto& seg : chat_segments(kind, messages, add_generation_prompt)) {
    switch (seg.kind) {
      case ChatSegment::Kind::Text:
      case ChatSegment::Kind::Piece: out += seg.text; break;
      case ChatSegment::Kind::Bos: out += bos; break;
      case ChatSegment::Kind::Eos: out += eos; break;
    }
  }
  return out;
}

namespace {

ChatRequest jinja_request(const ChatTemplate& tmpl, const std::vector<Message>& messages, bool add_generation_prompt,
                          const nlohmann::ordered_json& tools = nullptr) {
  ChatRequest req;
  req.kwargs = tmpl.kwargs();
  req.tools = tools;
  for (const auto& m : messages)
    req.messages.push_back(m.raw.is_object() && m.raw.contains("role")
                               ? m.raw
                               : nlohmann::ordered_json{{"role", m.role}, {"content", m.content}});
  req.add_generation_prompt = add_generation_prompt;
  return req;
}

}  // namespace

Encoded encode_chat(const Tokenizer& tok, const ChatTemplate& tmpl, const std::vector<Message>& messages,
                    bool add_generation_prompt, MaskMode mask, int from_message, const nlohmann::ordered_json& tools) {
  if (!tmpl.is_jinja()) {
    if (!tools.is_null() && !(tools.is_array() && tools.empty()))
      throw_invalid("the built-in " + template_name(tmpl.kind()) + " template has no tools", {.key = "tools",
                    .hint = "use a model whose own chat template renders tools"});
    return encode_builtin(tok, tmpl.kind(), messages, add_generation_prompt, mask, from_message);
  }
  // A conversation that ends in the generation prompt is a prompt: its replies are not
  // trained on, so they are not looked for.
  const bool with_mask = mask != MaskMode::Everything && !add_generation_prompt;
  EncodedChat e =
      encode_jinja_chat(tok, tmpl.jinja(), jinja_request(tmpl, messages, add_generation_prompt, tools), with_mask);
  int last_assistant = -1;
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].role == "assistant") last_assistant = static_cast<int>(i);
  Encoded out;
  out.ids = std::move(e.ids);
  switch (mask) {
    case MaskMode::AllAssistant:
      out.assistant_mask = from_message == 0 ? std::move(e.assistant_mask)
                                             : mask_from_spans(e.offsets, reply_bytes(e.replies, [&](int m) {
                                                 return m >= from_message;  // an unpaired block (-1) is left out
                                               }));
      break;
    case MaskMode::LastAssistant:
      out.assistant_mask = mask_from_spans(e.offsets, reply_bytes(e.replies, [&](int m) {
        return m == last_assistant && m >= from_message;
      }));
      break;
    case MaskMode::Everything: out.assistant_mask.assign(out.ids.size(), 1); break;
  }
  return out;
}

std::string render_chat_text(const Tokenizer& tok, const ChatTemplate& tmpl, const std::vector<Message>& messages,
                             bool add_generation_prompt) {
  if (tmpl.is_jinja())
    return tmpl.jinja().render(jinja_request(tmpl, messages, add_generation_prompt), tok.special_token_strings()).text;
  std::string bos = tok.bos_id() >= 0 ? tok.id_to_piece(tok.bos_id()) : "";
  std::string eos = tok.eos_id() >= 0 ? tok.id_to_piece(tok.eos_id()) : "";
  return render_chat_text(tmpl.kind(), messages, add_generation_prompt, bos, eos);
}

// ---- ChatTemplate -----------------------------------------------------------------------

ChatTemplate::ChatTemplate(TemplateKind kind) : kind_(kind) {}
ChatTemplate::ChatTemplate(std::shared_ptr<const JinjaChatTemplate> jinja) : jinja_(std::move(jinja)) {}

ChatTemplate ChatTemplate::with_kwargs(nlohmann::ordered_json kwargs) const {
  if (kwargs.is_null()) kwargs = nlohmann::ordered_json::object();
  if (!kwargs.is_object())
    throw_invalid(std::string("expected a map of name: value, got ") + kwargs.type_name(), {.key = "chat_template_kwargs"});
  for (const char* reserved : {"messages", "tools", "documents", "add_generation_prompt"})
    if (kwargs.contains(reserved))
      throw_invalid(std::string("'") + reserved + "' is set by flywheel for each conversation, not a keyword argument",
                    {.key = "chat_template_kwargs"});
  if (!jinja_ && !kwargs.empty())
    throw_invalid("the built-in " + template_name(kind_) + " template reads no keyword arguments",
                  {.key = "chat_template_kwargs", .hint = "they are for a model's own Jinja template (chat_template: auto or jinja)"});
  ChatTemplate out = *this;
  out.kwargs_ = std::move(kwargs);
  return out;
}

std::string ChatTemplate::name() const {
  if (!jinja_) return template_name(kind_);
  std::string n = "jinja (" + std::filesystem::path(jinja_->name()).filename().string() + ")";
  if (!kwargs_.empty()) n += " with " + kwargs_.dump();
  return n;
}

bool is_chat_template_setting(const std::string& name) {
  if (name == "auto" || name == "jinja" || name == "plain" || name == "chatml" || name == "llama2") return true;
  return (name.size() > 6 && ends_with(name, ".jinja")) || (name.size() > 5 && ends_with(name, ".json"));
}

ChatTemplate load_chat_template(const std::string& model_dir, const std::string& name) {
  auto jinja = [&](const TemplateSource& src) {
    return ChatTemplate(std::make_shared<const JinjaChatTemplate>(
        JinjaTemplate::parse(src.text, src.origin),
        model_dir.empty() ? nlohmann::ordered_json::object() : special_tokens_context(model_dir), src.text));
  };
  if (name == "llama2" || name == "chatml" || name == "plain") return template_from_name(name);
  if (name == "auto" || name == "jinja") {
    std::optional<TemplateSource> src = model_dir.empty() ? std::nullopt : find_chat_template(model_dir);
    if (!src) {
      if (name == "jinja")
        throw_invalid("the model folder ships no chat template", {.file = model_dir, .key = "chat_template"});
      return TemplateKind::Plain;
    }
    if (name == "auto")
      for (TemplateKind k : {TemplateKind::Plain, TemplateKind::ChatMl, TemplateKind::Llama2})
        if (src->text == hf_jinja_template(k)) return k;
    return jinja(*src);
  }
  if (is_chat_template_setting(name)) return jinja(read_chat_template_file(name));
  return template_from_name(name);  // the error, with a did-you-mean
}

}  // namespace fw::data
