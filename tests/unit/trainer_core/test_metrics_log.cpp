#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/test_tmp.h"
#include "core/error.h"
#include "core/log.h"
#include "trainer/metrics_log.h"

namespace {
namespace fs = std::filesystem;
using fw::trainer::MetricsLog;

std::string fresh_path(const std::string& name) {
  const auto dir = fs::path(fw::testing::tmp_dir()) / "trainer_core_metrics";
  fs::create_directories(dir);
  const auto p = dir / (name + ".jsonl");
  fs::remove(p);
  return p.string();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<int64_t> steps_in(const std::string& path) {
  std::vector<int64_t> steps;
  std::istringstream in(read_all(path));
  std::string line;
  while (std::getline(in, line)) steps.push_back(nlohmann::json::parse(line).at("step").get<int64_t>());
  return steps;
}

TEST(MetricsLog, WritesStepFirstThenMetricsInOrder) {
  auto p = fresh_path("ordered");
  {
    MetricsLog log(p, std::nullopt);
    log.log(1, {{"loss", 1.5}, {"lr", 3e-5}, {"epoch", 2}, {"tokens", int64_t{512}}});
    // Flushed per line: visible before the log is closed.
    EXPECT_EQ(read_all(p), "{\"step\":1,\"loss\":1.5,\"lr\":3e-05,\"epoch\":2,\"tokens\":512}\n");
    log.log(2, {{"z_last", 1.0}, {"a_first", 2.0}});
  }
  const std::string text = read_all(p);
  EXPECT_NE(text.find("{\"step\":2,\"z_last\":1.0,\"a_first\":2.0}\n"), std::string::npos) << text;
}

TEST(MetricsLog, NonFiniteValuesAreStrings) {
  auto p = fresh_path("nonfinite");
  {
    MetricsLog log(p, std::nullopt);
    log.log(3, {{"loss", std::numeric_limits<double>::quiet_NaN()},
                {"up", std::numeric_limits<double>::infinity()},
                {"down", -std::numeric_limits<double>::infinity()}});
  }
  auto j = nlohmann::json::parse(read_all(p));
  EXPECT_EQ(j["loss"], "NaN");
  EXPECT_EQ(j["up"], "Infinity");
  EXPECT_EQ(j["down"], "-Infinity");
}

TEST(MetricsLog, FreshRunStartsANewFile) {
  auto p = fresh_path("fresh");
  write_all(p, "{\"step\":1,\"loss\":9}\n{\"step\":2,\"loss\":8}\n");
  {
    MetricsLog log(p, std::nullopt);
    log.log(1, {{"loss", 1.0}});
  }
  EXPECT_EQ(steps_in(p), (std::vector<int64_t>{1}));
}

TEST(MetricsLog, ResumeKeepsOnlyStepsUpToTheCheckpointAndDropsTornLine) {
  auto p = fresh_path("resume");
  write_all(p,
            "{\"step\":1,\"loss\":5}\n{\"step\":2,\"loss\":4}\n{\"step\":3,\"loss\":3}\n"
            "{\"step\":4,\"loss\":2}\n{\"step\":5,\"loss\":1}\n{\"step\":6,\"lo");
  {
    MetricsLog log(p, int64_t{3});
    EXPECT_EQ(steps_in(p), (std::vector<int64_t>{1, 2, 3}));  // rewritten before any append
    log.log(4, {{"loss", 2.5}});
    log.log(5, {{"loss", 1.5}});
  }
  EXPECT_EQ(steps_in(p), (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_NE(read_all(p).find("{\"step\":4,\"loss\":2.5}"), std::string::npos);
  EXPECT_EQ(read_all(p).find("\"loss\":2}"), std::string::npos);  // the old step 4 is gone
}

TEST(MetricsLog, TornLastLineIsDroppedWithoutError) {
  auto p = fresh_path("torn");
  write_all(p, "{\"step\":1,\"loss\":5}\n{\"step\":2,\"loss\":4}\n{\"step\":3,\"lo");
  testing::internal::CaptureStderr();
  {
    MetricsLog log(p, int64_t{10});
    log.log(3, {{"loss", 3.0}});
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("warning"), std::string::npos) << err;  // expected after a crash: silent
  EXPECT_EQ(steps_in(p), (std::vector<int64_t>{1, 2, 3}));  // every line parses
}

TEST(MetricsLog, CompleteLastLineWithoutNewlineIsKept) {
  auto p = fresh_path("nonewline");
  write_all(p, "{\"step\":1,\"loss\":5}\n{\"step\":2,\"loss\":4}");
  {
    MetricsLog log(p, int64_t{2});
    log.log(3, {{"loss", 3.0}});
  }
  EXPECT_EQ(steps_in(p), (std::vector<int64_t>{1, 2, 3}));
}

TEST(MetricsLog, BadMiddleLineIsDroppedWithWarning) {
  auto p = fresh_path("badmiddle");
  write_all(p, "{\"step\":1,\"loss\":5}\nnot json\n{\"step\":2,\"loss\":4}\n");
  testing::internal::CaptureStderr();
  { MetricsLog log(p, int64_t{2}); }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find(p + ":2"), std::string::npos) << err;
  EXPECT_EQ(steps_in(p), (std::vector<int64_t>{1, 2}));
}

TEST(MetricsLog, ResumeWithoutFileCreatesIt) {
  auto p = fresh_path("resume_missing");
  {
    MetricsLog log(p, int64_t{7});
    log.log(8, {{"loss", 1.0}});
  }
  EXPECT_EQ(steps_in(p), (std::vector<int64_t>{8}));
}

TEST(MetricsLog, DisabledTouchesNothing) {
  auto p = fresh_path("disabled");
  {
    MetricsLog log(p, std::nullopt, /*enabled=*/false);
    EXPECT_FALSE(log.enabled());
    log.log(1, {{"loss", 1.0}});
  }
  EXPECT_FALSE(fs::exists(p));
  write_all(p, "{\"step\":1}\n{\"step\":2}\n");
  { MetricsLog log(p, int64_t{1}, /*enabled=*/false); }
  EXPECT_EQ(steps_in(p), (std::vector<int64_t>{1, 2}));  // a non-zero rank never rewrites
}

TEST(MetricsLog, OnlyRankZeroWritesByDefault) {
  auto p = fresh_path("rank1");
  fw::log::set_rank(1, 2);
  {
    MetricsLog log(p, std::nullopt);
    EXPECT_FALSE(log.enabled());
    log.log(1, {{"loss", 1.0}});
  }
  fw::log::set_rank(0, 1);
  EXPECT_FALSE(fs::exists(p));
  MetricsLog log(p, std::nullopt);
  EXPECT_TRUE(log.enabled());
}

TEST(MetricsLog, ReservedAndDuplicateNamesAreErrors) {
  auto p = fresh_path("names");
  MetricsLog log(p, std::nullopt);
  EXPECT_THROW(log.log(1, {{"step", 1.0}}), fw::Error);
  EXPECT_THROW(log.log(1, {{"loss", 1.0}, {"loss", 2.0}}), fw::Error);
  log.log(1, {{"loss", 1.0}});
  EXPECT_EQ(steps_in(p), (std::vector<int64_t>{1}));
}

}  // namespace
