// --chat-template-kwargs JSON: keyword arguments for a model's own Jinja template on the
// command line, as vLLM's chat_template_kwargs and apply_chat_template(**kwargs) take them
// (e.g. '{"enable_thinking": false}' for Qwen3).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace fw::apps {

// Adds the flag to `app`, filling `text`.
void add_template_kwargs_flag(CLI::App& app, std::string& text);
// The flag's object ({} when not given); anything but a JSON object throws fw::Error naming
// the flag.
nlohmann::ordered_json template_kwargs_from_flag(const std::string& text);

}  // namespace fw::apps
