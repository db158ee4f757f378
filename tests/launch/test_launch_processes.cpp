// flywheel-launch driving real processes: `sh -c` scripts stand in for the ranks.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/launch/launch_run.h"
#include "tests/support/test_tmp.h"

using namespace fw::testing;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// This test's own folder (the tests of one process share tmp_dir()).
std::string test_dir() {
  const std::string d = tmp_dir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::create_directories(d);
  return d;
}

// A shell snippet that records the rank's pid in DIR/pid$RANK (atomically, via mv).
std::string record_pid() {
  const std::string d = test_dir();
  return "echo $$ > " + d + "/pid$RANK.tmp && mv " + d + "/pid$RANK.tmp " + d + "/pid$RANK; ";
}
std::string pid_file(int rank) { return test_dir() + "/pid" + std::to_string(rank); }

// Every line is a rank's line ("[rankN]: ...") or the launcher's ("flywheel-launch: ...").
void expect_all_lines_prefixed(const std::string& text, bool allow_launcher) {
  static const std::regex rank_line(R"(^\[rank[0-9]+\]: .*)");
  for (const auto& l : lines(text))
    EXPECT_TRUE(std::regex_match(l, rank_line) || (allow_launcher && l.rfind("flywheel-launch: ", 0) == 0))
        << "unprefixed line: '" << l << "'";
}

}  // namespace

TEST(LaunchProcesses, RanksGetTorchrunsEnvironmentAndPrefixedOutput) {
  const LaunchResult r = run_launch(
      {"--nproc-per-node", "3", "--", "sh", "-c",
       "echo \"rank=$RANK world=$WORLD_SIZE local=$LOCAL_RANK lws=$LOCAL_WORLD_SIZE group=$GROUP_RANK "
       "addr=$MASTER_ADDR port=$MASTER_PORT omp=$OMP_NUM_THREADS store=${TORCHELASTIC_USE_AGENT_STORE-unset}\"; "
       "echo \"to stderr $RANK\" >&2; printf 'progress 1\\rprogress 2\\r'; printf 'partial %s' $RANK"},
      {"OMP_NUM_THREADS"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.code, 0) << r.err;
  for (int rank = 0; rank < 3; ++rank) {
    const std::string p = "[rank" + std::to_string(rank) + "]: ";
    EXPECT_TRUE(contains(r.out, p + "rank=" + std::to_string(rank) + " world=3 local=" + std::to_string(rank) +
                                    " lws=3 group=0 addr=127.0.0.1 port=29500 omp=1 store=unset\n"))
        << r.out;
    EXPECT_TRUE(contains(r.out, p + "progress 1\n" + p + "progress 2\n")) << r.out;
    EXPECT_TRUE(contains(r.out, p + "partial " + std::to_string(rank) + "\n")) << r.out;  // flushed at exit
    EXPECT_TRUE(contains(r.err, p + "to stderr " + std::to_string(rank) + "\n")) << r.err;
    EXPECT_FALSE(contains(r.out, "to stderr")) << "stderr lines went to stdout";
  }
  EXPECT_EQ(lines(r.out).size(), 3u * 4u);
  expect_all_lines_prefixed(r.out, false);
  expect_all_lines_prefixed(r.err, true);
  EXPECT_TRUE(contains(r.err, "flywheel-launch: setting OMP_NUM_THREADS=1")) << r.err;
}

TEST(LaunchProcesses, OmpNumThreadsAlreadySetIsKept) {
  ::setenv("OMP_NUM_THREADS", "5", 1);
  const LaunchResult kept = run_launch({"--nproc-per-node", "2", "--", "sh", "-c", "echo omp=$OMP_NUM_THREADS"});
  EXPECT_EQ(kept.code, 0) << kept.err;
  EXPECT_TRUE(contains(kept.out, "[rank0]: omp=5\n")) << kept.out;
  EXPECT_TRUE(contains(kept.out, "[rank1]: omp=5\n")) << kept.out;
  EXPECT_FALSE(contains(kept.err, "OMP_NUM_THREADS")) << kept.err;
}

TEST(LaunchProcesses, MultiNodeRanksAndAddress) {
  const LaunchResult r = run_launch({"--nproc-per-node", "2", "--nnodes", "3", "--node-rank", "2", "--master-addr",
                                     "10.9.8.7", "--master-port", "4242", "--", "sh", "-c",
                                     "echo rank=$RANK world=$WORLD_SIZE local=$LOCAL_RANK group=$GROUP_RANK "
                                     "addr=$MASTER_ADDR port=$MASTER_PORT"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "[rank4]: rank=4 world=6 local=0 group=2 addr=10.9.8.7 port=4242\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "[rank5]: rank=5 world=6 local=1 group=2 addr=10.9.8.7 port=4242\n")) << r.out;
}

TEST(LaunchProcesses, AFailingRankStopsTheOthers) {
  // Rank 1 exits 3 once rank 0 is up; rank 0 would sleep for 30 s.
  const LaunchResult r = run_launch(
      {"--nproc-per-node", "2", "--", "sh", "-c",
       record_pid() + "if [ \"$RANK\" = 1 ]; then while [ ! -f " + pid_file(0) + " ]; do sleep 0.02; done; exit 3; fi; "
                      "exec sleep 30"});
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_LT(r.seconds, 5);
  const pid_t p0 = read_pid(pid_file(0)), p1 = read_pid(pid_file(1));
  EXPECT_TRUE(contains(r.err, "flywheel-launch: rank 1 (pid " + std::to_string(p1) +
                                  ") exited with code 3; stopping the other ranks\n"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "flywheel-launch: rank 0 (pid " + std::to_string(p0) +
                                  ") was killed by signal 15 (SIGTERM)\n"))
      << r.err;
  EXPECT_FALSE(pid_alive(p0)) << "rank 0 outlived the launcher";
}

TEST(LaunchProcesses, RanksIgnoringSigtermAreKilledAfterTheGracePeriod) {
  const LaunchResult r = run_launch(
      {"--nproc-per-node", "2", "--grace-seconds", "1", "--", "sh", "-c",
       "trap '' TERM; " + record_pid() + "if [ \"$RANK\" = 1 ]; then while [ ! -f " + pid_file(0) +
           " ]; do sleep 0.02; done; exit 4; fi; exec sleep 30"});
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_GE(r.seconds, 0.9);
  EXPECT_LT(r.seconds, 6);
  EXPECT_TRUE(contains(r.err, "rank(s) 0 still running after the grace period; sending SIGKILL")) << r.err;
  EXPECT_TRUE(contains(r.err, "was killed by signal 9 (SIGKILL)")) << r.err;
  EXPECT_FALSE(pid_alive(read_pid(pid_file(0))));
}

TEST(LaunchProcesses, ARankKilledByASignalGives128PlusSignal) {
  const LaunchResult r = run_launch({"--", "sh", "-c", record_pid() + "kill -KILL $$"});
  EXPECT_EQ(r.code, 128 + SIGKILL) << r.err;
  EXPECT_TRUE(contains(r.err, "flywheel-launch: rank 0 (pid " + std::to_string(read_pid(pid_file(0))) +
                                  ") was killed by signal 9 (SIGKILL)\n"))
      << r.err;  // a single rank: no "stopping the other ranks"
}

TEST(LaunchProcesses, SigtermIsForwardedToEveryRank) {
  const std::string d = test_dir();
  const LaunchRun run = start_launch(
      {"--nproc-per-node", "2", "--", "sh", "-c",
       "trap 'echo $RANK > " + d + "/term$RANK; exit 0' TERM; " + record_pid() + "while :; do sleep 0.05; done"});
  ASSERT_TRUE(wait_for_file(pid_file(0)) && wait_for_file(pid_file(1)));
  ::kill(run.pid, SIGTERM);
  const LaunchResult r = wait_launch(run);
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.code, 128 + SIGTERM) << r.err;
  EXPECT_LT(r.seconds, 10);
  EXPECT_TRUE(contains(r.err, "flywheel-launch: got SIGTERM; sending SIGTERM to the ranks")) << r.err;
  EXPECT_EQ(read_pid(d + "/term0"), 0) << "rank 0's TERM trap did not run";
  EXPECT_EQ(read_pid(d + "/term1"), 1) << "rank 1's TERM trap did not run";
  EXPECT_FALSE(pid_alive(read_pid(pid_file(0))));
  EXPECT_FALSE(pid_alive(read_pid(pid_file(1))));
}

TEST(LaunchProcesses, ASecondSignalKillsRanksThatIgnoreTheFirst) {
  const LaunchRun run = start_launch(
      {"--nproc-per-node", "2", "--", "sh", "-c", "trap '' INT TERM; " + record_pid() + "exec sleep 30"});
  ASSERT_TRUE(wait_for_file(pid_file(0)) && wait_for_file(pid_file(1)));
  ::kill(run.pid, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(run.pid, SIGINT);
  const LaunchResult r = wait_launch(run);
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.code, 128 + SIGINT) << r.err;
  EXPECT_LT(r.seconds, 5);  // well before the 30 s grace period
  EXPECT_TRUE(contains(r.err, "got SIGINT; sending SIGINT to the ranks")) << r.err;
  EXPECT_TRUE(contains(r.err, "got SIGINT while stopping; killing the ranks")) << r.err;
  EXPECT_FALSE(pid_alive(read_pid(pid_file(0))));
  EXPECT_FALSE(pid_alive(read_pid(pid_file(1))));
}

TEST(LaunchProcesses, RanksDieWithAKilledLauncher) {
  const LaunchRun run = start_launch({"--nproc-per-node", "2", "--", "sh", "-c", record_pid() + "exec sleep 30"});
  ASSERT_TRUE(wait_for_file(pid_file(0)) && wait_for_file(pid_file(1)));
  ::kill(run.pid, SIGKILL);
  wait_launch(run);
  EXPECT_TRUE(wait_gone(read_pid(pid_file(0)))) << "rank 0 survived a SIGKILLed launcher";
  EXPECT_TRUE(wait_gone(read_pid(pid_file(1)))) << "rank 1 survived a SIGKILLed launcher";
}

TEST(LaunchProcesses, MasterPortZeroPicksAFreePort) {
  const LaunchResult r = run_launch({"--nproc-per-node", "2", "--master-port", "0", "--", "sh", "-c", "echo port=$MASTER_PORT"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::smatch m;
  const std::string out = r.out;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(\[rank0\]: port=([0-9]+)\n)"))) << r.out;
  const int port = std::stoi(m[1]);
  EXPECT_GT(port, 0);
  EXPECT_LE(port, 65535);
  EXPECT_TRUE(contains(r.out, "[rank1]: port=" + std::to_string(port) + "\n")) << "ranks disagree: " << r.out;
  EXPECT_TRUE(contains(r.err, "MASTER_PORT=" + std::to_string(port))) << r.err;
  // It is free: binding it now works (nothing listens on it after the run).
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
}

TEST(LaunchProcesses, BadArgumentsExit2WithAMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--nproc-per-node", "0", "--", "true"}, "--nproc-per-node: must be at least 1 (got 0)"},
      {{"--nnodes", "0", "--", "true"}, "--nnodes: must be at least 1"},
      {{"--nnodes", "2", "--", "true"}, "--master-addr: is required with --nnodes > 1"},
      {{"--nnodes", "2", "--node-rank", "2", "--master-addr", "h", "--", "true"}, "--node-rank: must be in [0, 2)"},
      {{"--nnodes", "2", "--master-addr", "h", "--master-port", "0", "--", "true"},
       "--master-port: 0 (pick a free port) only works with --nnodes 1"},
      {{"--master-port", "65536", "--", "true"}, "--master-port: must be in [0, 65535]"},
      {{"--grace-seconds", "-1", "--", "true"}, "--grace-seconds: must be >= 0"},
      {{"--nproc-per-node", "2"}, "PROGRAM: no program to launch"},
      {{"--nproc-per-node", "2", "--"}, "PROGRAM: no program to launch"},
      {{"--", "/no/such/dir/prog"}, "PROGRAM: '/no/such/dir/prog' does not exist"},
      {{"--", "no-such-program-fw-launch", "x"}, "PROGRAM: 'no-such-program-fw-launch' was not found on PATH"},
      {{"--nproc-per-node", "abc", "--", "true"}, "--nproc-per-node"},
      {{"--bogus", "--", "true"}, "--bogus"},
      {{"--nproc-per-node", "2", "true"}, "put the program after '--'"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    const LaunchResult r = run_launch(c.args);
    EXPECT_EQ(r.code, 2) << joined << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, c.message)) << joined << ": got\n" << r.err;
    EXPECT_FALSE(contains(r.err, "[rank")) << joined << ": started ranks";
  }
}

TEST(LaunchProcesses, HelpAndVersionExit0) {
  const LaunchResult help = run_launch({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_TRUE(contains(help.out, "--nproc-per-node")) << help.out;
  EXPECT_TRUE(contains(help.out, "-- PROGRAM [ARGS...]")) << help.out;
  const LaunchResult version = run_launch({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_TRUE(contains(version.out, "flywheel-launch ")) << version.out;
}

TEST(LaunchProcesses, ProgramArgumentsPassThroughUntouched) {
  // Options after "--" belong to the program, even ones the launcher also has.
  const LaunchResult r = run_launch({"--", "sh", "-c", "printf '<%s>' \"$@\"; echo", "argv0", "--nproc-per-node", "7",
                                     "a b", "--", "--help"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "[rank0]: <--nproc-per-node><7><a b><--><--help>\n");
}

TEST(LaunchProcesses, RanksRunInTheirOwnProcessGroupWithStdinFromDevNull) {
  // Field 5 of /proc/PID/stat is the process group; "sh" has no space in its name.
  const LaunchResult r = run_launch({"--nproc-per-node", "2", "--", "sh", "-c",
                                     "echo pid=$$ pgrp=$(cut -d' ' -f5 /proc/$$/stat) stdin=$(readlink /proc/$$/fd/0)"});
  EXPECT_EQ(r.code, 0) << r.err;
  std::smatch m;
  const std::string out = r.out;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(\[rank0\]: pid=([0-9]+) pgrp=([0-9]+) stdin=(\S+)\n)"))) << out;
  EXPECT_EQ(m[1], m[2]) << "rank 0 is not the leader of its own process group";
  EXPECT_NE(std::to_string(::getpgrp()), m[2].str());
  EXPECT_EQ(m[3], "/dev/null");
}
