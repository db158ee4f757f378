#include "dist/env.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace fw::dist {
namespace {

const char* const kLaunchHint =
    "start every rank with torchrun, flywheel-launch or srun (see README, 'Scaling out')";

bool has(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v != nullptr && *v != '\0';
}

int integer(const EnvLookup& env, const char* name, int lo, int hi) {
  const std::string text = env(name);
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
    throw_invalid(std::string(name) + "='" + text + "' is not an integer in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]",
                  {.key = name, .hint = kLaunchHint});
  return static_cast<int>(v);
}

// SLURM_NTASKS_PER_NODE may read "4" or "4(x2)"; the tasks on this node come first.
int slurm_tasks_per_node(const EnvLookup& env) {
  if (!has(env, "SLURM_NTASKS_PER_NODE")) return -1;
  const std::string text = env("SLURM_NTASKS_PER_NODE");
  const int n = std::atoi(text.c_str());
  return n > 0 ? n : -1;
}

}  // namespace

std::string DistEnv::describe() const {
  return "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + " (local " +
         std::to_string(local_rank) + " of " + std::to_string(local_world_size) + "), store " + master_addr + ":" +
         std::to_string(master_port) + (agent_store ? " (torchrun agent's)" : "") + ", from " + source;
}

DistEnv read_dist_env(const EnvLookup& env) {
  DistEnv d;
  if (has(env, "WORLD_SIZE") || has(env, "RANK")) {
    d.source = "torchrun";
    for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK"})
      if (!has(env, name)) throw_invalid(std::string(name) + " is not set but RANK/WORLD_SIZE are", {.key = name, .hint = kLaunchHint});
    d.world_size = integer(env, "WORLD_SIZE", 1, 1 << 20);
    d.rank = integer(env, "RANK", 0, d.world_size - 1);
    d.local_world_size = has(env, "LOCAL_WORLD_SIZE") ? integer(env, "LOCAL_WORLD_SIZE", 1, d.world_size) : d.world_size;
    d.local_rank = integer(env, "LOCAL_RANK", 0, d.local_world_size - 1);
    d.agent_store = has(env, "TORCHELASTIC_USE_AGENT_STORE") &&
                    std::string(env("TORCHELASTIC_USE_AGENT_STORE")) == "True";
    if (has(env, "TORCHELASTIC_RESTART_COUNT")) d.restart_count = integer(env, "TORCHELASTIC_RESTART_COUNT", 0, 1 << 20);
  } else if (has(env, "SLURM_PROCID") && has(env, "SLURM_NTASKS")) {
    d.source = "slurm";
    d.world_size = integer(env, "SLURM_NTASKS", 1, 1 << 20);
    d.rank = integer(env, "SLURM_PROCID", 0, d.world_size - 1);
    const int per_node = slurm_tasks_per_node(env);
    d.local_world_size = per_node > 0 ? per_node : d.world_size;
    d.local_rank = has(env, "SLURM_LOCALID") ? integer(env, "SLURM_LOCALID", 0, d.local_world_size - 1) : 0;
  } else {
    return d;  // rank 0 of 1
  }
  if (d.world_size > 1) {
    if (!has(env, "MASTER_ADDR"))
      throw_invalid("MASTER_ADDR is not set (" + std::to_string(d.world_size) + " ranks need the address of the store)",
                    {.key = "MASTER_ADDR", .hint = kLaunchHint});
    if (!has(env, "MASTER_PORT"))
      throw_invalid("MASTER_PORT is not set", {.key = "MASTER_PORT", .hint = kLaunchHint});
  }
  if (has(env, "MASTER_ADDR")) d.master_addr = env("MASTER_ADDR");
  if (has(env, "MASTER_PORT")) d.master_port = integer(env, "MASTER_PORT", 1, 65535);
  if (d.world_size % d.local_world_size != 0)
    throw_invalid("WORLD_SIZE " + std::to_string(d.world_size) + " is not a multiple of LOCAL_WORLD_SIZE " +
                      std::to_string(d.local_world_size) + " (every node must run as many ranks)",
                  {.key = "LOCAL_WORLD_SIZE", .hint = kLaunchHint});
  return d;
}

}  // namespace fw::dist
