// The flywheel's manifest (OUTPUT_DIR/manifest.json): one entry per stage, in order, with
// its status, the sha256 of its inputs (resolved recipes, data, the checkpoints it starts
// from) and its outputs. `flywheel run` skips finished stages, resumes the first
// unfinished one, and refuses to go on when a finished stage's inputs have changed
// (a changed recipe would otherwise mix two experiments in one run folder).
// Written atomically after every change.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace fw::flywheel {

// A stage's folder under the run folder: "i1.dpo" -> "i1/dpo" ("split" -> "split").
std::string stage_folder(const std::string& id);

class Manifest {
 public:
  explicit Manifest(std::string path);  // loads it when it exists; fw::Error if it is corrupt

  // nullopt: never started. Otherwise "running" or "done".
  std::string status(const std::string& stage) const;
  const nlohmann::json& outputs(const std::string& stage) const;  // of a done stage

  // Starts (or resumes) a stage. A done stage whose inputs differ is an error naming the
  // stage; a running one with other inputs starts over with the new inputs recorded.
  // Returns true when the stage is already done (skip it). `restart` (optional) is set
  // when the stage starts afresh (no entry, or other inputs): whatever a previous attempt
  // left in its folder was made from other inputs and must not be resumed.
  bool begin(const std::string& stage, const std::string& inputs_sha256, bool* restart = nullptr);
  void finish(const std::string& stage, nlohmann::json outputs);

  const nlohmann::json& json() const { return j_; }

 private:
  nlohmann::json* find(const std::string& stage);
  const nlohmann::json* find(const std::string& stage) const;
  void save() const;
  std::string path_;
  nlohmann::json j_;
};

}  // namespace fw::flywheel
