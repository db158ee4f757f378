// Chat templates: OpenAI-format messages -> token ids, plus a per-token mask of what an
// SFT loss should train on (the assistant's replies and the token that ends each reply).
//
// A conversation is first rendered as a list of segments — text, or one special token
// (bos, eos, or a named piece such as <|im_start|>) — each tagged with the message it
// belongs to and whether it is assistant output. encode_chat() encodes each text segment
// on its own and concatenates the ids, so no token ever straddles the boundary between a
// prompt and a reply and the mask is exact. Where the boundaries fall before a space or
// next to a special token (as in all three templates) this gives the same ids as
// encoding the whole rendered text; `fresh` below says where a new sentencepiece encode
// starts (with its dummy-prefix "▁", see tokenizer.h).
//
// Templates (rendered text; {x} is a message's content):
//
//   llama2  Hugging Face's Llama-2-chat template (meta-llama/Llama-2-7b-chat-hf):
//             <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s>
//             <s>[INST] {user2} [/INST]
//           (one line here, no newline between turns). The system prompt is folded into
//           the first user turn; user contents are stripped of surrounding whitespace
//           (after folding), assistant contents too. Roles must alternate user/assistant
//           after an optional first system message. <s> and </s> are the bos/eos ids.
//           Each "[INST] ... [/INST]" starts a fresh encode after <s>, as in Meta's
//           reference code (one sentencepiece call per turn); " {assistant} " continues it.
//           Mask: " {assistant} " and </s>. The generation prompt adds nothing (the
//           prompt already ends in "[/INST]").
//   chatml  <|im_start|>{role}\n{content}<|im_end|>\n per message; generation prompt
//           <|im_start|>assistant\n. No bos. Text never gets a dummy prefix (the string
//           starts with a special token), which equals sentencepiece encoding the whole
//           string with <|im_start|>/<|im_end|> as user-defined symbols. Mask: {content}
//           and <|im_end|>. Needs both tokens in the vocabulary.
//   plain   For tiny models trained from scratch:
//             <s>System: {system}\nUser: {user}\nAssistant: {assistant}</s>User: ...
//           bos once; each "Role: ...\n" line and each "Assistant:" starts a fresh encode
//           (so every role word is the same "▁Role" token, also after </s>); the reply
//           " {assistant}" continues "Assistant:" and ends with the eos id instead of a
//           newline (eos already separates turns). Generation prompt: "Assistant:".
//           Mask: " {assistant}" and </s>.
//
// Checked against transformers 5 (LlamaTokenizer on a sentencepiece model, Jinja
// templates from the hub): the rendered text equals apply_chat_template's string for
// llama2 and chatml; the llama2 ids equal apply_chat_template(tokenize=True) with
// legacy=True (Meta's format, what Llama-2-chat was trained on) and the chatml ids equal
// it with legacy=False (no "▁" after <|im_start|>).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/enum_names.h"
#include "data/tokenizer.h"

namespace fw::data {

struct Message {
  std::string role;     // system | user | assistant | tool
  std::string content;
  // The message as given, for a model's own Jinja template (tool_calls, tool_call_id,
  // name, reasoning_content, ...); null for a message built in code ({role, content}).
  nlohmann::ordered_json raw;
};

// Parses an OpenAI message list [{"role": ..., "content": ...}, ...]. `content` is a
// string, or a list of {"type": "text", "text": ...} parts (joined); it may be null or
// absent in an assistant message with tool_calls. Errors are fw::Error (InvalidInput)
// with key "messages[i].role" / "messages[i].content" naming the message. The built-in
// templates render system, user and assistant turns only (chat_segments refuses a tool
// turn); a model's own template renders what it renders.
// The keys of each message (and of its tool calls' arguments) keep the order given, as
// transformers renders them.
std::vector<Message> parse_messages(const nlohmann::ordered_json& j);
// A record's "tools" (TRL's conversational datasets: the functions the conversation may
// call, rendered by the model's own template); null when it has none. Not a list: throws
// fw::Error with key "tools".
nlohmann::ordered_json record_tools(const nlohmann::ordered_json& record);
nlohmann::json messages_to_json(const std::vector<Message>& messages);

enum class TemplateKind { Llama2, ChatMl, Plain };

// "llama2" | "chatml" | "plain"; anything else throws fw::Error with a did-you-mean.
TemplateKind template_from_name(const std::string& name);
std::string template_name(TemplateKind kind);

// The template a Hugging Face model folder asks for: tokenizer_config.json's
// `chat_template` (a string, or a list of {"name", "template"}) or chat_template.jinja.
// Contains "<|im_start|>" -> chatml, "[INST]" -> llama2; otherwise (or without either
// file) `fallback`. A corrupt tokenizer_config.json throws fw::Error.
TemplateKind detect_template(const std::string& model_dir, TemplateKind fallback);

// Which tokens the mask marks as trainable.
enum class MaskMode {
  AllAssistant,   // every assistant reply (and its end-of-turn token)
  LastAssistant,  // only the last assistant message of the conversation
  Everything,     // every token (pre-training style loss on the whole text)
};
constexpr std::array<EnumName<MaskMode>, 3> enum_names(MaskMode) {
  return {{{MaskMode::AllAssistant, "all_assistant"}, {MaskMode::LastAssistant, "last_assistant"},
           {MaskMode::Everything, "everything"}}};
}

// The template as a Jinja string for tokenizer_config.json's `chat_template`, so that
// transformers' apply_chat_template renders the same text (bos_token / eos_token are the
// tokenizer's). detect_template() recognises all three.
std::string hf_jinja_template(TemplateKind kind);

struct ChatSegment {
  enum class Kind { Text, Bos, Eos, Piece };  // Piece: the special token named by `text`
  Kind kind = Kind::Text;
  std::string text;        // Text: the text; Piece: the token ("<|im_start|>")
  int message = -1;        // index of the message it renders; -1 for none (plain's leading
                           // bos, the generation prompt)
  bool assistant = false;  // assistant output: trained on under the assistant masks
  bool fresh = false;      // Text: starts a new encode (dummy prefix) vs continues text
};

// The segments of a conversation. Throws fw::Error (InvalidInput, key "messages[i]") for
// an unknown role or a message order the template cannot express.
std::vector<ChatSegment> chat_segments(TemplateKind kind, const std::vector<Message>& messages,
                                       bool add_generation_prompt);

struct Encoded {
  std::vector<int32_t> ids;
  std::vector<uint8_t> assistant_mask;  // same length as ids; 1 = trained on
};

// The rendered text of a built-in template, for display and debugging (bos/eos written as
// `bos`/`eos`). encode_chat() below is the tokenization; this text is what it encodes.
std::string render_chat_text(TemplateKind kind, const std::vector<Message>& messages,
                             bool add_generation_prompt, std::string_view bos = "<s>",
                             std::string_view eos = "</s>");

class JinjaChatTemplate;

// The chat template a model uses: one of the three built in (rendered segment by segment,
// exact for the sentencepiece tokenizers trained here), or the model's own Jinja template
// (data/chat/jinja_chat.h: rendered natively as transformers renders it, the text encoded
// once with offsets, the mask from the replies' spans).
class ChatTemplate {
 public:
  ChatTemplate(TemplateKind kind = TemplateKind::Plain);  // NOLINT: a built-in kind is a template
  explicit ChatTemplate(std::shared_ptr<const JinjaChatTemplate> jinja);

  // The same template with keyword arguments for a Jinja template (transformers'
  // apply_chat_template kwargs, a recipe's chat_template_kwargs: enable_thinking, ...); they
  // override special tokens of the same name, as in transformers. A built-in template reads
  // none: non-empty kwargs throw fw::Error (key chat_template_kwargs).
  ChatTemplate with_kwargs(nlohmann::ordered_json kwargs) const;
  const nlohmann::ordered_json& kwargs() const { return kwargs_; }

  bool is_jinja() const { return jinja_ != nullptr; }
  TemplateKind kind() const { return kind_; }  // the built-in one (meaningless for Jinja)
  const JinjaChatTemplate& jinja() const { return *jinja_; }
  std::string name() const;  // "chatml", or "jinja (tokenizer_config.json)" (+ its kwargs)
  bool operator==(TemplateKind kind) const { return !jinja_ && kind_ == kind; }

 private:
  TemplateKind kind_ = TemplateKind::Plain;
  std::shared_ptr<const JinjaChatTemplate> jinja_;
  nlohmann::ordered_json kwargs_ = nlohmann::ordered_json::object();
};

// The template a name asks for, for the model in `model_dir` ("" = none):
//   "plain" | "chatml" | "llama2"  that built-in template;
//   "auto"   the folder's own Jinja template (data/chat/template_source.h), or the built-in
//            one when it is exactly the Jinja text flywheel writes for it
//            (hf_jinja_template; the models trained here keep their segment encoding);
//            plain when the folder has none;
//   "jinja"  the folder's own Jinja template (an error when it has none);
//   a path   a .jinja file (or .json with "chat_template"), with the folder's special tokens.
// Anything else throws fw::Error with a did-you-mean; a template that does not parse
// throws naming its file and line.
ChatTemplate load_chat_template(const std::string& model_dir, const std::string& name);

// Whether `name` is a setting load_chat_template takes (a recipe checks this at parse
// time: auto | jinja | plain | chatml | llama2 | a .jinja / .json file).
bool is_chat_template_setting(const std::string& name);
inline constexpr const char* kChatTemplateSettings = "auto, jinja, plain, chatml, llama2 or a .jinja / .json template file";

// Ids and mask of a conversation with any template (the built-in segments above, or the
// model's Jinja template). MaskMode applies to both: LastAssistant keeps the last
// assistant message's reply, Everything marks every token; replies of messages before
// `from_message` are not trained on (a prompt/completion record: the completion only).
// `tools`: the conversation's tool definitions (OpenAI's function schemas; null for none),
// which a Jinja template renders and a built-in one refuses. Throws fw::Error when the
// tokenizer lacks a token a built-in template needs (bos/eos for llama2 and plain,
// <|im_start|>/<|im_end|> for chatml), or the Jinja template refuses the conversation
// (raise_exception).
Encoded encode_chat(const Tokenizer& tok, const ChatTemplate& tmpl, const std::vector<Message>& messages,
                    bool add_generation_prompt = false, MaskMode mask = MaskMode::AllAssistant, int from_message = 0,
                    const nlohmann::ordered_json& tools = nullptr);
// The rendered text (bos/eos as the tokenizer's pieces for a built-in template).
std::string render_chat_text(const Tokenizer& tok, const ChatTemplate& tmpl, const std::vector<Message>& messages,
                             bool add_generation_prompt);

}  // namespace fw::data
