#include "tests/launch/launch_run.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/test_tmp.h"

namespace fw::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Start times of the runs, so wait_launch can report the elapsed time.
std::vector<std::pair<pid_t, Clock::time_point>>& starts() {
  static std::vector<std::pair<pid_t, Clock::time_point>> s;
  return s;
}

}  // namespace

std::string launch_bin() { return FW_BINARY_DIR "/bin/flywheel-launch"; }

LaunchRun start_launch(const std::vector<std::string>& args, const std::vector<std::string>& unset_env) {
  static int counter = 0;
  LaunchRun run;
  const std::string base = tmp_dir() + "/launch" + std::to_string(counter++);
  run.out_path = base + ".out";
  run.err_path = base + ".err";
  const std::string program = launch_bin();
  std::vector<char*> argv = {const_cast<char*>(program.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  run.pid = fork();
  if (run.pid == 0) {
    const int out = ::open(run.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(run.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& name : unset_env) ::unsetenv(name.c_str());
    execv(argv[0], argv.data());
    _exit(127);
  }
  starts().push_back({run.pid, Clock::now()});
  return run;
}

LaunchResult wait_launch(const LaunchRun& run, double timeout_s) {
  LaunchResult r;
  Clock::time_point start = Clock::now();
  for (const auto& [pid, t] : starts())
    if (pid == run.pid) start = t;
  const auto deadline = start + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  int status = 0;
  for (;;) {
    if (waitpid(run.pid, &status, WNOHANG) == run.pid) break;
    if (Clock::now() > deadline) {
      r.timed_out = true;
      kill(run.pid, SIGKILL);
      waitpid(run.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_all(run.out_path);
  r.err = read_all(run.err_path);
  return r;
}

bool pid_alive(pid_t pid) {
  if (pid <= 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');  // "pid (comm) S ..."
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

bool wait_for_file(const std::string& path, double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  while (!std::filesystem::exists(path)) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the writer finish the line
  return true;
}

bool wait_gone(pid_t pid, double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  while (pid_alive(pid)) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

pid_t read_pid(const std::string& path) {
  std::ifstream in(path);
  long pid = -1;
  return (in >> pid) ? static_cast<pid_t>(pid) : -1;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace fw::testing
