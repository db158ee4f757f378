#include "trainer/run_state.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "trainer/checkpoint_dir.h"
#include "trainer/optim.h"
#include "trainer/rng_state.h"

namespace fw::trainer {
namespace fs = std::filesystem;

std::string save_run_checkpoint(const std::string& output_dir, const RunState& s, torch::optim::Optimizer& optimizer,
                                const std::function<void(const std::string& dir)>& write_model,
                                const std::string& config_yaml, int keep_last) {
  // Data parallel: every rank holds the same state; rank 0 writes it.
  if (log::rank() != 0) return (fs::path(output_dir) / checkpoint_dir_name(s.step)).string();
  return save_checkpoint(output_dir, s.step, [&](const std::string& dir) {
    write_model(dir);
    const fs::path state_dir = fs::path(dir) / kTrainerStateDir;
    save_optimizer(optimizer, (state_dir / "optimizer.pt").string());
    save_rng_state((state_dir / "rng.pt").string());
    nlohmann::ordered_json j = {{"step", s.step}, {"epoch", s.cursor.epoch}, {"micro_batch", s.cursor.micro_batch},
                                {"tokens_seen", s.tokens_seen}, {"skipped_steps", s.skipped_steps},
                                {"world_size", log::world_size()}};
    write_file_atomic((state_dir / "state.json").string(), j.dump(2) + "\n");
    write_file_atomic((state_dir / "config.yaml").string(), config_yaml);
  }, {.keep_last = keep_last});
}

RunState load_run_state(const std::string& checkpoint_dir, torch::optim::Optimizer& optimizer) {
  const fs::path state_dir = fs::path(checkpoint_dir) / kTrainerStateDir;
  load_optimizer(optimizer, (state_dir / "optimizer.pt").string());
  load_rng_state((state_dir / "rng.pt").string());
  const std::string file = (state_dir / "state.json").string();
  const nlohmann::json j = read_json_file(file);
  try {
    RunState s;
    s.step = j.at("step").get<int64_t>();
    s.cursor.epoch = j.at("epoch").get<int64_t>();
    s.cursor.micro_batch = j.at("micro_batch").get<int64_t>();
    s.tokens_seen = j.at("tokens_seen").get<int64_t>();
    s.skipped_steps = j.value("skipped_steps", int64_t{0});
    const int64_t world = j.value("world_size", int64_t{1});
    if (world != log::world_size())
      throw_invalid("checkpoint " + checkpoint_dir + " was written by a run of " + std::to_string(world) +
                        " rank(s); this run has " + std::to_string(log::world_size()) +
                        " (the data order and batch depend on it)",
                    {.file = file, .key = "world_size",
                     .hint = "resume with " + std::to_string(world) + " rank(s), or set checkpoint.resume: never"});
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw_invalid(std::string("bad trainer state: ") + e.what(), {.file = file});
  }
}

}  // namespace fw::trainer
