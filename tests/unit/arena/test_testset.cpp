// Offline-Diverse / Hard / Mix on a constructed pool: counts per cluster, the top-M rule,
// seeded tie-breaks, unrated candidates excluded, text dedup, the files and stats.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "arena/testset.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/rng.h"
#include "tests/support/test_tmp.h"

namespace {
using namespace fw::arena;

// 4 clusters x 10 prompts; item i: id "p<i>", cluster i / 10, difficulty i (or none when
// i % 7 == 6 and `holes`), category by cluster.
struct Pool {
  std::vector<PoolItem> items;
  std::vector<int32_t> labels;
};

Pool make_pool(bool holes) {
  Pool p;
  const char* cats[] = {"arithmetic", "string", "list", "counting"};
  for (int i = 0; i < 40; ++i) {
    nlohmann::ordered_json j;
    j["id"] = "p" + std::to_string(i);
    j["prompt"] = "Question number " + std::to_string(i) + " about topic " + std::to_string(i / 10);
    j["category"] = cats[i / 10];
    if (!(holes && i % 7 == 6)) j["difficulty"] = i;
    j["problem"] = "x" + std::to_string(i);
    PoolItem it;
    it.record = fw::data::parse_prompt_record(nlohmann::json(j), "x");
    it.raw = j;
    p.items.push_back(std::move(it));
    p.labels.push_back(i / 10);
  }
  return p;
}

std::vector<int> clusters_of(const Pool& p, const std::vector<int64_t>& idx) {
  std::vector<int> n(4, 0);
  for (int64_t i : idx) ++n[p.labels[static_cast<size_t>(i)]];
  return n;
}

TEST(Testset, DiverseTakesNPerClusterSeeded) {
  const Pool p = make_pool(false);
  const Testset t = build_testset(p.items, p.labels, 4, field_rater(p.items, "difficulty"),
                                  {.diverse_per_cluster = 3, .hard_candidates_per_cluster = 0, .hard_total = 0, .seed = 1});
  EXPECT_EQ(t.diverse.size(), 12u);
  EXPECT_EQ(clusters_of(p, t.diverse), (std::vector<int>{3, 3, 3, 3}));
  EXPECT_EQ(std::set<int64_t>(t.diverse.begin(), t.diverse.end()).size(), 12u);
  const Testset again = build_testset(p.items, p.labels, 4, nullptr,
                                      {.diverse_per_cluster = 3, .hard_candidates_per_cluster = 0, .hard_total = 0, .seed = 1});
  EXPECT_EQ(again.diverse, t.diverse);
  const Testset other = build_testset(p.items, p.labels, 4, nullptr,
                                      {.diverse_per_cluster = 3, .hard_candidates_per_cluster = 0, .hard_total = 0, .seed = 2});
  EXPECT_NE(other.diverse, t.diverse);
  // A cluster smaller than n gives all it has.
  const Testset all = build_testset(p.items, p.labels, 4, nullptr,
                                    {.diverse_per_cluster = 50, .hard_candidates_per_cluster = 0, .hard_total = 0});
  EXPECT_EQ(all.diverse.size(), 40u);
}

TEST(Testset, HardKeepsTheTopMOfTheRatedCandidates) {
  const Pool p = make_pool(false);
  // Every item a candidate: the top 5 are difficulties 39..35, hardest first.
  Testset t = build_testset(p.items, p.labels, 4, field_rater(p.items, "difficulty"),
                            {.diverse_per_cluster = 0, .hard_candidates_per_cluster = 10, .hard_total = 5});
  EXPECT_EQ(t.hard_candidates, 40);
  EXPECT_EQ(t.hard, (std::vector<int64_t>{39, 38, 37, 36, 35}));
  EXPECT_EQ(t.hard_scores, (std::vector<double>{39, 38, 37, 36, 35}));
  // m = 2 per cluster: the top M are the hardest of those 8 candidates only.
  t = build_testset(p.items, p.labels, 4, field_rater(p.items, "difficulty"),
                    {.diverse_per_cluster = 0, .hard_candidates_per_cluster = 2, .hard_total = 3, .seed = 4});
  EXPECT_EQ(t.hard_candidates, 8);
  ASSERT_EQ(t.hard.size(), 3u);
  // Candidates of cluster 3 (difficulties 30..39) beat every other cluster's.
  EXPECT_EQ(clusters_of(p, t.hard), (std::vector<int>{0, 0, 1, 2}));
  EXPECT_TRUE(std::is_sorted(t.hard_scores.rbegin(), t.hard_scores.rend()));
}

TEST(Testset, TiesBrokenBySeededHashThenId) {
  Pool p = make_pool(false);
  auto constant = [](const std::vector<fw::data::PromptRecord>& r) { return std::vector<double>(r.size(), 5.0); };
  for (uint64_t seed : {0u, 1u}) {
    const Testset t = build_testset(p.items, p.labels, 4, constant,
                                    {.diverse_per_cluster = 0, .hard_candidates_per_cluster = 10, .hard_total = 6, .seed = seed});
    ASSERT_EQ(t.hard.size(), 6u);
    std::vector<std::pair<uint64_t, int64_t>> want;
    for (int64_t i = 0; i < 40; ++i) want.emplace_back(fw::hash_string("p" + std::to_string(i), seed), i);
    std::sort(want.begin(), want.end());
    for (size_t k = 0; k < 6; ++k) EXPECT_EQ(t.hard[k], want[k].second) << "seed " << seed << " rank " << k;
  }
}

TEST(Testset, UnratedCandidatesAreExcludedAndCounted) {
  const Pool p = make_pool(true);  // no difficulty on items 6, 13, 20, 27, 34
  const Testset t = build_testset(p.items, p.labels, 4, field_rater(p.items, "difficulty"),
                                  {.diverse_per_cluster = 0, .hard_candidates_per_cluster = 10, .hard_total = 100});
  EXPECT_EQ(t.hard_candidates, 40);
  EXPECT_EQ(t.hard_unrated, 5);
  EXPECT_EQ(t.hard.size(), 35u);
  for (int64_t i : t.hard) EXPECT_NE(i % 7, 6) << i;
  auto wrong = [](const std::vector<fw::data::PromptRecord>&) { return std::vector<double>{1.0}; };
  EXPECT_THROW(build_testset(p.items, p.labels, 4, wrong, {.hard_candidates_per_cluster = 2, .hard_total = 2}), fw::Error);
}

TEST(Testset, MixIsTheDeduplicatedUnion) {
  const Pool p = make_pool(false);
  // All 10 of cluster 3 are diverse picks; the hard top 4 (39..36) are then all duplicates.
  const Testset t = build_testset(p.items, p.labels, 4, field_rater(p.items, "difficulty"),
                                  {.diverse_per_cluster = 10, .hard_candidates_per_cluster = 10, .hard_total = 4});
  EXPECT_EQ(t.diverse.size(), 40u);
  EXPECT_EQ(t.hard.size(), 4u);
  EXPECT_EQ(t.mix.size(), 40u);
  EXPECT_EQ(t.mix_duplicates_removed, 4);
  // The diverse copy of a hard item carries its score.
  for (size_t k = 0; k < t.mix.size(); ++k)
    EXPECT_EQ(std::isfinite(t.mix_scores[k]), t.mix[k] >= 36) << t.mix[k];
  const Testset u = build_testset(p.items, p.labels, 4, field_rater(p.items, "difficulty"),
                                  {.diverse_per_cluster = 1, .hard_candidates_per_cluster = 10, .hard_total = 4, .seed = 3});
  std::set<int64_t> both(u.diverse.begin(), u.diverse.end());
  both.insert(u.hard.begin(), u.hard.end());
  EXPECT_EQ(u.mix.size(), both.size());
  EXPECT_EQ(u.mix.size() + u.mix_duplicates_removed, u.diverse.size() + u.hard.size());
}

TEST(Testset, RepeatedTextsAreDrawnOnce) {
  Pool p = make_pool(false);
  // Cluster 0: every prompt says the same thing (up to case and punctuation).
  for (int i = 0; i < 10; ++i) {
    const std::string text = i % 2 ? "What is 2 + 2?" : "what is 2 + 2";
    p.items[static_cast<size_t>(i)].record.messages = {{"user", text}};
  }
  const Testset t = build_testset(p.items, p.labels, 4, field_rater(p.items, "difficulty"),
                                  {.diverse_per_cluster = 3, .hard_candidates_per_cluster = 3, .hard_total = 12});
  EXPECT_EQ(clusters_of(p, t.diverse), (std::vector<int>{1, 3, 3, 3}));
  EXPECT_EQ(t.diverse_duplicates_skipped, 9);
  EXPECT_EQ(t.hard_candidates, 10);
  const Testset off = build_testset(p.items, p.labels, 4, nullptr,
                                    {.diverse_per_cluster = 3, .hard_candidates_per_cluster = 0, .hard_total = 0,
                                     .dedup_text = false});
  EXPECT_EQ(clusters_of(p, off.diverse), (std::vector<int>{3, 3, 3, 3}));
}

TEST(Testset, WritesRecordsWithTheirFieldsAndStats) {
  const Pool p = make_pool(false);
  const TestsetOptions opts{.diverse_per_cluster = 1, .hard_candidates_per_cluster = 10, .hard_total = 2};
  const Testset t = build_testset(p.items, p.labels, 4, field_rater(p.items, "difficulty"), opts);
  const std::string dir = fw::testing::tmp_dir() + "/ts";
  const auto stats = write_testset(dir, p.items, p.labels, 4, t, opts, {{"embedding", "tfidf"}});
  std::vector<nlohmann::json> hard;
  fw::for_each_jsonl(dir + "/offline_hard.jsonl", [&](const nlohmann::json& j, long) { hard.push_back(j); });
  ASSERT_EQ(hard.size(), 2u);
  EXPECT_EQ(hard[0]["id"], "p39");
  EXPECT_EQ(hard[0]["problem"], "x39");
  EXPECT_EQ(hard[0]["cluster"], 3);
  EXPECT_EQ(hard[0]["difficulty_score"], 39.0);
  std::ifstream in(dir + "/offline_diverse.jsonl");
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first.rfind("{\"id\":", 0), 0u) << first;  // key order kept
  EXPECT_EQ(first.find("difficulty_score"), std::string::npos);
  long mix = 0;
  fw::for_each_jsonl(dir + "/offline_mix.jsonl", [&](const nlohmann::json&, long) { ++mix; });
  EXPECT_EQ(mix, static_cast<long>(t.mix.size()));
  const nlohmann::json s = fw::read_json_file(dir + "/stats.json");
  EXPECT_EQ(s["cluster_sizes"], nlohmann::json({10, 10, 10, 10}));
  EXPECT_EQ(s["diverse"]["count"], 4);
  EXPECT_EQ(s["diverse"]["by_category"]["string"], 1);
  EXPECT_EQ(s["hard"]["by_category"]["counting"], 2);
  EXPECT_EQ(s["hard"]["score"]["min"], 38.0);
  EXPECT_EQ(s["embedding"], "tfidf");
  EXPECT_EQ(stats["mix"]["count"], s["mix"]["count"]);
}

TEST(Testset, ReadPoolKeepsRawRecordsAndNamesBadLines) {
  const std::string path = fw::testing::tmp_dir() + "/pool.jsonl";
  std::ofstream(path) << R"({"id": "a", "prompt": "hi", "difficulty": 2, "zeta": 1, "alpha": 0})" << "\n\n"
                      << R"({"id": "b", "prompt": [{"role": "user", "content": "yo"}]})" << "\n";
  const auto pool = read_pool({path});
  ASSERT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool[0].raw.begin().key(), "id");
  EXPECT_EQ(std::next(pool[0].raw.begin(), 3).key(), "zeta");
  EXPECT_EQ(pool[1].line, 3);
  EXPECT_EQ(field_rater(pool, "difficulty")({pool[0].record})[0], 2.0);
  EXPECT_TRUE(std::isnan(field_rater(pool, "difficulty")({pool[1].record})[0]));

  const std::string bad = fw::testing::tmp_dir() + "/bad.jsonl";
  std::ofstream(bad) << R"({"id": "a", "prompt": "x"})" << "\n" << R"({"id": "a", "prompt": "y"})" << "\n";
  try {
    read_pool({bad});
    FAIL() << "duplicate id accepted";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.context().file, bad);
    EXPECT_EQ(e.context().line, 2);
    EXPECT_EQ(e.context().key, "id");
  }
  std::ofstream(bad) << R"({"id": "a"})" << "\n";
  try {
    read_pool({bad});
    FAIL() << "missing prompt accepted";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.context().line, 1);
    EXPECT_EQ(e.context().key, "prompt");
  }
}

}  // namespace
