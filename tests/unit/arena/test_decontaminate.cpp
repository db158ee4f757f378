// Decontamination: normalisation, shingles and Jaccard by hand, the prefix-filtered near
// duplicates against brute force, neighbours on constructed embeddings, reasons and
// counts, and the files (kept lines byte for byte, removed.jsonl).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "arena/decontaminate.h"
#include "arena/text_embedding.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/rng.h"
#include "tests/support/test_tmp.h"

namespace {
using namespace fw::arena;

TEST(Normalize, Table) {
  const std::pair<const char*, const char*> cases[] = {
      {"  Hello,   World! ", "hello world"},
      {"What is 3 + 4?", "what is 3 + 4"},
      {"What is 3 - 4?", "what is 3 - 4"},
      {"Reverse \"duck\".\n\tNow!", "reverse duck now"},
      {"(a) [b] {c}; d: e", "a b c d e"},
      {"", ""},
      {"...", ""},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(normalize_text(in), want) << in;
}

TEST(Shingles, HandComputedJaccard) {
  const auto a = word_shingles("a b c d", 2), b = word_shingles("a b c e", 2);
  EXPECT_EQ(a.size(), 3u);                // ab bc cd
  EXPECT_DOUBLE_EQ(jaccard(a, b), 0.5);   // {ab, bc} of {ab, bc, cd, ce}
  EXPECT_DOUBLE_EQ(jaccard(a, a), 1.0);
  EXPECT_EQ(word_shingles("a", 2).size(), 1u);  // shorter than n: the whole text
  EXPECT_TRUE(word_shingles("", 2).empty());
  EXPECT_EQ(word_shingles("x y x y x y", 2).size(), 2u);  // distinct: xy, yx
}

Embeddings rows(std::vector<std::vector<float>> v) {
  Embeddings e(static_cast<int64_t>(v.size()), v.empty() ? 0 : static_cast<int64_t>(v[0].size()));
  for (size_t i = 0; i < v.size(); ++i) std::copy(v[i].begin(), v[i].end(), e.row(static_cast<int64_t>(i)));
  l2_normalize_rows(e);
  return e;
}

TEST(Decontaminate, ReasonsAndCounts) {
  const std::vector<std::string> test = {"What is 12 + 7?", "please reverse the word elephant and then count its letters"};
  const std::vector<std::string> train = {
      "what is 12 + 7",                                                   // 0 exact (case, punctuation)
      "please reverse the word elephant and then count its vowels",      // 1 near: 8 of 10 bigrams shared
      "Sort the list 3, 1, 2.",                                           // 2 neighbour of test 0
      "Sort the list 9, 8, 7.",                                           // 3 neighbour of test 1
      "please reverse the word tiger and then count its letters",        // 4 J = 7/11: kept
      "What is 12 - 7?",                                                  // 5 not exact: the operator differs
  };
  const Embeddings test_emb = rows({{1, 0, 0, 0}, {0, 1, 0, 0}});
  const Embeddings train_emb = rows({{0, 0, 1, 0}, {0, 0, 1, 0}, {0.9f, 0.1f, 0, 0}, {0.8f, 0.2f, 0, 0},
                                     {0, 0, 0, 1}, {0, 0, 0.5f, 1}});
  const auto rep = find_contamination(train, train_emb, test, test_emb, {.neighbours = 1, .near_dup_jaccard = 0.8});
  EXPECT_EQ(rep.hits[0].reason, Contamination::ExactDuplicate);
  EXPECT_EQ(rep.hits[0].test_index, 0);
  EXPECT_EQ(rep.hits[1].reason, Contamination::NearDuplicate);
  EXPECT_EQ(rep.hits[1].test_index, 1);
  EXPECT_DOUBLE_EQ(rep.hits[1].similarity, 0.8);
  EXPECT_EQ(rep.hits[2].reason, Contamination::Neighbour);
  EXPECT_EQ(rep.hits[2].test_index, 0);
  // Test 1's nearest training item: item 3 (cos 0.243) beats item 2 (cos 0.110).
  EXPECT_EQ(rep.hits[3].reason, Contamination::Neighbour);
  EXPECT_EQ(rep.hits[3].test_index, 1);
  EXPECT_NEAR(rep.hits[3].similarity, 0.2 / std::sqrt(0.68), 1e-6);
  EXPECT_EQ(rep.hits[4].reason, Contamination::None);
  EXPECT_EQ(rep.hits[5].reason, Contamination::None);
  EXPECT_EQ(rep.counts.exact_duplicate, 1);
  EXPECT_EQ(rep.counts.near_duplicate, 1);
  EXPECT_EQ(rep.counts.neighbour, 2);
  EXPECT_EQ(rep.counts.kept + rep.counts.removed(), 6);

  // Two neighbours each, and a similarity floor.
  const auto k2 = find_contamination(train, train_emb, test, test_emb, {.neighbours = 2, .near_dup_jaccard = 2});
  EXPECT_EQ(k2.hits[2].reason, Contamination::Neighbour);
  EXPECT_EQ(k2.hits[3].reason, Contamination::Neighbour);
  EXPECT_EQ(k2.hits[1].reason, Contamination::None);  // near duplicates off, and nobody's top 2
  const auto floor = find_contamination(train, train_emb, test, test_emb,
                                        {.neighbours = 5, .neighbour_min_similarity = 0.95, .near_dup_jaccard = 2});
  // Only items 2 (cos 0.994) and 3 (cos 0.970), both to test 0, pass the floor.
  EXPECT_EQ(floor.counts.neighbour, 2);
  EXPECT_EQ(floor.hits[3].test_index, 0);
  EXPECT_EQ(floor.counts.exact_duplicate, 1);
}

TEST(Decontaminate, PrefixFilterFindsExactlyTheBruteForcePairs) {
  fw::Rng rng(11);
  const char* vocab[] = {"a", "b", "c", "d", "e", "f", "g"};
  auto text = [&] {
    std::string s;
    const int64_t n = rng.uniform_int(1, 9);
    for (int64_t i = 0; i < n; ++i) s += std::string(i ? " " : "") + vocab[rng.uniform_int(0, 6)];
    return s;
  };
  std::vector<std::string> train, test;
  for (int i = 0; i < 300; ++i) train.push_back(text());
  for (int i = 0; i < 60; ++i) test.push_back(text());
  for (double t : {0.3, 0.5, 0.8, 1.0}) {
    const auto rep = find_contamination(train, {}, test, {}, {.neighbours = 0, .near_dup_jaccard = t, .threads = 3});
    for (size_t i = 0; i < train.size(); ++i) {
      const auto a = word_shingles(normalize_text(train[i]), 2);
      double best = -1;
      bool exact = false;
      for (const auto& s : test) {
        best = std::max(best, jaccard(a, word_shingles(normalize_text(s), 2)));
        exact = exact || normalize_text(s) == normalize_text(train[i]);
      }
      const Contamination want = exact ? Contamination::ExactDuplicate
                                 : best >= t ? Contamination::NearDuplicate : Contamination::None;
      ASSERT_EQ(rep.hits[i].reason, want) << "t " << t << " item " << i << " '" << train[i] << "'";
      if (want == Contamination::NearDuplicate) {
        EXPECT_DOUBLE_EQ(rep.hits[i].similarity, best);
      }
    }
  }
}

TEST(Decontaminate, TrainingPromptOfEachFormat) {
  using J = nlohmann::ordered_json;
  EXPECT_EQ(prompt_text(training_prompt(J::parse(R"({"prompt": "hi", "completion": "yo"})"))), "hi");
  EXPECT_EQ(prompt_text(training_prompt(J::parse(
                R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                 {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]})"))),
            "a\nb\nc");
  EXPECT_EQ(prompt_text(training_prompt(J::parse(
                R"({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "good"}],
                    "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "bad"}]})"))),
            "q");
  EXPECT_THROW(training_prompt(J::parse(R"({"text": "x"})")), fw::Error);
}

TEST(Decontaminate, FilesKeepLinesAsTheyWereAndNameWhy) {
  const std::string dir = fw::testing::tmp_dir() + "/decon";
  std::filesystem::create_directories(dir);
  const std::string sft = dir + "/sft.jsonl", prompts = dir + "/train.jsonl";
  std::ofstream(sft) << R"({"messages": [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "4"}]})"
                     << "\n"
                     << R"({"messages":[{"role":"user","content":"Spell cat backwards."},{"role":"assistant","content":"tac"}]})"
                     << "\n";
  std::ofstream(prompts) << R"({"id": "t1", "prompt": "what is 2 + 2", "x": 1})" << "\n"
                         << R"({"id": "t2",   "prompt": "Name a colour."})" << "\n";
  const std::vector<TestPrompt> test = {{"q1", {{"user", "What is 2 + 2?"}}}};
  TfidfEmbedder tfidf({.dim = 256});
  tfidf.fit({"What is 2 + 2?", "Spell cat backwards.", "Name a colour."});
  const EmbedFn embed = tfidf.as_embed_fn();
  const auto out = decontaminate_files({sft, prompts}, test, embed({test[0].messages}), embed, dir + "/clean",
                                       {.neighbours = 0});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].counts.exact_duplicate, 1);
  EXPECT_EQ(out[0].counts.kept, 1);
  EXPECT_EQ(out[1].counts.exact_duplicate, 1);
  std::ifstream in(dir + "/clean/train.jsonl");
  std::string all((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(all, std::string(R"({"id": "t2",   "prompt": "Name a colour."})") + "\n");
  std::vector<nlohmann::json> removed;
  fw::for_each_jsonl(dir + "/clean/removed.jsonl", [&](const nlohmann::json& j, long) { removed.push_back(j); });
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[0]["file"], sft);
  EXPECT_EQ(removed[0]["line"], 1);
  EXPECT_EQ(removed[0]["reason"], "exact_duplicate");
  EXPECT_EQ(removed[0]["test_id"], "q1");
  EXPECT_EQ(removed[1]["id"], "t1");
  EXPECT_EQ(removed[1]["record"]["x"], 1);

  // With neighbours on, the single nearest training item of each file goes too.
  const auto nb = decontaminate_files({sft}, test, embed({test[0].messages}), embed, dir + "/clean2",
                                      {.neighbours = 2, .near_dup_jaccard = 2});
  EXPECT_EQ(nb[0].counts.exact_duplicate, 1);
  EXPECT_EQ(nb[0].counts.neighbour, 1);
  EXPECT_EQ(nb[0].counts.kept, 0);

  EXPECT_THROW(decontaminate_files({sft, dir + "/clean/sft.jsonl"}, test, {}, embed, dir + "/c3", {.neighbours = 0}),
               fw::Error);
}

}  // namespace
