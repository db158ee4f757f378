// `flywheel serve` as OpenAI clients use it (issue 18): a busy port is refused, stalled
// connections do not delay a served request, a client that drops a stream frees its
// choice, and the official `openai` Python package drives streaming, n, logprobs, stop,
// seeds and /v1/completions (tests/integration/openai_checks.py).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/cli_run.h"
#include "tests/integration/serve_process.h"
#include "tests/integration/tiny_checkpoint.h"
#include "tests/support/test_tmp.h"

namespace {
using fw::testing::ServeProcess;

std::string model_dir() { return fw::testing::tmp_dir() + "/serve_openai_tiny"; }

class ServeOpenAI : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fw::testing::make_tiny_checkpoint(model_dir()); }
};

int port_of(const ServeProcess& s) {
  const std::string u = s.url();  // http://127.0.0.1:PORT/v1
  return std::stoi(u.substr(u.rfind(':') + 1));
}

// A TCP connection to 127.0.0.1:port (-1 on failure).
int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

double seconds_for_one_request(const ServeProcess& s) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = s.post("/v1/chat/completions",
                  R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1, "temperature": 0})");
  EXPECT_TRUE(r && r->status == 200);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST_F(ServeOpenAI, ASecondServerOnABusyPortFailsWithExitCode2) {
  ServeProcess first({"--model", model_dir(), "--name", "A", "--port", "0", "--threads", "1"},
                     fw::testing::tmp_dir() + "/serve_port_a.log");
  const int port = port_of(first);
  const std::string log = fw::testing::tmp_dir() + "/serve_port_b.log";
  const int code = fw::testing::run_flywheel(
      "serve --model " + model_dir() + " --name B --threads 1 --port " + std::to_string(port), log);
  EXPECT_EQ(code, 2);
  const std::string said = fw::testing::read_text(log);
  EXPECT_NE(said.find(std::to_string(port)), std::string::npos) << said;
  EXPECT_NE(said.find("already in use"), std::string::npos) << said;
  // Every request still reaches the first server.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(first.get("/v1/models")["data"][0]["id"], "A");
  EXPECT_EQ(first.terminate(), 0);
}

// 64 sockets that connect and never send a request must not delay a normal one (the
// issue's bound is 100 ms, a benchmark figure in docs/benchmarks.md; here generously 1 s,
// against the 5 s read timeout a fixed pool would wait out).
TEST_F(ServeOpenAI, StalledConnectionsDoNotDelayARequest) {
  ServeProcess s({"--model", model_dir(), "--port", "0", "--threads", "1"},
                 fw::testing::tmp_dir() + "/serve_stalled.log");
  const double alone = seconds_for_one_request(s);
  std::vector<int> stalled;
  for (int i = 0; i < 64; ++i) {
    const int fd = connect_to(port_of(s));
    ASSERT_GE(fd, 0);
    if (i % 2) ::send(fd, "POST /v1/chat/completions HTTP/1.1\r\n", 35, MSG_NOSIGNAL);  // half a request
    stalled.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // every stalled one accepted
  const double behind = seconds_for_one_request(s);
  for (int fd : stalled) ::close(fd);
  std::printf("one request alone %.1f ms, behind 64 stalled connections %.1f ms\n", alone * 1e3, behind * 1e3);
  EXPECT_LT(behind, alone + 1.0);
  EXPECT_EQ(s.terminate(), 0);
}

// A client that reads a few events of a long stream and hangs up: its choice is
// cancelled (it leaves the batch) and the server goes on serving.
TEST_F(ServeOpenAI, AClientThatDropsAStreamIsCancelled) {
  ServeProcess s({"--model", model_dir(), "--port", "0", "--threads", "1"},
                 fw::testing::tmp_dir() + "/serve_drop.log");
  const int fd = connect_to(port_of(s));
  ASSERT_GE(fd, 0);
  const std::string body =
      R"({"messages": [{"role": "user", "content": "tell a long story"}], "max_tokens": 100000, "temperature": 1, "seed": 1, "stream": true})";
  const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  char buf[512];
  ASSERT_GT(::recv(fd, buf, sizeof(buf), 0), 0);  // the headers and the first events
  ::close(fd);
  // The model's context bounds the story; the cancellation must come long before.
  nlohmann::json stats;
  for (int i = 0; i < 200; ++i) {
    stats = s.get("/v1/stats");
    if (stats["cancelled"].get<int>() >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(stats["cancelled"], 1) << stats.dump();
  EXPECT_EQ(stats["streamed"], 1) << stats.dump();
  EXPECT_LT(seconds_for_one_request(s), 30.0);
  EXPECT_EQ(s.terminate(), 0);
}

// The official client: tests/integration/openai_checks.py exits non-zero naming what failed.
TEST_F(ServeOpenAI, TheOpenAIPythonPackageStreamsSamplesAndScores) {
  ServeProcess s({"--model", model_dir(), "--name", "tiny", "--port", "0", "--max-batch", "8", "--threads", "1"},
                 fw::testing::tmp_dir() + "/serve_openai.log");
  const std::string log = fw::testing::tmp_dir() + "/openai_checks.log";
  const std::string cmd = std::string(FW_PYTHON) + " " + FW_SOURCE_DIR + "/tests/integration/openai_checks.py " +
                          s.url() + " tiny > " + log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << fw::testing::read_text(log);
  std::printf("%s", fw::testing::read_text(log).c_str());
  EXPECT_EQ(s.terminate(), 0);
}

}  // namespace
