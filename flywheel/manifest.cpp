#include "flywheel/manifest.h"

#include <chrono>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"

namespace fw::flywheel {

std::string stage_folder(const std::string& id) {
  const size_t dot = id.find('.');
  return dot == std::string::npos ? id : id.substr(0, dot) + "/" + id.substr(dot + 1);
}

Manifest::Manifest(std::string path) : path_(std::move(path)) {
  if (std::filesystem::exists(path_)) {
    j_ = read_json_file(path_);
    if (!j_.is_object() || !j_.contains("stages") || !j_["stages"].is_array())
      throw_invalid("not a flywheel manifest (no \"stages\" list)", {.file = path_});
  } else {
    j_ = {{"format", "flywheel.manifest/1"}, {"stages", nlohmann::json::array()}};
  }
}

nlohmann::json* Manifest::find(const std::string& stage) {
  for (auto& s : j_["stages"])
    if (s.value("id", "") == stage) return &s;
  return nullptr;
}

const nlohmann::json* Manifest::find(const std::string& stage) const {
  for (const auto& s : j_["stages"])
    if (s.value("id", "") == stage) return &s;
  return nullptr;
}

std::string Manifest::status(const std::string& stage) const {
  const nlohmann::json* s = find(stage);
  return s ? s->value("status", "") : "";
}

const nlohmann::json& Manifest::outputs(const std::string& stage) const {
  static const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json* s = find(stage);
  return s && s->contains("outputs") ? (*s)["outputs"] : empty;
}

bool Manifest::begin(const std::string& stage, const std::string& inputs, bool* restart) {
  nlohmann::json* s = find(stage);
  if (restart) *restart = !s || s->value("inputs_sha256", "") != inputs;
  if (s && s->value("status", "") == "done") {
    if (s->value("inputs_sha256", "") != inputs)
      throw_invalid("stage " + stage + " is finished, but its inputs (recipe, data or starting checkpoint) have changed since",
                    {.file = path_, .key = stage,
                     .hint = "use a new output_dir, or delete this stage and the ones after it from the manifest to redo them"});
    return true;
  }
  if (!s) {
    j_["stages"].push_back({{"id", stage}});
    s = &j_["stages"].back();
  }
  (*s)["status"] = "running";
  (*s)["inputs_sha256"] = inputs;
  save();
  return false;
}

void Manifest::finish(const std::string& stage, nlohmann::json outputs) {
  nlohmann::json* s = find(stage);
  if (!s) throw_runtime("manifest: finishing stage " + stage + " that never began", {.file = path_});
  (*s)["status"] = "done";
  (*s)["outputs"] = std::move(outputs);
  save();
}

void Manifest::save() const { write_file_atomic(path_, j_.dump(2) + "\n"); }

}  // namespace fw::flywheel
