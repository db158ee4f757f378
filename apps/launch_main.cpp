// flywheel-launch: start N ranks of a program on this node with the environment torchrun
// gives them (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, ...), prefix their
// output with the rank, forward SIGINT/SIGTERM, and stop all when one fails.
//   flywheel-launch --nproc-per-node 2 -- build/bin/flywheel sft RECIPE.yaml
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "launch/launcher.h"

namespace {

// CLI11's usage line, plus the program after "--".
class UsageFormatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App*, std::string name) const override {
    return "Usage: " + name + " [OPTIONS] -- PROGRAM [ARGS...]\n";
  }
};

}  // namespace

int main(int argc, char** argv) {
  // Everything after the first "--" is the program and its arguments, untouched.
  int split = argc;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--") == 0) {
      split = i;
      break;
    }
  fw::launch::Options opts;
  for (int i = split + 1; i < argc; ++i) opts.command.emplace_back(argv[i]);

  CLI::App app{
      "flywheel-launch: start N ranks of PROGRAM on this node with torchrun's environment\n"
      "(RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT),\n"
      "prefix their output lines with [rankN]: , forward SIGINT/SIGTERM, and stop all ranks\n"
      "when one fails.\n",
      "flywheel-launch"};
  app.formatter(std::make_shared<UsageFormatter>());
  app.set_version_flag("--version", std::string("flywheel-launch ") + FLYWHEEL_VERSION);
  app.add_option("--nproc-per-node,--nproc_per_node", opts.nproc_per_node, "Ranks to start on this node")
      ->default_val(1);
  app.add_option("--nnodes", opts.nnodes, "Nodes in the job (WORLD_SIZE = nnodes x nproc-per-node)")->default_val(1);
  app.add_option("--node-rank,--node_rank", opts.node_rank, "This node's index in [0, nnodes)")->default_val(0);
  app.add_option("--master-addr,--master_addr", opts.master_addr,
                 "Address of the node with --node-rank 0 (default 127.0.0.1; required with --nnodes > 1)");
  app.add_option("--master-port,--master_port", opts.master_port,
                 "Port rank 0 serves the rendezvous store on (0: pick a free one; single node only)")
      ->default_val(29500);
  app.add_option("--grace-seconds", opts.grace_seconds,
                 "After SIGTERM, seconds the ranks get to exit before SIGKILL")
      ->default_val(30);
  app.footer(
      "Exit code: 0 when every rank exits 0; else the first failing rank's code (128 + signal\n"
      "if it was killed); 128 + signal if the launcher was interrupted; 2 for bad arguments.\n"
      "See launch/README.md.\n");

  try {
    app.parse(split, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    if (code != 0 && split == argc && dynamic_cast<const CLI::ExtrasError*>(&e))
      std::fprintf(stderr, "flywheel-launch: put the program after '--': flywheel-launch [OPTIONS] -- PROGRAM [ARGS...]\n");
    return code == 0 ? 0 : 2;
  }
  try {
    return fw::launch::run_launcher(std::move(opts));
  } catch (const fw::Error& e) {
    std::fprintf(stderr, "flywheel-launch: error: %s\n", e.what());
    if (e.kind() == fw::ErrorKind::InvalidInput) std::fprintf(stderr, "Run with --help for more information.\n");
    return fw::exit_code(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flywheel-launch: error: %s\n", e.what());
    return 1;
  }
}
