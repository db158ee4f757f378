// The environment each rank starts with: the launcher's own plus the variables torchrun
// sets (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, GROUP_WORLD_SIZE,
// ROLE_RANK, ROLE_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and OMP_NUM_THREADS=1 when several
// ranks share the node and it is not set already. TORCHELASTIC_USE_AGENT_STORE is removed:
// the launcher hosts no store, so rank 0 of the program must host it.
#pragma once

#include <string>
#include <vector>

#include "launch/options.h"

namespace fw::launch {

// "NAME=value" entries. `parent` is the launcher's environment in the same form; `port` is
// the resolved MASTER_PORT (Options::master_port, or the free port picked for 0).
std::vector<std::string> rank_environment(const std::vector<std::string>& parent, const Options& opts,
                                          int local_rank, int port);

// Whether rank_environment() sets OMP_NUM_THREADS=1 (as torchrun: more than one rank per
// node and the variable not already in `parent`), so the launcher can say so once.
bool sets_omp_num_threads(const std::vector<std::string>& parent, const Options& opts);

// The process's environment (environ) as "NAME=value" entries.
std::vector<std::string> current_environment();

}  // namespace fw::launch
