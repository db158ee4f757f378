// Prompts for generation: which chat template a model folder uses, and the token ids of a
// prompt ready for the model to continue (the template's generation prompt appended, or
// raw text after bos). Shared by `flywheel generate` and the arena's local chat models.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/chat_template.h"
#include "data/tokenizer.h"

namespace fw::data {

// The template the folder declares (tokenizer_config.json's chat_template or
// chat_template.jinja, recognised by detect_template), or nullopt when it declares none.
std::optional<TemplateKind> declared_template(const std::string& model_dir);

// A --template flag: "none" -> nullopt (raw text); "auto" -> declared_template();
// "plain" | "chatml" | "llama2" -> that one (anything else: fw::Error with a did-you-mean).
std::optional<TemplateKind> resolve_template(const std::string& model_dir, const std::string& name);

// The ids of a prompt to generate from. With a template: `messages` (or, if empty, `text`
// as one user message) rendered with the generation prompt. Without: `text` encoded with
// bos (when the tokenizer has one); a message list then is an error naming `prompt_id`.
std::vector<int32_t> encode_generation_prompt(const Tokenizer& tok, std::optional<TemplateKind> tmpl,
                                              const std::vector<Message>& messages, std::string_view text,
                                              const std::string& prompt_id);

}  // namespace fw::data
