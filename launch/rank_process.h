// Starting one rank: PROGRAM in its own process group (so signals reach everything it
// started), stdin from /dev/null, stdout and stderr into pipes the launcher reads, and
// SIGKILL on the launcher's death (PR_SET_PDEATHSIG), so no rank outlives a killed launcher.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace fw::launch {

struct RankProcess {
  pid_t pid = -1;   // also its process group id
  int out_fd = -1;  // read end of its stdout
  int err_fd = -1;  // read end of its stderr
};

// `path`: the resolved program; `argv`: PROGRAM ARGS... (argv[0] as the user wrote it);
// `env`: "NAME=value" entries. Throws fw::Error (Runtime) if a pipe or fork() fails. If
// exec fails the child says why on its stderr and exits 127.
RankProcess spawn_rank(const std::string& path, const std::vector<std::string>& argv,
                       const std::vector<std::string>& env);

}  // namespace fw::launch
