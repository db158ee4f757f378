#include "data/generation_prompt.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_io.h"

namespace fw::data {
namespace fs = std::filesystem;

std::optional<TemplateKind> declared_template(const std::string& model_dir) {
  const fs::path dir(model_dir);
  bool declared = fs::exists(dir / "chat_template.jinja");
  if (!declared && fs::exists(dir / "tokenizer_config.json"))
    declared = read_json_file((dir / "tokenizer_config.json").string()).contains("chat_template");
  if (!declared) return std::nullopt;
  return detect_template(model_dir, TemplateKind::Plain);
}

std::optional<TemplateKind> resolve_template(const std::string& model_dir, const std::string& name) {
  if (name == "none") return std::nullopt;
  if (name == "auto") return declared_template(model_dir);
  return template_from_name(name);
}

std::vector<int32_t> encode_generation_prompt(const Tokenizer& tok, std::optional<TemplateKind> tmpl,
                                              const std::vector<Message>& messages, std::string_view text,
                                              const std::string& prompt_id) {
  if (tmpl) {
    if (!messages.empty()) return encode_chat(tok, *tmpl, messages, /*add_generation_prompt=*/true).ids;
    return encode_chat(tok, *tmpl, {{"user", std::string(text)}}, /*add_generation_prompt=*/true).ids;
  }
  if (!messages.empty())
    throw_invalid("prompt '" + prompt_id + "' is a message list but no chat template is in use",
                  {.key = "--template", .hint = "pass --template plain|chatml|llama2"});
  return tok.encode(text, /*add_bos=*/tok.bos_id() >= 0);
}

}  // namespace fw::data
