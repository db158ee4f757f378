#include "flywheel/rank_sync.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "dist/env.h"

namespace fs = std::filesystem;

namespace fw::flywheel {
namespace {

// READY in `ready_dir` holds `inputs`.
bool ready_for(const std::string& ready_dir, const std::string& inputs) {
  try {
    const std::string path = ready_dir + "/READY";
    if (!fs::exists(path)) return false;
    return read_text_file(path) == inputs;
  } catch (const std::exception&) {
    return false;  // removed or replaced between the checks: look again on the next poll
  }
}

}  // namespace

nlohmann::json stage_on_disk(const std::string& path, const std::string& id) {
  try {
    if (fs::exists(path)) {
      const nlohmann::json manifest = read_json_file(path);  // named: a range-for temporary would die early
      for (const auto& st : manifest["stages"])
        if (st.value("id", "") == id) return st;
    }
  } catch (const std::exception&) {
    // mid-rename: read again on the next poll
  }
  return nlohmann::json::object();
}

nlohmann::json wait_for_stage(const std::string& path, const std::string& id, const std::string& ready_dir,
                              int64_t timeout_s) {
  const auto start = std::chrono::steady_clock::now();
  auto last_note = start;
  for (;;) {
    nlohmann::json st = stage_on_disk(path, id);
    const std::string status = st.value("status", "");
    if (status == "done") return st;
    if (status == "running" && !ready_dir.empty() && ready_for(ready_dir, st.value("inputs_sha256", "-"))) return st;
    const auto now = std::chrono::steady_clock::now();
    if (now - start > std::chrono::seconds(timeout_s))
      throw_runtime("waited " + std::to_string(timeout_s) + " s for rank 0 to finish " + id,
                    {.file = path, .hint = "is rank 0 alive? (dist_wait_seconds)"});
    if (now - last_note > std::chrono::seconds(60)) {
      log::info_all_ranks("flywheel: waiting for rank 0: " + id);
      last_note = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void mark_stage_ready(const std::string& ready_dir, const std::string& inputs) {
  fs::create_directories(ready_dir);
  write_file_atomic(ready_dir + "/READY", inputs);
}

bool share_rank0_decision(const std::string& file, bool leader, bool decision, int64_t timeout_s) {
  if (leader) {
    write_file_atomic(file, decision ? "pass\n" : "fail\n");
    return decision;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (!fs::exists(file)) {
    if (std::chrono::steady_clock::now() > deadline)
      throw_runtime("rank " + std::to_string(dist::read_dist_env().rank) + " waited " + std::to_string(timeout_s) +
                        " s for rank 0's decision",
                    {.file = file, .key = "dist_wait_seconds"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return read_text_file(file).rfind("pass", 0) == 0;
}

}  // namespace fw::flywheel
