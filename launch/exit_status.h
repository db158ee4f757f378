// How a rank ended, from its waitpid() status: the exit code the launcher passes on
// (the program's code, or 128 + signal as shells report it) and the words for it.
#pragma once

#include <string>

namespace fw::launch {

struct ExitStatus {
  bool signaled = false;  // killed by a signal (else it exited)
  int code = 0;           // the exit code, or the signal number when `signaled`

  bool ok() const { return !signaled && code == 0; }
  int shell_code() const { return signaled ? 128 + code : code; }  // what `$?` would be
  std::string describe() const;  // "exited with code 2" | "was killed by signal 9 (SIGKILL)"
};

ExitStatus from_wait_status(int status);

// "SIGKILL" for 9, ..., "signal 42" for one without a name here.
std::string signal_name(int sig);

}  // namespace fw::launch
