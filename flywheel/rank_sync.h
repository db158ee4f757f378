// How the ranks of a data-parallel `flywheel run` keep in step. Rank 0 leads: it alone
// battles, builds the data, evaluates and writes the manifest. When a stage's data is in
// place it writes <stage>/data/READY holding the stage's inputs hash; every rank then runs
// the stage's trainers (data-parallel themselves). The other ranks learn what rank 0 did
// from the manifest on the shared file system.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace fw::flywheel {

// The manifest's entry for stage `id` as it is on disk now ({} when absent or mid-rename).
nlohmann::json stage_on_disk(const std::string& manifest_path, const std::string& id);

// Waits until stage `id` is done, or (with a ready_dir) running with READY there matching
// its inputs hash; returns the entry. fw::Error (Runtime) after timeout_s. (A previous
// attempt's READY files are gone: rank 0 removes those of unfinished stages at start,
// and every rank waits for that at a startup barrier before polling.)
nlohmann::json wait_for_stage(const std::string& manifest_path, const std::string& id, const std::string& ready_dir,
                              int64_t timeout_s);

// Rank 0: the stage's data is written, the other ranks may start its trainers.
void mark_stage_ready(const std::string& ready_dir, const std::string& inputs_sha256);

// A yes/no that rank 0 decides and every rank acts on: rank 0 writes its `decision` to
// `file` and returns it; the other ranks wait for the file (fw::Error, Runtime, after
// timeout_s) and return what it says. A previous attempt's file must be gone first.
bool share_rank0_decision(const std::string& file, bool leader, bool decision, int64_t timeout_s);

}  // namespace fw::flywheel
