#include "launch/rank_env.h"

#include <map>

#include "core/strings.h"

extern char** environ;

namespace fw::launch {
namespace {

bool has_var(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& e : env)
    if (starts_with(e, name + "=")) return true;
  return false;
}

}  // namespace

bool sets_omp_num_threads(const std::vector<std::string>& parent, const Options& opts) {
  return opts.nproc_per_node > 1 && !has_var(parent, "OMP_NUM_THREADS");
}

std::vector<std::string> rank_environment(const std::vector<std::string>& parent, const Options& opts,
                                          int local_rank, int port) {
  const int rank = opts.node_rank * opts.nproc_per_node + local_rank;
  const std::string world = std::to_string(opts.nnodes * opts.nproc_per_node);
  std::string addr = opts.master_addr;
  if (addr.empty()) addr = kDefaultMasterAddr;
  std::map<std::string, std::string> set = {
      {"RANK", std::to_string(rank)},
      {"WORLD_SIZE", world},
      {"LOCAL_RANK", std::to_string(local_rank)},
      {"LOCAL_WORLD_SIZE", std::to_string(opts.nproc_per_node)},
      {"GROUP_RANK", std::to_string(opts.node_rank)},
      {"GROUP_WORLD_SIZE", std::to_string(opts.nnodes)},
      {"ROLE_RANK", std::to_string(rank)},
      {"ROLE_WORLD_SIZE", world},
      {"MASTER_ADDR", addr},
      {"MASTER_PORT", std::to_string(port)},
  };
  if (sets_omp_num_threads(parent, opts)) set["OMP_NUM_THREADS"] = "1";

  std::vector<std::string> out;
  for (const auto& e : parent) {
    const std::string name = e.substr(0, e.find('='));
    if (set.count(name) || name == "TORCHELASTIC_USE_AGENT_STORE") continue;
    out.push_back(e);
  }
  for (const auto& [name, value] : set) out.push_back(name + "=" + value);
  return out;
}

std::vector<std::string> current_environment() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
  return out;
}

}  // namespace fw::launch
