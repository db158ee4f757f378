#include "tests/integration/cli_run.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "model/safetensors_io.h"
#include "tests/support/test_tmp.h"

namespace fw::testing {

std::string flywheel_bin() {
  const char* b = std::getenv("FLYWHEEL_BIN");
  return b ? b : FW_BINARY_DIR "/bin/flywheel";
}

std::string scratch(const std::string& name) { return tmp_dir() + "/" + name; }

int run_flywheel(const std::string& args, const std::string& log) {
  const int status = std::system((flywheel_bin() + " " + args + " > " + log + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool kill_when_exists(const std::vector<std::string>& args, const std::string& path) {
  const std::string program = flywheel_bin();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> argv = {const_cast<char*>(program.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;  // it ended on its own
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::map<std::string, at::Tensor> folder_weights(const std::string& dir) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : model::load_safetensors_dir(dir)) out[name] = t;
  return out;
}

double max_weight_diff(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b) {
  if (a.size() != b.size()) return INFINITY;
  double d = 0;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end() || !t.sizes().equals(it->second.sizes())) return INFINITY;
    d = std::max(d, (t - it->second).abs().max().item<double>());
  }
  return d;
}

}  // namespace fw::testing
