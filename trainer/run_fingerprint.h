// What a run folder holds, and resuming only that. At a run's first start the trainer
// records in OUTPUT_DIR/fingerprint.json what determines its weights: the resolved recipe
// without the resume-safe keys, the sha256 of each data file's content and of the model,
// tokenizer and reference folders it starts from, and which trainer it is. A rerun into the
// same folder is compared key by key: a difference is refused (fw::Error InvalidInput,
// exit 2) naming every differing key, unless the folder holds nothing trained yet (no
// checkpoint, no final/, no tokenizer/). config.yaml is written only when it is true of
// the folder: at the first start, or when only resume-safe keys changed.
//
//   OUTPUT_DIR/fingerprint.json   {"format_version": 1,
//                                  "keys": {"recipe": "sft", "seed": "3", ...,
//                                           "data.train[0]": "<sha256>", "model.path": ""},
//                                  "files": {"/abs/data.jsonl": {"bytes", "mtime_ns",
//                                            "sha256"}, ...}}   (a hash cache, not compared)
//
// No torch here (trainer_core).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace fw::trainer {

inline constexpr const char* kFingerprintFile = "fingerprint.json";

// The recipe keys that may change when a run resumes: where and how fast it runs, how long
// it trains, how often it checkpoints and logs, and what it evaluates — never what the
// weights are made of. A name covers its sub-keys ("eval" covers eval.prompts). The one
// list; README's recipe reference repeats it.
const std::vector<std::string>& resume_safe_keys();
bool is_resume_safe(std::string_view dotted_key);

// The keys of a resolved recipe (yaml-cpp): each non-map value under its dotted path, in
// YAML's flow style ("model.from_scratch.hidden_size" -> "128", "data.train" ->
// "[a.jsonl, b.jsonl]"), in document order; comments are not values.
std::vector<std::pair<std::string, std::string>> yaml_keys(const std::string& yaml);

// A recipe key naming files or folders whose content determines the weights: it is
// fingerprinted by content (sha256), not by its path, so a moved file is the same input.
struct ContentKey {
  std::string key;                 // "data.train", "model.path", "ppo.reward_model_path", ...
  std::vector<std::string> paths;  // a list key's items; a single path ("" = unset) otherwise
  bool list = false;               // fingerprinted as key[0], key[1], ...
};

struct RunIdentity {
  std::string recipe;               // sft | dpo | rm | ppo
  std::string config_yaml;          // the resolved recipe (config::dump_yaml)
  std::vector<ContentKey> content;  // the recipe's path keys whose content matters
};

// The fingerprint of `id` (the JSON above). `previous_files` (a fingerprint's "files", or
// null) lets a file whose size and mtime are unchanged keep its recorded sha256 instead of
// being read again. A content path that does not exist is an fw::Error (InvalidInput)
// naming the key and the path.
nlohmann::ordered_json make_fingerprint(const RunIdentity& id, const nlohmann::ordered_json& previous_files);

// The differences between two fingerprints' "keys", one line per key, in order (a plain
// key only one side has is a field of another flywheel version, not a difference):
// "model.from_scratch.hidden_size: 128 -> 64" ("data.train[0]: sha256:1a2b.. of /a.jsonl ->
// sha256:3c4d.. of /a.jsonl" for a content key).
std::vector<std::string> fingerprint_differences(const nlohmann::ordered_json& recorded,
                                                 const nlohmann::ordered_json& current);

// What record_run found.
enum class RunFolder {
  Fresh,     // no run here yet (or nothing trained): fingerprint and config.yaml written
  Resumed,   // the same fingerprint (resume-safe keys may differ): config.yaml updated
  Adopted,   // a folder made before fingerprints, whose checkpoint's config.yaml matches
};

// Rank 0, at the start of a run and before anything else is written into OUTPUT_DIR: the
// check and the records described at the top. A folder from before fingerprints (no
// fingerprint.json) with checkpoints is compared against its newest checkpoint's
// trainer_state/config.yaml (its data cannot be checked: it is taken as unchanged) and
// adopted when only resume-safe keys differ; a tokenizer/ left without checkpoints is
// discarded (retrained). Throws fw::Error (InvalidInput) listing the differing keys.
RunFolder record_run(const std::string& output_dir, const RunIdentity& id);

// `--restart`: moves OUTPUT_DIR aside to OUTPUT_DIR.old-<YYYYmmdd-HHMMSS>[-N] and returns
// that path ("" when OUTPUT_DIR does not exist).
std::string move_run_aside(const std::string& output_dir);

}  // namespace fw::trainer
