#include "flywheel/snapshot.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/hash.h"

namespace fs = std::filesystem;

namespace fw::flywheel {

nlohmann::json snapshot_json(const Snapshot& s) {
  return {{"name", s.name}, {"path", s.path}, {"sha", s.sha}, {"iteration", s.iteration}, {"stage", s.stage}};
}

Snapshot snapshot_from(const nlohmann::json& j) {
  return {j.at("name"), j.at("path"), j.at("sha"), j.at("iteration"), j.at("stage")};
}

std::string files_sha(const std::vector<std::string>& files) {
  std::string all;
  for (const auto& f : files) all += f + ":" + sha256_file(f) + "\n";
  return sha256_hex(all);
}

std::string checkpoint_sha256(const std::string& dir) {
  std::vector<std::string> names;
  bool weights = false;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      // The weights, and what the stages train with besides them: the config, the tokenizer
      // and the chat template.
      const bool is_weights = e.path().extension() == ".safetensors";
      const bool counts = is_weights || name == "config.json" || name == "model.safetensors.index.json" ||
                          name == "tokenizer.model" || name == "tokenizer.json" || name == "tokenizer_config.json" ||
                          name == "chat_template.jinja";
      if (e.is_regular_file() && counts) {
        names.push_back(name);
        weights = weights || is_weights;
      }
    }
  if (!weights)
    throw_invalid("no model weights (*.safetensors) in the starting checkpoint folder",
                  {.file = dir, .key = "target.start", .hint = "a Hugging Face model folder: config.json, model.safetensors"});
  std::sort(names.begin(), names.end());
  std::string all;
  for (const auto& n : names) all += n + ":" + sha256_file(dir + "/" + n) + "\n";
  return sha256_hex("checkpoint:" + all);
}

}  // namespace fw::flywheel
