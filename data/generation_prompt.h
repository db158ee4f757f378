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

// The template the folder declares (its own Jinja template: see load_chat_template's
// "auto"), or nullopt when it declares none.
std::optional<ChatTemplate> declared_template(const std::string& model_dir);

// A --template flag: "none" -> nullopt (raw text); "auto" -> declared_template(); else
// load_chat_template (plain | chatml | llama2 | jinja | a template file).
std::optional<ChatTemplate> resolve_template(const std::string& model_dir, const std::string& name);

// The ids of a prompt to generate from. With a template: `messages` (or, if empty, `text`
// as one user message) rendered with the generation prompt. Without: `text` encoded with
// bos (when the tokenizer has one); a message list then is an error naming `prompt_id`.
std::vector<int32_t> encode_generation_prompt(const Tokenizer& tok, const std::optional<ChatTemplate>& tmpl,
                                              const std::vector<Message>& messages, std::string_view text,
                                              const std::string& prompt_id);

}  // namespace fw::data
