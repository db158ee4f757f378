#include "tests/integration/serve_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <stdexcept>

#include "tests/integration/cli_run.h"

namespace fw::testing {

ServeProcess::ServeProcess(const std::vector<std::string>& args, const std::string& log,
                           const std::vector<std::string>& env) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], 1);
    FILE* err = std::fopen(log.c_str(), "w");
    if (err) dup2(fileno(err), 2);
    close(fds[0]);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<std::string> all = {flywheel_bin(), "serve"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  out_ = fdopen(fds[0], "r");
  char line[512];
  const std::regex serving(R"(serving (\S+) on (http://\S+/v1))");
  while (std::fgets(line, sizeof(line), out_)) {
    std::smatch m;
    const std::string s(line);
    if (std::regex_search(s, m, serving)) {
      name_ = m[1];
      url_ = m[2];
      break;
    }
  }
  if (url_.empty()) throw std::runtime_error("flywheel serve did not start; see " + log);
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) terminate();
  if (out_) std::fclose(out_);
}

int ServeProcess::terminate() {
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

nlohmann::json ServeProcess::get(const std::string& path) const {
  httplib::Client c("http://" + host_port());
  httplib::Headers h;
  if (!bearer_.empty()) h.emplace("Authorization", "Bearer " + bearer_);
  auto r = c.Get(path.c_str(), h);
  if (!r) throw std::runtime_error("GET " + path + " failed");
  return nlohmann::json::parse(r->body);
}

httplib::Result ServeProcess::post(const std::string& path, const std::string& body, const httplib::Headers& h) const {
  httplib::Client c("http://" + host_port());
  return c.Post(path.c_str(), h, body, "application/json");
}

}  // namespace fw::testing
