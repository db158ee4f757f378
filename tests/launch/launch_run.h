// Running the `flywheel-launch` binary from the process tests: in the background (to
// signal it) or to completion, with its stdout and stderr captured, and checks on pids.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace fw::testing {

std::string launch_bin();  // the build's bin/flywheel-launch

struct LaunchRun {
  pid_t pid = -1;
  std::string out_path, err_path;
};

struct LaunchResult {
  int code = -1;         // exit code; 128 + signal if the launcher itself was killed
  bool timed_out = false;  // it was still running after the timeout (and was SIGKILLed)
  double seconds = 0;    // from start to exit
  std::string out, err;  // what it wrote
};

// Starts `flywheel-launch ARGS...` with `unset_env` removed from its environment.
LaunchRun start_launch(const std::vector<std::string>& args, const std::vector<std::string>& unset_env = {});
LaunchResult wait_launch(const LaunchRun& run, double timeout_s = 20);
inline LaunchResult run_launch(const std::vector<std::string>& args, const std::vector<std::string>& unset_env = {}) {
  return wait_launch(start_launch(args, unset_env));
}

// Whether `pid` is a live process (a zombie does not count).
bool pid_alive(pid_t pid);
// Waits until `path` exists (true) or `timeout_s` passes (false).
bool wait_for_file(const std::string& path, double timeout_s = 10);
// Waits until `pid` is gone (true) or `timeout_s` passes (false).
bool wait_gone(pid_t pid, double timeout_s = 5);
// The integer in a file (a pid written by a rank), -1 if unreadable.
pid_t read_pid(const std::string& path);
std::vector<std::string> lines(const std::string& text);

}  // namespace fw::testing
