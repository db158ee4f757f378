// The self-pipe trick: handlers for the launcher's signals write the signal number into a
// pipe, so the supervision loop sees signals as readable bytes in the same poll() as the
// ranks' output, with no work done inside a handler.
#pragma once

#include <csignal>
#include <vector>

namespace fw::launch {

class SignalPipe {
 public:
  // Installs the handlers for `signals` and ignores SIGPIPE (a closed stdout must not kill
  // the launcher while ranks run). One instance at a time; the destructor restores all.
  explicit SignalPipe(const std::vector<int>& signals);
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  int fd() const { return read_fd_; }  // readable when a signal arrived
  std::vector<int> take();             // the signals that arrived since the last call, in order

 private:
  int read_fd_ = -1;
  std::vector<int> signals_;
  std::vector<struct sigaction> previous_;
  struct sigaction previous_pipe_{};
};

// Blocks every signal for the lifetime of the object (around fork(), so no handler of the
// launcher runs in a child before it resets them).
class BlockSignals {
 public:
  BlockSignals();
  ~BlockSignals();
  BlockSignals(const BlockSignals&) = delete;
  BlockSignals& operator=(const BlockSignals&) = delete;

 private:
  sigset_t previous_;
};

}  // namespace fw::launch
