#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <nlohmann/json.hpp>

#include "tests/support/test_tmp.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"

namespace {

std::string tmp_path(const std::string& name) {
  return fw::testing::tmp_dir() + "/core_" + name;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The fw::Error that fn throws; none (and a test failure) if it throws nothing.
std::optional<fw::Error> error_from(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const fw::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an fw::Error";
  return std::nullopt;
}

void read_all(const std::string& path) { fw::for_each_jsonl(path, [](const nlohmann::json&, long) {}); }

TEST(Jsonl, ReadsLinesSkippingBlanks) {
  auto p = tmp_path("ok.jsonl");
  write(p, "{\"a\":1}\n\n{\"a\":2}\r\n");
  std::vector<std::pair<int, long>> seen;
  fw::for_each_jsonl(p, [&](const nlohmann::json& j, long line) {
    seen.emplace_back(j.at("a").get<int>(), line);
  });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], std::make_pair(2, 3L));
}

TEST(Jsonl, BadLineNamesFileAndLine) {
  auto p = tmp_path("bad.jsonl");
  write(p, "{\"a\":1}\n{\"a\":\n");
  const auto e = error_from([&] { read_all(p); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->context().file, p);
  EXPECT_EQ(e->context().line, 2);
  EXPECT_EQ(e->kind(), fw::ErrorKind::InvalidInput);
}

TEST(Jsonl, NumberOverflowNamesFileAndLine) {
  auto p = tmp_path("overflow.jsonl");
  write(p, "{\"a\":1}\n{\"a\":1e999}\n");
  const auto e = error_from([&] { read_all(p); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->context().file, p);
  EXPECT_EQ(e->context().line, 2);
  EXPECT_NE(std::string(e->what()).find("overflow"), std::string::npos) << e->what();
  write(p, "[1e999]");
  const auto whole = error_from([&] { fw::read_json_file(p); });
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->context().file, p);
}

TEST(Jsonl, CallbackErrorsGetFileAndLine) {
  auto p = tmp_path("cb.jsonl");
  write(p, "{}\n{}\n{}\n");
  const auto e = error_from([&] {
    fw::for_each_jsonl(p, [](const nlohmann::json&, long line) {
      if (line == 3) fw::throw_invalid("missing field 'messages'");
    });
  });
  ASSERT_TRUE(e);
  EXPECT_EQ(std::string(e->what()), p + ":3: missing field 'messages'");
}

// A missing data file is the user's to fix (exit 2), not a runtime failure (exit 1).
TEST(Jsonl, AMissingFileIsAnInputErrorNamingIt) {
  const auto p = tmp_path("no_such_file.jsonl");
  const auto e = error_from([&] { read_all(p); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind(), fw::ErrorKind::InvalidInput);
  EXPECT_EQ(std::string(e->what()), p + ": no such file");
}

TEST(Json, SyntaxErrorHasLineAndColumn) {
  auto p = tmp_path("bad.json");
  write(p, "{\n  \"a\": 1,\n  \"b\": ]\n}\n");
  const auto e = error_from([&] { fw::read_json_file(p); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->context().line, 3);
}

TEST(Json, MissingFileIsRuntimeError) {
  EXPECT_THROW(fw::read_json_file(tmp_path("does-not-exist.json")), fw::Error);
}

TEST(AtomicFile, ReplacesContentAndLeavesNoTemporary) {
  auto p = tmp_path("atomic.txt");
  fw::write_file_atomic(p, "first");
  fw::write_file_atomic(p, "second");
  EXPECT_EQ(fw::read_text_file(p), "second");
  for (auto& entry : std::filesystem::directory_iterator(fw::testing::tmp_dir()))
    EXPECT_EQ(entry.path().string().find(p + ".tmp"), std::string::npos);
}

TEST(JsonlWriter, AppendsFlushedRecords) {
  auto p = tmp_path("w.jsonl");
  {
    fw::JsonlWriter w(p);
    w.write(nlohmann::json{{"x", 1}});
  }
  {
    fw::JsonlWriter w(p, /*append=*/true);
    w.write(nlohmann::json{{"x", 2}});
  }
  int n = 0;
  fw::for_each_jsonl(p, [&](const nlohmann::json& j, long) { n += j["x"].get<int>(); });
  EXPECT_EQ(n, 3);
}

}  // namespace
