#include "data/chat/template_source.h"

#include <filesystem>

#include "core/error.h"
#include "core/json_io.h"
#include "core/strings.h"

namespace fw::data {
namespace fs = std::filesystem;
namespace {

std::optional<nlohmann::json> read_if_present(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  return read_json_file(path.string());
}

// tokenizer_config.json's chat_template: a string, or named entries.
std::optional<TemplateSource> from_config_entry(const nlohmann::json& t, const std::string& file,
                                                const std::string& name) {
  if (t.is_null()) return std::nullopt;
  if (t.is_string()) {
    if (!name.empty() && name != "default")
      throw_invalid("the folder has one unnamed chat template, not one named '" + name + "'",
                    {.file = file, .key = "chat_template"});
    return TemplateSource{t.get<std::string>(), file};
  }
  if (!t.is_array())
    throw_invalid("must be a string or a list of {\"name\", \"template\"}", {.file = file, .key = "chat_template"});
  std::vector<std::string> names;
  const nlohmann::json* chosen = nullptr;
  for (size_t i = 0; i < t.size(); ++i) {
    const auto& e = t[i];
    const std::string key = "chat_template[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("template") ||
        !e["template"].is_string())
      throw_invalid("must be {\"name\": string, \"template\": string}", {.file = file, .key = key});
    names.push_back(e["name"].get<std::string>());
    if (names.back() == (name.empty() ? "default" : name)) chosen = &e;
  }
  if (!chosen && name.empty() && t.size() == 1) chosen = &t[0];
  if (!chosen)
    throw_invalid("no chat template named '" + (name.empty() ? std::string("default") : name) + "'",
                  {.file = file, .key = "chat_template", .hint = "the folder has: " + join(names, ", ")});
  return TemplateSource{(*chosen)["template"].get<std::string>(), file + " (" + (*chosen)["name"].get<std::string>() + ")"};
}

}  // namespace

std::optional<TemplateSource> find_chat_template(const std::string& model_dir, const std::string& name) {
  const fs::path dir(model_dir);
  std::error_code ec;
  const fs::path jinja = dir / "chat_template.jinja";
  if (name.empty() && fs::is_regular_file(jinja, ec)) return TemplateSource{read_text_file(jinja.string()), jinja.string()};
  if (auto j = read_if_present(dir / "chat_template.json")) {
    const std::string file = (dir / "chat_template.json").string();
    if (!j->is_object() || !j->contains("chat_template"))
      throw_invalid("has no \"chat_template\"", {.file = file, .key = "chat_template"});
    if (auto t = from_config_entry((*j)["chat_template"], file, name)) return t;
  }
  if (auto j = read_if_present(dir / "tokenizer_config.json")) {
    const std::string file = (dir / "tokenizer_config.json").string();
    if (j->is_object() && j->contains("chat_template")) return from_config_entry((*j)["chat_template"], file, name);
  }
  if (!name.empty())
    throw_invalid("the model folder has no chat template named '" + name + "'", {.file = model_dir});
  return std::nullopt;
}

TemplateSource read_chat_template_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw_invalid("no such chat template file", {.file = path});
  if (fs::path(path).extension() == ".json") {
    const nlohmann::json j = read_json_file(path);
    if (!j.is_object() || !j.contains("chat_template"))
      throw_invalid("has no \"chat_template\"", {.file = path, .key = "chat_template"});
    auto t = from_config_entry(j["chat_template"], path, "");
    if (!t) throw_invalid("\"chat_template\" is null", {.file = path, .key = "chat_template"});
    return *t;
  }
  return TemplateSource{read_text_file(path), path};
}

nlohmann::ordered_json special_tokens_context(const std::string& model_dir) {
  static const char* const kNames[] = {"bos_token", "unk_token", "sep_token", "pad_token",
                                       "cls_token", "mask_token", "eos_token"};
  const fs::path dir(model_dir);
  auto content = [](const nlohmann::json& v) -> std::optional<std::string> {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return std::nullopt;
  };
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  // special_tokens_map.json first; tokenizer_config.json overrides it.
  for (const char* file : {"special_tokens_map.json", "tokenizer_config.json"}) {
    auto j = read_if_present(dir / file);
    if (!j || !j->is_object()) continue;
    for (const char* key : kNames)
      if (j->contains(key))
        if (auto s = content((*j)[key])) out[key] = *s;
    if (j->contains("additional_special_tokens") && (*j)["additional_special_tokens"].is_array()) {
      nlohmann::ordered_json extra = nlohmann::ordered_json::array();
      for (const auto& v : (*j)["additional_special_tokens"])
        if (auto s = content(v)) extra.push_back(*s);
      out["additional_special_tokens"] = extra;
    }
  }
  return out;
}

}  // namespace fw::data
