#include "apps/template_kwargs_flag.h"

#include <CLI/CLI.hpp>

#include "core/error.h"

namespace fw::apps {

void add_template_kwargs_flag(CLI::App& app, std::string& text) {
  app.add_option("--chat-template-kwargs", text,
                 "JSON object of keyword arguments for the model's own Jinja template, e.g. '{\"enable_thinking\": false}'");
}

nlohmann::ordered_json template_kwargs_from_flag(const std::string& text) {
  if (text.empty()) return nlohmann::ordered_json::object();
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(std::string("not valid JSON: ") + e.what(), {.key = "--chat-template-kwargs"});
  }
  if (!j.is_object()) throw_invalid("must be a JSON object {\"name\": value, ...}", {.key = "--chat-template-kwargs"});
  return j;
}

}  // namespace fw::apps
