// `flywheel testset` on a small synthetic pool with configs/testset/tiny.yaml: the three
// test sets, their sizes and selection rules, the stats, the decontaminated training
// files; the same bytes with another thread count; bad recipes exit 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/integration/cli_run.h"

namespace {

std::vector<nlohmann::json> lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::set<std::string> ids(const std::vector<nlohmann::json>& v) {
  std::set<std::string> s;
  for (const auto& j : v) s.insert(j.at("id").get<std::string>());
  return s;
}

TEST(TestsetCli, BuildsTheSetsAndCleansTraining) {
  const std::string synth = fw::testing::scratch("ts_synth"), out = fw::testing::scratch("ts_out");
  ASSERT_EQ(fw::testing::run_flywheel("synth --out " + synth + " --n 600 --seed 3 --heldout-by problem"), 0);
  const std::string common = std::string(FW_SOURCE_DIR) + "/configs/testset/tiny.yaml pool=[" + synth +
                             "/prompts.jsonl] clusters=10 hard_total=20 decontaminate.train=[" + synth +
                             "/train.jsonl," + synth + "/sft.jsonl]";
  ASSERT_EQ(fw::testing::run_flywheel("testset " + common + " out=" + out + " threads=1", out + ".log"), 0)
      << fw::testing::read_text(out + ".log");

  const auto diverse = lines(out + "/offline_diverse.jsonl"), hard = lines(out + "/offline_hard.jsonl"),
             mix = lines(out + "/offline_mix.jsonl");
  EXPECT_EQ(diverse.size(), 20u);  // 2 per cluster
  ASSERT_EQ(hard.size(), 20u);
  std::map<int, int> per_cluster;
  for (const auto& j : diverse) ++per_cluster[j.at("cluster").get<int>()];
  EXPECT_EQ(per_cluster.size(), 10u);
  for (const auto& [c, n] : per_cluster) EXPECT_EQ(n, 2) << "cluster " << c;
  // The synthetic difficulty is 1..3; 20 candidates from each of 10 clusters hold well
  // over 20 of level 3, so the hardest 20 are all level 3.
  for (const auto& j : hard) {
    EXPECT_EQ(j.at("difficulty_score").get<double>(), 3.0);
    EXPECT_EQ(j.at("difficulty"), 3);          // the record's own fields are kept
    EXPECT_TRUE(j.contains("problem"));
    EXPECT_TRUE(j.contains("reference"));
  }
  std::set<std::string> both = ids(diverse);
  for (const auto& id : ids(hard)) both.insert(id);
  EXPECT_EQ(ids(mix), both);
  EXPECT_EQ(ids(mix).size(), mix.size());

  const auto stats = nlohmann::json::parse(fw::testing::read_text(out + "/stats.json"));
  int64_t total = 0;
  for (int64_t s : stats.at("cluster_sizes")) total += s;
  EXPECT_EQ(total, 600);
  EXPECT_EQ(stats["mix"]["count"], mix.size());
  EXPECT_EQ(stats["embedding"]["kind"], "tfidf");

  // Decontamination: kept + removed = read, and no test prompt's id survives in train.
  const auto train = lines(synth + "/train.jsonl"), clean = lines(out + "/decontaminated/train.jsonl");
  const auto removed = lines(out + "/decontaminated/removed.jsonl");
  const auto& f0 = stats["decontamination"]["files"][0];
  EXPECT_EQ(f0["kept"], clean.size());
  EXPECT_EQ(f0["train"], train.size());
  EXPECT_GT(f0["exact_duplicate"].get<int64_t>(), 0);
  EXPECT_GT(f0["neighbour"].get<int64_t>(), 0);
  size_t removed_from_train = 0;
  for (const auto& r : removed) removed_from_train += r["file"] == synth + "/train.jsonl";
  EXPECT_EQ(clean.size() + removed_from_train, train.size());
  const auto clean_ids = ids(clean);
  for (const auto& id : ids(mix)) EXPECT_EQ(clean_ids.count(id), 0u) << id;
  EXPECT_TRUE(std::filesystem::exists(out + "/decontaminated/sft.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(out + "/config.yaml"));

  // Thread count does not change a byte.
  const std::string out2 = fw::testing::scratch("ts_out2");
  ASSERT_EQ(fw::testing::run_flywheel("testset " + common + " out=" + out2 + " threads=2"), 0);
  for (const char* f : {"/offline_diverse.jsonl", "/offline_hard.jsonl", "/offline_mix.jsonl", "/decontaminated/train.jsonl"})
    EXPECT_EQ(fw::testing::read_text(out + f), fw::testing::read_text(out2 + f)) << f;

  // Bad recipes: an unknown key, more clusters than prompts, a missing model folder.
  EXPECT_EQ(fw::testing::run_flywheel("testset " + common + " out=" + out2 + " clusterz=3"), 2);
  EXPECT_EQ(fw::testing::run_flywheel("testset " + common + " out=" + out2 + " clusters=100000"), 2);
  EXPECT_EQ(fw::testing::run_flywheel("testset " + common + " out=" + out2 + " embedding.kind=model"), 2);
}

}  // namespace
