// SFT data selection (arena/sft_selection.h), the Table-3 ablation's arms: every arm takes
// as many examples as the pair judge on the same battles; the arms other than judge answer
// with the pool's own response (the reference, as D0), the k-means arm covers the slice's
// clusters round robin, the longest arm takes the longest instructions (characters).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "arena/sft_selection.h"
#include "core/error.h"
#include "data/synth/tasks.h"

namespace {
using namespace fw::arena;
using fw::data::PromptRecord;

const std::string kTarget = "target";

PromptRecord prompt(const std::string& id, const std::string& text, const std::string& reference = "",
                    bool has_reference = true) {
  PromptRecord r;
  r.id = id;
  r.messages = {{"user", text}};
  r.category = "c";
  r.reference = reference.empty() && has_reference ? "ref-" + id : reference;
  r.has_reference = has_reference;
  return r;
}

// Both games give the scores (target's, competitor's); the winner by the sum rule.
Battle fight(const std::string& qid, const std::string& comp, double target_score, double comp_score) {
  Battle x;
  x.question_id = qid;
  x.model_a = kTarget;
  x.model_b = comp;
  x.winner = target_score > comp_score ? Winner::ModelA : comp_score > target_score ? Winner::ModelB : Winner::Tie;
  x.games = {{"ab", target_score, comp_score, ""}, {"ba", target_score, comp_score, ""}};
  return x;
}

// A slice of 12 prompts of growing length; the target loses q1..q`lost` by 5 points
// (to "alpha", whose answer is "alpha says <id>") and beats the competitor elsewhere.
struct Slice {
  std::vector<PromptRecord> prompts;
  std::vector<Battle> battles;
  ResponseTable responses;
};
Slice slice(int lost) {
  Slice s;
  for (int i = 1; i <= 12; ++i) {
    const std::string id = "q" + std::to_string(i);
    s.prompts.push_back(prompt(id, "question " + std::string(static_cast<size_t>(i), 'x')));
    s.battles.push_back(i <= lost ? fight(id, "alpha", 3, 8) : fight(id, "alpha", 8, 3));
    s.responses[{id, kTarget}] = "target says " + id;
    s.responses[{id, "alpha"}] = "alpha says " + id;
  }
  return s;
}

const std::map<std::string, PromptRecord> by_id(const std::vector<PromptRecord>& ps) {
  std::map<std::string, PromptRecord> m;
  for (const auto& p : ps) m[p.id] = p;
  return m;
}

// ------------------------------------------------------------------- names

TEST(SftSelection, NamesRoundTripAndUnknownNamesSuggestTheClosest) {
  for (SftSelection s : {SftSelection::Judge, SftSelection::Random, SftSelection::KMeans, SftSelection::Longest})
    EXPECT_EQ(sft_selection_from_name(sft_selection_name(s)), s);
  try {
    sft_selection_from_name("kmean");
    FAIL() << "expected an error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.context().key, "sft_selection");
    EXPECT_NE(e.context().hint.find("kmeans"), std::string::npos) << e.context().hint;
  }
}

// ------------------------------------------------------------------- every arm

TEST(SftSelection, EveryArmTakesAsManyExamplesAsTheJudgeAndTheArmsUseThePoolsReferences) {
  struct Case { SftSelection method; int lost; };
  const Case cases[] = {
      {SftSelection::Judge, 5},  {SftSelection::Random, 5},  {SftSelection::KMeans, 5},  {SftSelection::Longest, 5},
      {SftSelection::Judge, 0},  {SftSelection::Random, 0},  {SftSelection::KMeans, 0},  {SftSelection::Longest, 0},
      {SftSelection::Judge, 12}, {SftSelection::Random, 12}, {SftSelection::KMeans, 12}, {SftSelection::Longest, 12},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(sft_selection_name(c.method) + " lost " + std::to_string(c.lost));
    const Slice s = slice(c.lost);
    SftSelectionOptions o;
    o.method = c.method;
    o.margin = 3;
    o.seed = 7;
    o.per_cluster = 2;
    const SftSelectionResult r = select_sft_data(s.battles, s.prompts, s.responses, kTarget, o);
    // The judge's count on the same battles, computed on its own.
    const size_t judge = build_sft_data(s.battles, by_id(s.prompts), s.responses, kTarget, 3).size();
    ASSERT_EQ(judge, static_cast<size_t>(c.lost));
    EXPECT_EQ(r.examples.size(), judge);
    EXPECT_EQ(r.judge_count, static_cast<int64_t>(judge));
    EXPECT_EQ(r.to_json()["method"], sft_selection_name(c.method));
    std::set<std::string> ids;
    for (const auto& ex : r.examples) {
      ids.insert(ex.question_id);
      ASSERT_EQ(ex.messages.size(), 2u);
      EXPECT_EQ(ex.messages[1].role, "assistant");
      if (c.method == SftSelection::Judge) {
        EXPECT_EQ(ex.source_model, "alpha");
        EXPECT_EQ(ex.messages[1].content, "alpha says " + ex.question_id);
      } else {
        // The pool's own response, exactly as D0's SFT data has it.
        EXPECT_EQ(ex.source_model, "reference");
        EXPECT_EQ(ex.messages[1].content, fw::synth::format_answer("ref-" + ex.question_id));
        EXPECT_EQ(ex.messages[1].content, "The answer is ref-" + ex.question_id + ".");
      }
    }
    EXPECT_EQ(ids.size(), r.examples.size()) << "a prompt taken twice";
    if (c.method != SftSelection::Judge && c.lost > 0) {
      EXPECT_EQ(r.stats.kept, c.lost);
      ASSERT_EQ(r.stats.by_model.size(), 1u);
      EXPECT_EQ(r.stats.by_model.at("reference").chosen, c.lost);
    }
  }
}

TEST(SftSelection, TheRandomArmIsSeededAndDrawsFromTheWholeSlice) {
  const Slice s = slice(6);
  std::set<size_t> seen;
  for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
    const auto a = select_random(s.prompts, 6, seed);
    EXPECT_EQ(a, select_random(s.prompts, 6, seed));
    EXPECT_EQ(std::set<size_t>(a.begin(), a.end()).size(), 6u);
    seen.insert(a.begin(), a.end());
  }
  // Not the lost prompts only (q1..q6): the draw ignores the battles.
  EXPECT_GT(seen.size(), 6u);
  EXPECT_NE(select_random(s.prompts, 6, 1), select_random(s.prompts, 6, 2));
  EXPECT_EQ(select_random(s.prompts, 50, 1).size(), 12u);  // at most the slice
}

TEST(SftSelection, APromptWithoutAReferenceIsAnErrorNamingTheFileAndTheKey) {
  Slice s = slice(12);
  s.prompts[3] = prompt("q4", s.prompts[3].messages[0].content, "", /*has_reference=*/false);
  for (SftSelection m : {SftSelection::Random, SftSelection::KMeans, SftSelection::Longest}) {
    SCOPED_TRACE(sft_selection_name(m));
    SftSelectionOptions o;
    o.method = m;
    o.margin = 3;
    o.source = "runs/x/data/D1.jsonl";
    try {
      select_sft_data(s.battles, s.prompts, s.responses, kTarget, o);  // all 12 are taken, q4 among them
      FAIL() << "expected an error";
    } catch (const fw::Error& e) {
      EXPECT_EQ(e.context().file, "runs/x/data/D1.jsonl");
      EXPECT_EQ(e.context().key, "reference");
      EXPECT_NE(std::string(e.what()).find("q4"), std::string::npos) << e.what();
    }
  }
  // The judge arm trains on the winners' answers: no reference needed.
  SftSelectionOptions o;
  o.margin = 3;
  EXPECT_EQ(select_sft_data(s.battles, s.prompts, s.responses, kTarget, o).examples.size(), 12u);
}

// ------------------------------------------------------------------- k-means

// Four topics with no word in common; `sizes` prompts each, told apart by a number.
std::vector<PromptRecord> topics(const std::vector<int>& sizes) {
  const std::vector<std::string> words = {"alpha apple avocado anchor", "bravo banana basil bridge",
                                          "charlie cherry cumin canyon", "delta date dill desert"};
  std::vector<PromptRecord> out;
  for (size_t t = 0; t < sizes.size(); ++t)
    for (int i = 0; i < sizes[t]; ++i)
      out.push_back(prompt(std::string(1, static_cast<char>('A' + t)) + std::to_string(i),
                           words[t] + " " + std::to_string(i * 7 + static_cast<int>(t))));
  return out;
}

std::map<char, int> per_topic(const std::vector<PromptRecord>& ps, const std::vector<size_t>& chosen) {
  std::map<char, int> n;
  for (size_t i : chosen) ++n[ps[i].id[0]];
  return n;
}

TEST(SftSelection, TheKMeansArmCoversEveryClusterRoundRobin) {
  struct Case { std::vector<int> sizes; size_t n; int64_t per_cluster; std::map<char, int> want; };
  const Case cases[] = {
      {{6, 6, 6, 6}, 4, 1, {{'A', 1}, {'B', 1}, {'C', 1}, {'D', 1}}},   // k = 4: one per topic
      {{6, 6, 6, 6}, 8, 2, {{'A', 2}, {'B', 2}, {'C', 2}, {'D', 2}}},   // k = 4: two per topic
      {{6, 6, 6, 6}, 12, 3, {{'A', 3}, {'B', 3}, {'C', 3}, {'D', 3}}},
      {{9, 6, 5, 2}, 12, 3, {}},                                        // uneven: checked below
  };
  for (const Case& c : cases)
    for (uint64_t seed : {1, 2, 3}) {
      SCOPED_TRACE("n " + std::to_string(c.n) + " seed " + std::to_string(seed));
      const auto ps = topics(c.sizes);
      const auto chosen = select_kmeans(ps, c.n, seed, c.per_cluster);
      ASSERT_EQ(chosen.size(), c.n);
      EXPECT_EQ(std::set<size_t>(chosen.begin(), chosen.end()).size(), c.n);
      EXPECT_EQ(kmeans_clusters(c.n, ps.size(), c.per_cluster), 4);
      const auto got = per_topic(ps, chosen);
      if (!c.want.empty()) {
        EXPECT_EQ(got, c.want);
      } else {
        // Round robin: the two-prompt topic gives both, the others share the rest evenly.
        EXPECT_EQ(got.at('D'), 2);
        EXPECT_EQ(got.at('A') + got.at('B') + got.at('C'), 10);
        for (char t : {'A', 'B', 'C'}) {
          EXPECT_GE(got.at(t), 3);
          EXPECT_LE(got.at(t), 4);
        }
      }
      // The random arm of the same size usually misses a topic; k-means never does.
      EXPECT_EQ(got.size(), 4u);
      EXPECT_EQ(chosen, select_kmeans(ps, c.n, seed, c.per_cluster)) << "not deterministic";
    }
}

TEST(SftSelection, KMeansClusterCountIsTheCountOverPerClusterWithinTheSlice) {
  struct Case { size_t n, rows; int64_t per_cluster, want; };
  const Case cases[] = {{937, 1200, 4, 235}, {8, 24, 2, 4}, {9, 24, 2, 5}, {5, 3, 1, 3}, {0, 10, 4, 0}, {3, 10, 0, 3}};
  for (const Case& c : cases) EXPECT_EQ(kmeans_clusters(c.n, c.rows, c.per_cluster), c.want) << c.n << "/" << c.per_cluster;
}

// ------------------------------------------------------------------- longest

TEST(SftSelection, TheLongestArmTakesTheLongestInstructionsCountedInCharacters) {
  std::vector<PromptRecord> ps = {
      prompt("short", "abc"),                        // 3
      prompt("accents", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),  // 6 characters, 12 bytes
      prompt("eight", "abcdefgh"),                   // 8
      prompt("tie-1", "1234567"),                    // 7
      prompt("tie-2", "7654321"),                    // 7
  };
  // A multi-turn prompt counts every turn (joined by newlines): 2 + 1 + 2 + 1 + 2 = 8.
  PromptRecord multi = prompt("multi", "ab");
  multi.messages = {{"user", "ab"}, {"assistant", "cd"}, {"user", "ef"}};
  ps.push_back(multi);
  EXPECT_EQ(instruction_chars(ps[1]), 6);
  EXPECT_EQ(instruction_chars(multi), 8);
  struct Case { size_t n; std::vector<std::string> want; };
  const Case cases[] = {
      {1, {"eight"}},
      {2, {"eight", "multi"}},                       // equal lengths keep the slice's order
      {4, {"eight", "multi", "tie-1", "tie-2"}},
      {5, {"eight", "multi", "tie-1", "tie-2", "accents"}},  // 6 characters beat 3, though 12 bytes
      {9, {"eight", "multi", "tie-1", "tie-2", "accents", "short"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> got;
    for (size_t i : select_longest(ps, c.n)) got.push_back(ps[i].id);
    EXPECT_EQ(got, c.want) << "n " << c.n;
  }
}

TEST(SftSelection, TheLongestArmOnASliceTakesItsLongestPromptsNotTheLostOnes) {
  const Slice s = slice(4);  // the target lost q1..q4, the shortest prompts
  SftSelectionOptions o;
  o.method = SftSelection::Longest;
  o.margin = 3;
  const auto r = select_sft_data(s.battles, s.prompts, s.responses, kTarget, o);
  std::vector<std::string> ids;
  for (const auto& ex : r.examples) ids.push_back(ex.question_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"q12", "q11", "q10", "q9"}));
}

}  // namespace
