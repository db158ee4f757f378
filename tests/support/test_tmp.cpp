#include "tests/support/test_tmp.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace fw::testing {
namespace {

void remove_if_passed() {
  const auto* unit = ::testing::UnitTest::GetInstance();
  if (unit->Passed() && std::getenv("FW_KEEP_TEST_TMP") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(tmp_dir(), ec);
  }
}

}  // namespace

const std::string& tmp_dir() {
  // Never destroyed: the exit handler below runs after static destructors would have.
  static const std::string* dir = [] {
    const auto d = std::filesystem::path(FW_TEST_TMP_ROOT) / ("p" + std::to_string(getpid()));
    std::filesystem::remove_all(d);  // a stale folder of an earlier process with this pid
    std::filesystem::create_directories(d);
    std::atexit(remove_if_passed);
    return new std::string(d.string());
  }();
  return *dir;
}

}  // namespace fw::testing
