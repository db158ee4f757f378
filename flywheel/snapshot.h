// A target snapshot of the flywheel (<target>-I0, <target>-I1-sft, ...): its model folder
// and what identifies its weights, as the manifest records it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fw::flywheel {

struct Snapshot {
  std::string name, path;
  // What identifies the weights: for a snapshot made in the run, the inputs hash of the
  // stage that made it (a done stage's output never changes); for a given start, the
  // sha256 of its model files (checkpoint_sha256).
  std::string sha;
  int iteration = 0;
  std::string stage;
};

nlohmann::json snapshot_json(const Snapshot& s);
Snapshot snapshot_from(const nlohmann::json& j);

// One sha256 over the files' paths and contents, in order.
std::string files_sha(const std::vector<std::string>& files);

// The content hash of a model folder: config.json, the safetensors weights and their
// shard index, the tokenizer (tokenizer.model, tokenizer.json, tokenizer_config.json) and
// chat_template.jinja, by file name (not by the folder's path, so a moved or copied checkpoint
// keeps its identity and a rewritten one does not). fw::Error when there are no weights.
std::string checkpoint_sha256(const std::string& dir);

}  // namespace fw::flywheel
