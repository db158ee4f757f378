#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "launch/exit_status.h"
#include "launch/options.h"
#include "launch/rank_env.h"
#include "tests/support/test_tmp.h"

using fw::launch::Options;

namespace {

Options valid() {
  Options o;
  o.command = {"sh", "-c", "true"};
  return o;
}

// The error validate() throws for `o`, or "" if it accepts it.
std::string validation_error(Options o) {
  try {
    fw::launch::validate(o);
    return "";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    return e.what();
  }
}

std::string value_of(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& e : env)
    if (e.rfind(name + "=", 0) == 0) return e.substr(name.size() + 1);
  return "<unset>";
}

}  // namespace

TEST(LaunchOptions, ValidationTable) {
  struct Case {
    const char* name;
    std::function<void(Options&)> edit;
    std::string error;  // a substring of the message; "" = valid
  };
  const std::vector<Case> cases = {
      {"defaults", [](Options&) {}, ""},
      {"4 ranks", [](Options& o) { o.nproc_per_node = 4; }, ""},
      {"zero ranks", [](Options& o) { o.nproc_per_node = 0; }, "--nproc-per-node: must be at least 1 (got 0)"},
      {"negative ranks", [](Options& o) { o.nproc_per_node = -2; }, "--nproc-per-node: must be at least 1"},
      {"zero nodes", [](Options& o) { o.nnodes = 0; }, "--nnodes: must be at least 1"},
      {"node rank too big", [](Options& o) { o.nnodes = 2; o.node_rank = 2; o.master_addr = "h"; },
       "--node-rank: must be in [0, 2)"},
      {"negative node rank", [](Options& o) { o.node_rank = -1; }, "--node-rank: must be in [0, 1)"},
      {"multi-node needs an address", [](Options& o) { o.nnodes = 2; o.node_rank = 1; },
       "--master-addr: is required with --nnodes > 1"},
      {"multi-node with an address", [](Options& o) { o.nnodes = 2; o.node_rank = 1; o.master_addr = "10.0.0.1"; }, ""},
      {"port too big", [](Options& o) { o.master_port = 70000; }, "--master-port: must be in [0, 65535]"},
      {"negative port", [](Options& o) { o.master_port = -1; }, "--master-port: must be in [0, 65535]"},
      {"free port on one node", [](Options& o) { o.master_port = 0; }, ""},
      {"free port on two nodes", [](Options& o) { o.nnodes = 2; o.master_addr = "h"; o.master_port = 0; },
       "--master-port: 0 (pick a free port) only works with --nnodes 1"},
      {"negative grace", [](Options& o) { o.grace_seconds = -1; }, "--grace-seconds: must be >= 0"},
      {"zero grace", [](Options& o) { o.grace_seconds = 0; }, ""},
      {"no program", [](Options& o) { o.command.clear(); }, "PROGRAM: no program to launch"},
      {"program not on PATH", [](Options& o) { o.command = {"no-such-program-fw-launch"}; },
       "PROGRAM: 'no-such-program-fw-launch' was not found on PATH"},
      {"missing path", [](Options& o) { o.command = {"/no/such/dir/prog"}; }, "PROGRAM: '/no/such/dir/prog' does not exist"},
      {"a directory", [](Options& o) { o.command = {"/tmp"}; }, "PROGRAM: '/tmp' is not a regular file"},
  };
  for (const Case& c : cases) {
    Options o = valid();
    c.edit(o);
    const std::string err = validation_error(o);
    if (c.error.empty())
      EXPECT_EQ(err, "") << c.name;
    else
      EXPECT_NE(err.find(c.error), std::string::npos) << c.name << ": got '" << err << "'";
  }
}

TEST(LaunchOptions, ValidateFillsDefaultsAndResolvesThePath) {
  Options o = valid();
  fw::launch::validate(o);
  EXPECT_EQ(o.master_addr, "127.0.0.1");
  EXPECT_EQ(o.program_path.back(), 'h');
  EXPECT_NE(o.program_path.find('/'), std::string::npos) << o.program_path;  // found on PATH
}

TEST(LaunchOptions, ResolveProgramLikeExecvp) {
  const std::string dir = fw::testing::tmp_dir() + "/bin";
  std::filesystem::create_directories(dir);
  const std::string exe = dir + "/fw-tool", plain = dir + "/fw-data";
  std::ofstream(exe) << "#!/bin/sh\n";
  std::ofstream(plain) << "x\n";
  ::chmod(exe.c_str(), 0755);
  ::chmod(plain.c_str(), 0644);
  const std::string path = "/no/such:" + dir + ":/bin";
  EXPECT_EQ(fw::launch::resolve_program("fw-tool", path.c_str()), exe);
  EXPECT_EQ(fw::launch::resolve_program(exe, path.c_str()), exe);  // a path is taken as it is
  EXPECT_THROW(fw::launch::resolve_program("fw-data", path.c_str()), fw::Error);  // not executable: skipped
  try {
    fw::launch::resolve_program(plain, path.c_str());
    FAIL() << "a non-executable path was accepted";
  } catch (const fw::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not executable"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fw::launch::resolve_program("sh", "/bin"), "/bin/sh");
}

TEST(LaunchOptions, RankEnvironmentIsTorchruns) {
  Options o = valid();
  o.nproc_per_node = 4;
  o.nnodes = 3;
  o.node_rank = 2;
  o.master_addr = "10.1.2.3";
  const std::vector<std::string> parent = {"PATH=/bin", "RANK=99", "TORCHELASTIC_USE_AGENT_STORE=True", "HOME=/h"};
  const auto env = fw::launch::rank_environment(parent, o, 1, 1234);
  EXPECT_EQ(value_of(env, "RANK"), "9");  // node_rank * nproc_per_node + local_rank
  EXPECT_EQ(value_of(env, "WORLD_SIZE"), "12");
  EXPECT_EQ(value_of(env, "LOCAL_RANK"), "1");
  EXPECT_EQ(value_of(env, "LOCAL_WORLD_SIZE"), "4");
  EXPECT_EQ(value_of(env, "GROUP_RANK"), "2");
  EXPECT_EQ(value_of(env, "GROUP_WORLD_SIZE"), "3");
  EXPECT_EQ(value_of(env, "ROLE_RANK"), "9");
  EXPECT_EQ(value_of(env, "ROLE_WORLD_SIZE"), "12");
  EXPECT_EQ(value_of(env, "MASTER_ADDR"), "10.1.2.3");
  EXPECT_EQ(value_of(env, "MASTER_PORT"), "1234");
  EXPECT_EQ(value_of(env, "OMP_NUM_THREADS"), "1");
  EXPECT_EQ(value_of(env, "TORCHELASTIC_USE_AGENT_STORE"), "<unset>");  // the launcher hosts no store
  EXPECT_EQ(value_of(env, "PATH"), "/bin");
  EXPECT_EQ(value_of(env, "HOME"), "/h");
  EXPECT_EQ(std::count_if(env.begin(), env.end(), [](const std::string& e) { return e.rfind("RANK=", 0) == 0; }), 1);
}

TEST(LaunchOptions, OmpNumThreadsOnlyWhenSharedAndUnset) {
  Options o = valid();
  o.nproc_per_node = 2;
  EXPECT_TRUE(fw::launch::sets_omp_num_threads({"PATH=/bin"}, o));
  EXPECT_FALSE(fw::launch::sets_omp_num_threads({"OMP_NUM_THREADS=4"}, o));
  EXPECT_EQ(value_of(fw::launch::rank_environment({"OMP_NUM_THREADS=4"}, o, 0, 1), "OMP_NUM_THREADS"), "4");
  o.nproc_per_node = 1;  // one rank per node may use every core (as torchrun)
  EXPECT_FALSE(fw::launch::sets_omp_num_threads({"PATH=/bin"}, o));
  EXPECT_EQ(value_of(fw::launch::rank_environment({}, o, 0, 1), "OMP_NUM_THREADS"), "<unset>");
}

TEST(LaunchExitStatus, DescribeAndShellCode) {
  const fw::launch::ExitStatus ok{false, 0}, code{false, 3}, sig{true, SIGKILL};
  EXPECT_TRUE(ok.ok());
  EXPECT_FALSE(code.ok());
  EXPECT_EQ(code.describe(), "exited with code 3");
  EXPECT_EQ(code.shell_code(), 3);
  EXPECT_EQ(sig.describe(), "was killed by signal 9 (SIGKILL)");
  EXPECT_EQ(sig.shell_code(), 137);
  EXPECT_EQ(fw::launch::signal_name(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(fw::launch::signal_name(63), "signal 63");
  EXPECT_EQ(fw::launch::from_wait_status(3 << 8).code, 3);  // the waitpid encoding
  EXPECT_TRUE(fw::launch::from_wait_status(SIGTERM).signaled);
}
