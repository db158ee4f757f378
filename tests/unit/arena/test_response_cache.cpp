// ResponseCache: round trip, reload from disk, a torn last line tolerated (and cut so the
// next record lands on its own line), corruption elsewhere named by file:line, keys
// independent of key order, and concurrent puts from several threads.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "arena/response_cache.h"
#include "core/error.h"
#include "tests/support/test_tmp.h"

namespace {
using fw::arena::ResponseCache;
namespace fs = std::filesystem;

std::string fresh(const std::string& name) {
  const std::string p = fw::testing::tmp_dir() + "/" + name;
  fs::remove(p);
  return p;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(ResponseCache, RoundTripAndReload) {
  const std::string path = fresh("sub/dir/cache.jsonl");
  const std::string k1 = ResponseCache::key({{"model", "a"}, {"prompt", "hi"}});
  const std::string k2 = ResponseCache::key({{"model", "b"}, {"prompt", "hi"}});
  EXPECT_NE(k1, k2);
  EXPECT_EQ(k1.size(), 64u);
  {
    ResponseCache c(path);
    EXPECT_EQ(c.size(), 0u);
    EXPECT_FALSE(c.get(k1));
    c.put(k1, {{"content", "hello"}, {"completion_tokens", 3}});
    c.put(k2, "plain string");
    c.put(k1, {{"content", "newer"}});  // a later record replaces the earlier one
    EXPECT_EQ(c.size(), 2u);
    EXPECT_EQ((*c.get(k1))["content"], "newer");
  }
  ResponseCache again(path);
  EXPECT_EQ(again.size(), 2u);
  EXPECT_EQ((*again.get(k1))["content"], "newer");
  EXPECT_EQ(*again.get(k2), "plain string");
}

TEST(ResponseCache, KeyIsStableUnderKeyOrder) {
  const nlohmann::json a = nlohmann::json::parse(R"({"model": "m", "params": {"temperature": 0, "top_p": 1}, "messages": [{"role": "user", "content": "x"}]})");
  const nlohmann::json b = nlohmann::json::parse(R"({"messages": [{"content": "x", "role": "user"}], "params": {"top_p": 1, "temperature": 0}, "model": "m"})");
  EXPECT_EQ(ResponseCache::key(a), ResponseCache::key(b));
  nlohmann::json c = a;
  c["params"]["temperature"] = 0.5;
  EXPECT_NE(ResponseCache::key(a), ResponseCache::key(c));
  // A known digest, so the format cannot drift silently: sha256('{"a":1}').
  EXPECT_EQ(ResponseCache::key({{"a", 1}}), "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862");
}

TEST(ResponseCache, TornLastLineIsIgnoredAndCut) {
  const std::string path = fresh("torn.jsonl");
  {
    ResponseCache c(path);
    c.put("k1", 1);
    c.put("k2", 2);
  }
  std::ofstream(path, std::ios::app) << R"({"key": "k3", "val)";  // died mid-write
  {
    ResponseCache c(path);
    EXPECT_EQ(c.size(), 2u);
    EXPECT_FALSE(c.get("k3"));
    c.put("k3", 3);
  }
  ResponseCache c(path);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(*c.get("k3"), 3);
  EXPECT_EQ(slurp(path).find("val)"), std::string::npos);
}

TEST(ResponseCache, LastRecordWithoutNewlineIsKept) {
  const std::string path = fresh("nonl.jsonl");
  std::ofstream(path) << R"({"key": "k1", "value": 1})";
  {
    ResponseCache c(path);
    EXPECT_EQ(*c.get("k1"), 1);
    c.put("k2", 2);
  }
  ResponseCache c(path);
  EXPECT_EQ(c.size(), 2u);
}

TEST(ResponseCache, CorruptionBeforeTheLastLineNamesFileAndLine) {
  struct Case {
    const char* text;
    long line;
  };
  const std::vector<Case> cases = {
      {"{\"key\": \"a\", \"value\": 1}\n{not json\n{\"key\": \"b\", \"value\": 2}\n", 2},
      {"{\"key\": \"a\"}\n{\"key\": \"b\", \"value\": 2}\n", 1},                     // no value
      {"\n{\"key\": 5, \"value\": 1}\n{\"key\": \"b\", \"value\": 2}\n", 2},         // key not a string
  };
  for (const auto& c : cases) {
    const std::string path = fresh("corrupt.jsonl");
    std::ofstream(path) << c.text;
    try {
      ResponseCache cache(path);
      ADD_FAILURE() << "expected an error for " << c.text;
    } catch (const fw::Error& e) {
      EXPECT_EQ(e.context().file, path);
      EXPECT_EQ(e.context().line, c.line) << c.text;
      EXPECT_NE(std::string(e.what()).find(path + ":" + std::to_string(c.line)), std::string::npos) << e.what();
    }
  }
}

TEST(ResponseCache, ConcurrentPutsAllLand) {
  const std::string path = fresh("threads.jsonl");
  constexpr int kThreads = 4, kEach = 200;
  {
    ResponseCache c(path);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&c, t] {
        for (int i = 0; i < kEach; ++i) {
          const std::string k = ResponseCache::key({{"t", t}, {"i", i}});
          c.put(k, {{"t", t}, {"i", i}, {"text", std::string(50, 'x')}});
          EXPECT_TRUE(c.get(k));
        }
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(c.size(), static_cast<size_t>(kThreads * kEach));
  }
  ResponseCache c(path);  // every line intact (no interleaved writes)
  EXPECT_EQ(c.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ((*c.get(ResponseCache::key({{"t", 3}, {"i", 199}})))["i"], 199);
}

}  // namespace
