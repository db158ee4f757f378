// flywheel template MODEL_DIR [--file FILE.jsonl] [--add-generation-prompt] [--chat-template FILE]
// JSONL in, JSONL out: {"messages": [...], "tools": [...], "kwargs": {...}} (tools and kwargs
// optional) -> {"text": ..., "ids": [...], "assistant_mask": [...]}: the model's own Jinja
// chat template rendered as transformers' apply_chat_template does, the text encoded once,
// and 1 for each token of an assistant reply and the token that ends it.
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>

#include "apps/commands.h"
#include "apps/jsonl_filter.h"
#include "core/error.h"
#include "data/chat/jinja_chat.h"
#include "data/chat/template_source.h"
#include "data/tokenizer.h"

namespace fw::apps {
namespace {

struct TemplateFlags {
  std::string model_dir, file, chat_template_file, template_name;
  bool add_generation_prompt = false;
};

data::JinjaChatTemplate load_template(const TemplateFlags& f) {
  if (!f.chat_template_file.empty()) {
    const data::TemplateSource src = data::read_chat_template_file(f.chat_template_file);
    return data::JinjaChatTemplate(data::JinjaTemplate::parse(src.text, src.origin),
                                   data::special_tokens_context(f.model_dir), src.text);
  }
  auto tmpl = data::JinjaChatTemplate::from_model_dir(f.model_dir, f.template_name);
  if (!tmpl)
    throw_invalid("the folder ships no chat template (tokenizer_config.json, chat_template.jinja or chat_template.json)",
                  {.file = f.model_dir, .hint = "give one with --chat-template FILE"});
  return std::move(*tmpl);
}

std::string render_record(const data::Tokenizer& tok, const data::JinjaChatTemplate& tmpl,
                                     const nlohmann::ordered_json& in, bool add_generation_prompt) {
  if (!in.is_object() || !in.contains("messages") || !in["messages"].is_array())
    throw_invalid("expected {\"messages\": [...], \"tools\": [...], \"kwargs\": {...}}", {.key = "messages"});
  data::ChatRequest req;
  req.messages = in["messages"];
  if (in.contains("tools")) req.tools = in["tools"];
  if (in.contains("documents")) req.documents = in["documents"];
  if (in.contains("kwargs")) {
    if (!in["kwargs"].is_object()) throw_invalid("must be an object", {.key = "kwargs"});
    req.kwargs = in["kwargs"];
  }
  req.add_generation_prompt = add_generation_prompt;
  const data::EncodedChat e = data::encode_jinja_chat(tok, tmpl, req);
  // {"text": ..., "ids": [...], "assistant_mask": [...]}, written directly (the arrays are
  // most of the line; building them as JSON values first costs more than the rendering).
  std::string line = "{\"text\":" + json_line(e.text) + ",\"ids\":";
  append_int_array(line, e.ids);
  line += ",\"assistant_mask\":";
  append_int_array(line, e.assistant_mask);
  line += '}';
  return line;
}

}  // namespace

Run add_template_command(CLI::App& app) {
  auto f = std::make_shared<TemplateFlags>();
  app.add_option("model_dir", f->model_dir, "model or tokenizer folder")->required()->check(CLI::ExistingDirectory);
  app.add_option("--file", f->file, "JSONL input (default: standard input)")->check(CLI::ExistingFile);
  app.add_flag("--add-generation-prompt", f->add_generation_prompt, "end with the assistant's turn header");
  app.add_option("--chat-template", f->chat_template_file, "a .jinja file (or .json with \"chat_template\") instead of the folder's");
  app.add_option("--template-name", f->template_name, "one of the folder's named templates (e.g. tool_use)");
  return [f] {
    const data::Tokenizer tok = data::Tokenizer::load(f->model_dir);
    const data::JinjaChatTemplate tmpl = load_template(*f);
    const int failed = filter_jsonl(f->file, [&](const nlohmann::ordered_json& in) {
      return render_record(tok, tmpl, in, f->add_generation_prompt);
    });
    if (failed > 0)
      throw_invalid(std::to_string(failed) + " line(s) could not be rendered (each named above; the others were written)",
                    {.file = f->file.empty() ? "<stdin>" : f->file});
  };
}

}  // namespace fw::apps
