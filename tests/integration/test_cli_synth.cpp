// `flywheel synth`: the train and held-out prompt files split the tasks of prompts.jsonl
// between them, with no task in both.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/integration/cli_run.h"

namespace {

std::set<std::string> ids(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.insert(nlohmann::json::parse(line).at("id").get<std::string>());
  return out;
}

TEST(SynthCli, TrainAndHeldoutPromptsSplitTheTasks) {
  const std::string dir = fw::testing::scratch("synth_cli");
  ASSERT_EQ(fw::testing::run_flywheel("synth --out " + dir + " --n 300 --seed 2 --heldout 0.2 --heldout-by problem"), 0);
  const auto all = ids(dir + "/prompts.jsonl"), train = ids(dir + "/train.jsonl"), heldout = ids(dir + "/heldout.jsonl");
  EXPECT_EQ(all.size(), 300u);
  EXPECT_FALSE(train.empty());
  EXPECT_FALSE(heldout.empty());
  EXPECT_EQ(train.size() + heldout.size(), all.size());
  for (const auto& id : heldout) EXPECT_EQ(train.count(id), 0u) << id;
  for (const auto& id : train) EXPECT_EQ(all.count(id), 1u) << id;
  EXPECT_EQ(fw::testing::run_flywheel("synth --out " + dir + " --n 0"), 2);
}

}  // namespace
