// Crash-safe checkpoint folders shared by every recipe (SFT, DPO, RM, PPO). No torch here:
// the recipe writes its files through a callback; this file owns the folder life cycle.
//
// Layout (OUTPUT_DIR is the run folder):
//
//   OUTPUT_DIR/checkpoint-00000020/          step zero-padded to 8 digits
//     config.json, model.safetensors, ...    Hugging Face files, written by the recipe
//     trainer_state/                         the recipe's state (optimizer, scheduler, RNG,
//       ...                                  data cursor, ...)
//       manifest.json                        written here, last: {"format_version": 1,
//                                            "step": 20, "created": "2024-...Z",
//                                            "files": {"model.safetensors":
//                                              {"bytes": n, "sha256": "..."}, ...}}
//   OUTPUT_DIR/.staging-checkpoint-00000020-<pid>/   only while a save is in progress
//
// A save writes everything into the staging folder, fsyncs every file and folder, then
// renames the staging folder to its final name (one atomic step), so a crash at any moment
// leaves either the old set of checkpoints or the new one, never a half-written
// checkpoint-* folder. Resume verifies the manifest (sizes, then sha256 of every file) and
// falls back to the previous checkpoint when the newest is torn or corrupt.
//
// Single writer: only one process (rank 0) saves into an OUTPUT_DIR at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fw::trainer {

inline constexpr int kCheckpointFormatVersion = 1;
inline constexpr const char* kTrainerStateDir = "trainer_state";
inline constexpr const char* kManifestPath = "trainer_state/manifest.json";  // in a checkpoint

struct CheckpointDirOptions {
  // Keep this many complete checkpoints (the one just saved included) and remove older
  // ones; 0 keeps all of them. Stale staging folders from crashed runs are always removed.
  int keep_last = 0;
  // Threads used to hash files (save and verify); 0 = min(4, hardware threads).
  int hash_threads = 0;
};

struct CheckpointInfo {
  std::string path;  // the checkpoint folder
  int64_t step = 0;  // from its manifest once verified (list_checkpoints: from the name)
};

// "checkpoint-00000020" for step 20 (wider when the step needs more than 8 digits).
std::string checkpoint_dir_name(int64_t step);

// The step in a folder name "checkpoint-<digits>", or nullopt for any other name.
std::optional<int64_t> parse_checkpoint_dir_name(std::string_view name);

// Saves one checkpoint: creates OUTPUT_DIR/.staging-checkpoint-<step>-<pid>/ (with an
// empty trainer_state/ inside), calls write_files(staging_dir), writes the manifest, fsyncs
// files and folders, renames the staging folder to OUTPUT_DIR/checkpoint-<step>/
// (atomically replacing an existing folder of the same step), then prunes (keep_last and
// stale staging folders). Returns the final path. If write_files or anything after it
// throws, the staging folder is removed, existing checkpoints are untouched, and the
// exception propagates.
std::string save_checkpoint(const std::string& output_dir, int64_t step,
                            const std::function<void(const std::string& staging_dir)>& write_files,
                            const CheckpointDirOptions& opts = {});

// Checks one checkpoint folder: the manifest exists and parses, its format_version is known,
// its step matches the folder name (when the name is checkpoint-<digits>), and every listed
// file exists with the listed size and sha256 (sizes are all checked before any hashing, so
// a truncated file is reported fast). Returns "" when valid, else one line naming the file
// and the problem, e.g. "trainer_state/optimizer.pt: sha256 mismatch (torn or corrupt)".
// hash_threads as in CheckpointDirOptions.
std::string verify_checkpoint(const std::string& path, int hash_threads = 0);

// The checkpoint-* folders of OUTPUT_DIR, newest (highest step) first, not verified.
// Empty when OUTPUT_DIR does not exist.
std::vector<CheckpointInfo> list_checkpoints(const std::string& output_dir);

// The newest checkpoint that verifies, or nullopt. Each newer one that does not verify is
// skipped with a warning such as "checkpoint-00000020: trainer_state/optimizer.pt: sha256
// mismatch (torn or corrupt); skipping it for the previous one".
std::optional<CheckpointInfo> find_latest_checkpoint(const std::string& output_dir,
                                                     int hash_threads = 0);

// The `resume:` setting of a recipe.
struct ResumeMode {
  enum class Kind {
    Auto,   // the newest valid checkpoint in OUTPUT_DIR, or start fresh if there is none
    Never,  // always start fresh
    Path,   // exactly this checkpoint folder; it must verify
  };
  Kind kind = Kind::Auto;
  std::string path;  // Kind::Path only
};

// "auto", "never" or a checkpoint folder path. Throws fw::Error (InvalidInput, key
// "resume") for an empty value.
ResumeMode parse_resume_mode(std::string_view text);

// The checkpoint to resume from (nullopt: start fresh), logging the decision. For
// Kind::Path an invalid or missing checkpoint throws fw::Error (InvalidInput) naming the
// folder and the exact problem.
std::optional<CheckpointInfo> resolve_resume(const ResumeMode& mode, const std::string& output_dir,
                                             int hash_threads = 0);

}  // namespace fw::trainer
