#include "launch/options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/strings.h"

namespace fw::launch {
namespace {

bool is_executable_file(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

void check(bool ok, const std::string& key, const std::string& message, const std::string& hint = "") {
  if (!ok) throw_invalid(message, ErrorContext{.key = key, .hint = hint});
}

}  // namespace

std::string resolve_program(const std::string& name, const char* path_env) {
  check(!name.empty(), "PROGRAM", "the program name is empty");
  if (name.find('/') != std::string::npos) {
    struct stat st{};
    check(::stat(name.c_str(), &st) == 0, "PROGRAM", "'" + name + "' does not exist");
    check(S_ISREG(st.st_mode), "PROGRAM", "'" + name + "' is not a regular file");
    check(::access(name.c_str(), X_OK) == 0, "PROGRAM", "'" + name + "' is not executable",
          "chmod +x it, or run it through its interpreter (e.g. -- sh " + name + ")");
    return name;
  }
  const std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& dir : split(path, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
  }
  throw_invalid("'" + name + "' was not found on PATH",
                ErrorContext{.key = "PROGRAM", .hint = "give a path (e.g. build/bin/flywheel) or add its folder to PATH"});
}

void validate(Options& opts) {
  check(opts.nproc_per_node >= 1, "--nproc-per-node", "must be at least 1 (got " + std::to_string(opts.nproc_per_node) + ")");
  check(opts.nnodes >= 1, "--nnodes", "must be at least 1 (got " + std::to_string(opts.nnodes) + ")");
  check(opts.node_rank >= 0 && opts.node_rank < opts.nnodes, "--node-rank",
        "must be in [0, " + std::to_string(opts.nnodes) + ") for --nnodes " + std::to_string(opts.nnodes) +
            " (got " + std::to_string(opts.node_rank) + ")");
  check(opts.nnodes == 1 || !opts.master_addr.empty(), "--master-addr",
        "is required with --nnodes > 1", "the address of the node with --node-rank 0, the same on every node");
  check(opts.master_port >= 0 && opts.master_port <= 65535, "--master-port",
        "must be in [0, 65535] (got " + std::to_string(opts.master_port) + ")");
  check(opts.master_port != 0 || opts.nnodes == 1, "--master-port",
        "0 (pick a free port) only works with --nnodes 1", "give every node the same explicit port");
  check(opts.grace_seconds >= 0, "--grace-seconds", "must be >= 0");
  check(!opts.command.empty(), "PROGRAM", "no program to launch",
        "put it after '--': flywheel-launch --nproc-per-node 2 -- build/bin/flywheel sft RECIPE.yaml");
  if (opts.master_addr.empty()) opts.master_addr = kDefaultMasterAddr;
  opts.program_path = resolve_program(opts.command.front(), std::getenv("PATH"));
}

}  // namespace fw::launch
