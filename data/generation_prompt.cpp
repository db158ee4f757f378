#include "data/generation_prompt.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_io.h"
#include "data/chat/template_source.h"

namespace fw::data {
namespace fs = std::filesystem;

std::optional<ChatTemplate> declared_template(const std::string& model_dir) {
  if (!find_chat_template(model_dir)) return std::nullopt;
  return load_chat_template(model_dir, "auto");
}

std::optional<ChatTemplate> resolve_template(const std::string& model_dir, const std::string& name) {
  if (name == "none") return std::nullopt;
  if (name == "auto") return declared_template(model_dir);
  return load_chat_template(model_dir, name);
}

std::vector<int32_t> encode_generation_prompt(const Tokenizer& tok, const std::optional<ChatTemplate>& tmpl,
                                              const std::vector<Message>& messages, std::string_view text,
                                              const std::string& prompt_id) {
  if (tmpl) {
    if (!messages.empty()) return encode_chat(tok, *tmpl, messages, /*add_generation_prompt=*/true).ids;
    return encode_chat(tok, *tmpl, {{"user", std::string(text)}}, /*add_generation_prompt=*/true).ids;
  }
  if (!messages.empty())
    throw_invalid("prompt '" + prompt_id + "' is a message list but no chat template is in use",
                  {.key = "--template", .hint = "pass --template auto|jinja|plain|chatml|llama2 or a template file"});
  return tok.encode(text, /*add_bos=*/tok.bos_id() >= 0);
}

}  // namespace fw::data
