#include "tests/integration/cli_run.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return 29500 + static_cast<int>(getpid() % 1000);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::vector<int> run_flywheel_ranks(const std::string& args, int world, const std::string& log_prefix,
                                    const std::string& extra_env) {
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    const std::string cmd = "RANK=" + std::to_string(r) + " WORLD_SIZE=" + std::to_string(world) +
                            " LOCAL_RANK=" + std::to_string(r) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
                            " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " + extra_env +
                            flywheel_bin() + " " + args + " > " + log_prefix + "." + std::to_string(r) + " 2>&1";
    const pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return codes;
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
