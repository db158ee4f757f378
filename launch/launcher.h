// flywheel-launch's engine: start the ranks of this node with torchrun's environment,
// prefix their output, forward SIGINT/SIGTERM, and stop everything when one rank fails.
#pragma once

#include "launch/options.h"

namespace fw::launch {

// Validates `opts` (throws fw::Error InvalidInput, exit code 2), starts
// opts.nproc_per_node ranks and supervises them until all have ended. Returns the exit
// code for main():
//   0            every rank exited 0
//   its code     the first rank that failed (exit code, or 128 + signal); the others got
//                SIGTERM, and SIGKILL if still alive after opts.grace_seconds
//   128 + sig    the launcher got SIGINT / SIGTERM / SIGHUP and forwarded it (SIGHUP as
//                SIGTERM); a second signal, or the grace period running out, SIGKILLs
//   1            a rank could not be started (fork failed)
// The launcher's own messages go to stderr, each line starting "flywheel-launch: ".
int run_launcher(Options opts);

}  // namespace fw::launch
