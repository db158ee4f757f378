// What `flywheel-launch` is asked to start: the torchrun-style topology (nodes x processes
// per node), the rendezvous address the ranks are told, and the program they run.
#pragma once

#include <string>
#include <vector>

namespace fw::launch {

struct Options {
  int nproc_per_node = 1;   // ranks started on this node (LOCAL_WORLD_SIZE), >= 1
  int nnodes = 1;           // nodes in the job, >= 1; WORLD_SIZE = nnodes * nproc_per_node
  int node_rank = 0;        // this node's index in [0, nnodes) (GROUP_RANK)
  std::string master_addr;  // MASTER_ADDR; "" = 127.0.0.1, which only a single node may use
  int master_port = 29500;  // MASTER_PORT in [0, 65535]; 0 = a free port here (single node only)
  double grace_seconds = 30;  // after SIGTERM, how long ranks may take before SIGKILL, >= 0
  std::vector<std::string> command;  // PROGRAM ARGS...; PROGRAM is looked up on PATH
  std::string program_path;  // set by validate(): PROGRAM resolved as execvp would
};

constexpr const char* kDefaultMasterAddr = "127.0.0.1";

// Checks `opts` and fills the derived fields (master_addr default, program_path).
// Throws fw::Error (InvalidInput) naming the option and what to do about it.
void validate(Options& opts);

// Where execvp would find `name`: a name containing '/' is taken as it is; otherwise the
// first executable regular file `dir/name` for dir in `path_env` (":"-separated, an empty
// entry meaning "."; nullptr means the default "/usr/local/bin:/usr/bin:/bin").
// Throws fw::Error (InvalidInput) when there is none, or it is not an executable file.
std::string resolve_program(const std::string& name, const char* path_env);

}  // namespace fw::launch
