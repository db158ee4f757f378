// `flywheel serve ARGS` as a subprocess for the integration tests: started on a pipe, it
// is ready once it prints its "serving NAME on URL" line; GET/POST helpers talk to it.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fw::testing {

class ServeProcess {
 public:
  // Throws std::runtime_error when the server does not come up (its stderr is in `log`).
  // `env` entries ("NAME=value") are added to the server's environment.
  ServeProcess(const std::vector<std::string>& args, const std::string& log, const std::vector<std::string>& env = {});
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int terminate();  // SIGTERM, then the exit code (-1 if it did not exit normally)
  const std::string& url() const { return url_; }    // http://host:port/v1
  const std::string& name() const { return name_; }  // the served model id
  nlohmann::json get(const std::string& path) const;  // with the bearer token, if set
  void set_bearer(std::string token) { bearer_ = std::move(token); }
  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& h = {}) const;

 private:
  std::string host_port() const { return url_.substr(7, url_.size() - 7 - 3); }
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string url_, name_, bearer_;
};

}  // namespace fw::testing
