#include "launch/launcher.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "launch/exit_status.h"
#include "launch/free_port.h"
#include "launch/line_prefixer.h"
#include "launch/rank_env.h"
#include "launch/rank_process.h"
#include "launch/signal_pipe.h"

namespace fw::launch {
namespace {

using Clock = std::chrono::steady_clock;

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed or broken stdout: the ranks' output is dropped, they still run
    done += static_cast<size_t>(n);
  }
}

std::string seconds(double s) {
  std::ostringstream out;
  out << s << " s";
  return out.str();
}

void note(const std::string& message) { write_all(2, "flywheel-launch: " + message + "\n"); }

struct Rank {
  int rank = 0;
  RankProcess proc;
  bool running = false;
  ExitStatus status;
  LinePrefixer out{""}, err{""};
};

std::string rank_label(const Rank& r) {
  return "rank " + std::to_string(r.rank) + " (pid " + std::to_string(r.proc.pid) + ")";
}

class Supervisor {
 public:
  explicit Supervisor(const Options& opts) : opts_(opts) {}

  int run(int port);

 private:
  bool start(int port);
  void signal_running(int sig);
  void begin_stop(int sig);
  void on_signal(int sig);
  void reap();
  void on_exit(Rank& r, int status);
  void read_output(int fd);
  void close_stream(Rank& r, int& fd, LinePrefixer& prefixer, int target);
  bool any_running() const;
  bool any_open() const;

  const Options& opts_;
  std::vector<Rank> ranks_;
  bool stopping_ = false;
  std::optional<Clock::time_point> kill_at_;   // when the ranks still alive get SIGKILL
  std::optional<Clock::time_point> drain_until_;  // the last moment to read leftovers' output
  bool killed_ = false;
  std::optional<ExitStatus> failure_;  // the first rank that failed
  int interrupted_by_ = 0;             // the first signal the launcher got
  bool start_failed_ = false;
};

bool Supervisor::any_running() const {
  return std::any_of(ranks_.begin(), ranks_.end(), [](const Rank& r) { return r.running; });
}

bool Supervisor::any_open() const {
  return std::any_of(ranks_.begin(), ranks_.end(), [](const Rank& r) { return r.proc.out_fd >= 0 || r.proc.err_fd >= 0; });
}

// Signals each rank's process group while its leader is not yet reaped (before that its
// pid, and so the group id, cannot have been reused).
void Supervisor::signal_running(int sig) {
  for (Rank& r : ranks_)
    if (r.running && ::killpg(r.proc.pid, sig) != 0) ::kill(r.proc.pid, sig);
}

// SIGTERM (or the launcher's own SIGINT) to every rank, SIGKILL after the grace period.
void Supervisor::begin_stop(int sig) {
  stopping_ = true;
  signal_running(sig);
  const double grace_ms = std::min(opts_.grace_seconds, 1e9) * 1000;  // 1e9 s: "never", without overflow
  kill_at_ = Clock::now() + std::chrono::milliseconds(std::llround(grace_ms));
}

bool Supervisor::start(int port) {
  const std::vector<std::string> parent = current_environment();
  if (sets_omp_num_threads(parent, opts_))
    note("setting OMP_NUM_THREADS=1 for each rank to avoid overloading the node; set it yourself to tune it");
  const int world = opts_.nnodes * opts_.nproc_per_node;
  note("starting " + std::to_string(opts_.nproc_per_node) + " rank(s) on node " + std::to_string(opts_.node_rank) +
       " of " + std::to_string(opts_.nnodes) + " (world size " + std::to_string(world) +
       ", MASTER_ADDR=" + opts_.master_addr + " MASTER_PORT=" + std::to_string(port) + ")");
  ranks_.reserve(opts_.nproc_per_node);
  for (int local = 0; local < opts_.nproc_per_node; ++local) {
    Rank r;
    r.rank = opts_.node_rank * opts_.nproc_per_node + local;
    r.out = LinePrefixer(rank_prefix(r.rank));
    r.err = LinePrefixer(rank_prefix(r.rank));
    try {
      r.proc = spawn_rank(opts_.program_path, opts_.command, rank_environment(parent, opts_, local, port));
    } catch (const Error& e) {
      note("cannot start rank " + std::to_string(r.rank) + ": " + e.what() +
           (ranks_.empty() ? "" : "; stopping the other ranks"));
      start_failed_ = true;
      begin_stop(SIGTERM);
      return false;
    }
    r.running = true;
    ranks_.push_back(std::move(r));
  }
  return true;
}

void Supervisor::on_signal(int sig) {
  if (sig == SIGCHLD) return;  // reaped after every wake-up
  if (!stopping_) {
    interrupted_by_ = sig;
    const int forward = sig == SIGHUP ? SIGTERM : sig;
    note("got " + signal_name(sig) + "; sending " + signal_name(forward) + " to the ranks (a second signal, or " +
         seconds(opts_.grace_seconds) + " without exiting, kills them)");
    begin_stop(forward);
  } else if (!killed_) {
    note("got " + signal_name(sig) + " while stopping; killing the ranks");
    killed_ = true;
    signal_running(SIGKILL);
  }
}

void Supervisor::on_exit(Rank& r, int status) {
  r.running = false;
  r.status = from_wait_status(status);
  if (r.status.ok()) return;
  if (!stopping_) {
    failure_ = r.status;
    note(rank_label(r) + " " + r.status.describe() + (any_running() ? "; stopping the other ranks" : ""));
    begin_stop(SIGTERM);
  } else {
    note(rank_label(r) + " " + r.status.describe());
  }
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (Rank& r : ranks_)
      if (r.running && r.proc.pid == pid) on_exit(r, status);
  }
}

void Supervisor::close_stream(Rank& r, int& fd, LinePrefixer& prefixer, int target) {
  write_all(target, prefixer.finish());
  ::close(fd);
  fd = -1;
}

void Supervisor::read_output(int fd) {
  for (Rank& r : ranks_) {
    const bool is_out = r.proc.out_fd == fd;
    if (!is_out && r.proc.err_fd != fd) continue;
    int& rank_fd = is_out ? r.proc.out_fd : r.proc.err_fd;
    LinePrefixer& prefixer = is_out ? r.out : r.err;
    const int target = is_out ? 1 : 2;
    char buf[65536];
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      close_stream(r, rank_fd, prefixer, target);
    } else {
      write_all(target, prefixer.feed(std::string_view(buf, static_cast<size_t>(n))));
    }
    return;
  }
}

int Supervisor::run(int port) {
  SignalPipe signals({SIGINT, SIGTERM, SIGHUP, SIGCHLD});
  start(port);
  for (;;) {
    const bool running = any_running();
    if (!running && !any_open()) break;
    // Once every rank has ended, read what is left in the pipes and stop when they are
    // empty (at most 2 s): a process a rank left behind may hold a pipe open and write on;
    // it is not waited for.
    int timeout_ms = -1;
    if (!running) {
      if (!drain_until_) drain_until_ = Clock::now() + std::chrono::seconds(2);
      if (Clock::now() >= *drain_until_) break;
      timeout_ms = 0;
    } else if (kill_at_ && !killed_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*kill_at_ - Clock::now()).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, 1000000));
    }
    std::vector<pollfd> fds = {{signals.fd(), POLLIN, 0}};
    for (const Rank& r : ranks_)
      for (int fd : {r.proc.out_fd, r.proc.err_fd})
        if (fd >= 0) fds.push_back({fd, POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) {
      note(std::string("poll failed: ") + std::strerror(errno) + "; killing the ranks");
      signal_running(SIGKILL);
      break;
    }
    if (!running && ready == 0) break;
    if (ready > 0) {
      if (fds[0].revents & POLLIN)
        for (int sig : signals.take()) on_signal(sig);
      for (size_t i = 1; i < fds.size(); ++i)
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_output(fds[i].fd);
    }
    reap();
    if (kill_at_ && !killed_ && any_running() && Clock::now() >= *kill_at_) {
      std::string alive;
      for (const Rank& r : ranks_)
        if (r.running) alive += (alive.empty() ? "" : ", ") + std::to_string(r.rank);
      note("rank(s) " + alive + " still running after the grace period; sending SIGKILL");
      killed_ = true;
      signal_running(SIGKILL);
    }
  }
  // What is left: partial lines of pipes still held open by leftovers, and their ranks' zombies.
  for (Rank& r : ranks_) {
    if (r.proc.out_fd >= 0) close_stream(r, r.proc.out_fd, r.out, 1);
    if (r.proc.err_fd >= 0) close_stream(r, r.proc.err_fd, r.err, 2);
  }
  while (any_running()) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) break;
    for (Rank& r : ranks_)
      if (r.running && r.proc.pid == pid) on_exit(r, status);
  }
  if (failure_) return failure_->shell_code();
  if (start_failed_) return 1;
  if (interrupted_by_) return 128 + interrupted_by_;
  return 0;
}

}  // namespace

int run_launcher(Options opts) {
  validate(opts);
  const int port = opts.master_port == 0 ? pick_free_port() : opts.master_port;
  Supervisor supervisor(opts);
  return supervisor.run(port);
}

}  // namespace fw::launch
