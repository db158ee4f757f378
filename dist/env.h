// Where this process sits in a distributed run, read from the environment the launchers
// set: torchrun (and flywheel-launch) set RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR and MASTER_PORT, and torchrun also TORCHELASTIC_USE_AGENT_STORE=True (its
// agent already hosts the rendezvous store: every rank connects as a client). Under
// Slurm's srun without those, SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID (and
// SLURM_NTASKS_PER_NODE) give the ranks; MASTER_ADDR and MASTER_PORT must still be set
// (e.g. MASTER_ADDR from `scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1`).
// With none of them set, the process is rank 0 of 1.
#pragma once

#include <cstdlib>
#include <functional>
#include <string>

namespace fw::dist {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;    // TORCHELASTIC_USE_AGENT_STORE: connect to the agent's store
  int restart_count = 0;       // TORCHELASTIC_RESTART_COUNT: namespaces the store's keys
  std::string source = "none"; // "torchrun" (or flywheel-launch), "slurm" or "none"

  bool distributed() const { return world_size > 1; }
  std::string describe() const;  // "rank 1 of 4 (local 1 of 2), store 10.0.0.1:29500, from torchrun"
};

using EnvLookup = std::function<const char*(const char*)>;

// Reads and validates the variables; a missing, malformed or inconsistent one is an
// fw::Error (InvalidInput) naming the variable, before any work starts.
DistEnv read_dist_env(const EnvLookup& getenv = [](const char* name) { return std::getenv(name); });

}  // namespace fw::dist
