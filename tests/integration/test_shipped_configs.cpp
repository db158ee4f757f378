// Every recipe shipped under configs/ binds (`--print-config` resolves it with no unknown
// key, no bad type or range) and its header comment names the command that runs it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/integration/cli_run.h"
#include "tests/support/test_tmp.h"

namespace {
namespace fs = std::filesystem;

TEST(ShippedConfigs, EveryRecipeResolvesAndSaysHowToRunIt) {
  const std::map<std::string, std::string> command = {{"sft", "sft"},         {"dpo", "dpo"},   {"rm", "rm"},
                                                      {"ppo", "ppo"},         {"battle", "battle"},
                                                      {"flywheel", "run"},    {"testset", "testset"}};
  int checked = 0;
  for (const auto& dir : fs::directory_iterator(FW_SOURCE_DIR "/configs")) {
    const std::string kind = dir.path().filename().string();
    ASSERT_TRUE(command.count(kind)) << "configs/" << kind << ": which command reads it? add it here";
    for (const auto& f : fs::directory_iterator(dir.path())) {
      if (f.path().extension() != ".yaml") continue;
      const std::string log = fw::testing::tmp_dir() + "/" + kind + "_" + f.path().stem().string() + ".log";
      EXPECT_EQ(fw::testing::run_flywheel(command.at(kind) + " " + f.path().string() + " --print-config", log), 0)
          << f.path() << ": " << fw::testing::read_text(log);
      std::ifstream in(f.path());
      std::string header, line;
      while (std::getline(in, line) && !line.empty() && line[0] == '#') header += line + "\n";
      EXPECT_TRUE(header.find("flywheel " + command.at(kind) + " ") != std::string::npos ||
                  header.find("make demo") != std::string::npos)
          << f.path() << ": the header comment should give the command that runs it";
      ++checked;
    }
  }
  EXPECT_GE(checked, 14);
}

}  // namespace
