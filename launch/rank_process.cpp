#include "launch/rank_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "launch/signal_pipe.h"

namespace fw::launch {
namespace {

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// dup2 that also works when `fd` already is `target` (dup2 would keep FD_CLOEXEC then).
void move_fd(int fd, int target) {
  if (fd == target)
    ::fcntl(fd, F_SETFD, 0);
  else
    ::dup2(fd, target);
}

void write_str(int fd, const char* s) { [[maybe_unused]] auto n = ::write(fd, s, std::strlen(s)); }

// In the child, between fork() and exec: only plain system calls.
[[noreturn]] void exec_child(pid_t launcher, int null_fd, int out_w, int err_w, const std::string& path,
                             char* const* argv, char* const* envp) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != launcher) ::_exit(127);  // the launcher died before prctl took effect
  move_fd(null_fd, 0);
  move_fd(out_w, 1);
  move_fd(err_w, 2);
  // Dispositions the program must not inherit: the launcher's handlers (reset anyway by
  // exec, but one could run before it) and its ignored SIGPIPE (kept across exec).
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(path.c_str(), argv, envp);
  const int err = errno;
  write_str(2, "flywheel-launch: cannot execute ");
  write_str(2, path.c_str());
  write_str(2, ": ");
  write_str(2, std::strerror(err));
  write_str(2, "\n");
  ::_exit(127);
}

}  // namespace

RankProcess spawn_rank(const std::string& path, const std::vector<std::string>& argv,
                       const std::vector<std::string>& env) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw_runtime(std::string("cannot create a pipe: ") + std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    throw_runtime(std::string("cannot create a pipe: ") + std::strerror(e));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<char*> c_argv = c_strings(argv), c_env = c_strings(env);
  const pid_t launcher = ::getpid();

  pid_t pid;
  int fork_errno = 0;
  {
    BlockSignals blocked;
    pid = ::fork();
    if (pid == 0) exec_child(launcher, null_fd, out[1], err[1], path, c_argv.data(), c_env.data());
    fork_errno = errno;
  }
  ::close(out[1]);
  ::close(err[1]);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    throw_runtime(std::string("fork failed: ") + std::strerror(fork_errno));
  }
  ::setpgid(pid, pid);  // also here, so the group exists before the launcher signals it
  return RankProcess{pid, out[0], err[0]};
}

}  // namespace fw::launch
