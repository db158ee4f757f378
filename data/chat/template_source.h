// Where a Hugging Face model folder keeps its chat template and the special-token strings
// transformers hands the template (bos_token, eos_token, ...), read as transformers reads
// them.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace fw::data {

struct TemplateSource {
  std::string text;    // the Jinja source, byte-exact
  std::string origin;  // the file it came from (and the entry, for a named template)
};

// The folder's chat template, in transformers' order: chat_template.jinja, then
// chat_template.json's "chat_template", then tokenizer_config.json's "chat_template" — a
// string, or a list of {"name", "template"} from which `name` is taken ("default" when
// none is asked for; with no "default", the only entry). nullopt when the folder has none.
// A corrupt file, a malformed entry or an unknown name throws fw::Error naming the file
// and key (and the names there are).
std::optional<TemplateSource> find_chat_template(const std::string& model_dir, const std::string& name = "");

// A template file given by the user (--chat-template FILE, model.chat_template: FILE): a
// .jinja file as it is, or a .json file holding {"chat_template": ...}.
TemplateSource read_chat_template_file(const std::string& path);

// The special tokens as strings, for the template's context: bos_token, eos_token,
// unk_token, pad_token, sep_token, cls_token, mask_token and additional_special_tokens,
// from tokenizer_config.json (which wins) and special_tokens_map.json; a token written as
// {"content": ...} gives its content. Absent ones are left out (the template sees them
// undefined, as in transformers).
nlohmann::ordered_json special_tokens_context(const std::string& model_dir);

}  // namespace fw::data
