// Slice builders on constructed battles, with every expectation derived by hand: the SFT
// margin rule and winner choice, DPO best-vs-worst over per-prompt means, RM pairs, the
// counts, the pool split, and the written files read back by data/'s readers.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "arena/slices.h"
#include "core/error.h"
#include "core/json_io.h"
#include "data/preference_dataset.h"
#include "data/sft_dataset.h"
#include "tests/unit/data/tokenizer_fixture.h"

namespace {
using namespace fw::arena;
using fw::data::PromptRecord;

const std::string kTarget = "target";

// A battle whose two games give the same scores (model_a's, model_b's); the winner by the
// sum rule: the higher score, equal scores tie.
Battle fight(const std::string& qid, const std::string& a, const std::string& b, double sa, double sb) {
  Battle x;
  x.question_id = qid;
  x.model_a = a;
  x.model_b = b;
  x.winner = sa > sb ? Winner::ModelA : sb > sa ? Winner::ModelB : Winner::Tie;
  x.games = {{"ab", sa, sb, ""}, {"ba", sa, sb, ""}};
  return x;
}

// Two different games; the winner given.
Battle fight2(const std::string& qid, const std::string& a, const std::string& b, std::pair<double, double> g1,
              std::pair<double, double> g2, Winner w) {
  Battle x = fight(qid, a, b, 0, 0);
  x.games = {{"ab", g1.first, g1.second, ""}, {"ba", g2.first, g2.second, ""}};
  x.winner = w;
  return x;
}

std::map<std::string, PromptRecord> prompts(int n = 6) {
  std::map<std::string, PromptRecord> out;
  for (int i = 1; i <= n; ++i) {
    PromptRecord r;
    r.id = "q" + std::to_string(i);
    r.messages = {{"system", "Be brief."}, {"user", "question " + std::to_string(i)}};
    r.category = "math";
    out[r.id] = r;
  }
  return out;
}

std::string reply(const std::string& qid, const std::string& model) { return model + " answers " + qid; }

// Every model's response on every prompt, distinct texts.
ResponseTable all_responses(const std::vector<std::string>& models = {kTarget, "alpha", "beta", "gamma", "zeta"}) {
  ResponseTable t;
  for (const auto& [qid, p] : prompts())
    for (const std::string& m : models) t[{qid, m}] = reply(qid, m);
  return t;
}

int64_t chosen(const SliceStats& s, const std::string& m) { return s.by_model.count(m) ? s.by_model.at(m).chosen : -1; }
int64_t rejected(const SliceStats& s, const std::string& m) { return s.by_model.count(m) ? s.by_model.at(m).rejected : -1; }

// ---------------------------------------------------------------------------------- SFT

TEST(SftSlice, MarginIsKeptAtExactlyKAndDroppedJustBelow) {
  struct Case { double target, winner, k; bool kept; };
  const Case cases[] = {
      {4, 7, 3, true},        // margin 3 = K
      {4, 6.99, 3, false},    // 2.99 < 3
      {4, 6.999999, 3, false},
      {2, 9, 3, true},        // 7 > 3
      {5, 6, 1, true},        // K = 1 (later iterations)
      {5, 5.99, 1, false},
      {5, 5.5, 0, true},      // K = 0: any loss
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("target " + std::to_string(c.target) + " winner " + std::to_string(c.winner) + " K " +
                 std::to_string(c.k));
    // The target as model_b: the order of the pair does not matter.
    SliceStats st;
    auto out = build_sft_data({fight("q1", "alpha", kTarget, c.winner, c.target)}, prompts(), all_responses(), kTarget,
                              c.k, &st);
    ASSERT_EQ(out.size(), c.kept ? 1u : 0u);
    EXPECT_EQ(st.kept, c.kept ? 1 : 0);
    EXPECT_EQ(st.below_margin, c.kept ? 0 : 1);
    if (c.kept) {
      EXPECT_EQ(out[0].source_model, "alpha");
      EXPECT_NEAR(out[0].margin, c.winner - c.target, 1e-12);
    }
  }
}

TEST(SftSlice, ScoresAreTheMeanOverBothGames) {
  // alpha: (6.5 + 7.5) / 2 = 7, target: (4 + 4) / 2 = 4 -> margin 3 = K, kept.
  auto out = build_sft_data({fight2("q1", kTarget, "alpha", {4, 6.5}, {4, 7.5}, Winner::ModelB)}, prompts(),
                            all_responses(), kTarget, 3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_DOUBLE_EQ(out[0].margin, 3.0);
  // alpha: (6 + 7.5) / 2 = 6.75 -> margin 2.75 < 3: dropped although one game alone reaches 3.5.
  EXPECT_TRUE(build_sft_data({fight2("q1", kTarget, "alpha", {4, 6}, {4, 7.5}, Winner::ModelB)}, prompts(),
                             all_responses(), kTarget, 3)
                  .empty());
}

TEST(SftSlice, TheExampleIsThePromptPlusTheWinnersResponse) {
  auto out = build_sft_data({fight("q2", kTarget, "beta", 3, 9)}, prompts(), all_responses(), kTarget, 3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].question_id, "q2");
  ASSERT_EQ(out[0].messages.size(), 3u);
  EXPECT_EQ(out[0].messages[0].role, "system");
  EXPECT_EQ(out[0].messages[1].role, "user");
  EXPECT_EQ(out[0].messages[1].content, "question 2");
  EXPECT_EQ(out[0].messages[2].role, "assistant");
  EXPECT_EQ(out[0].messages[2].content, reply("q2", "beta"));
  EXPECT_EQ(out[0].source_model, "beta");
  EXPECT_DOUBLE_EQ(out[0].margin, 6);
}

TEST(SftSlice, ATieIsNotALoss) {
  // Equal scores; a tie verdict despite a score gap (agree mode: the games disagree); both bad.
  Battle agree_tie = fight2("q1", kTarget, "alpha", {2, 9}, {5, 4}, Winner::Tie);  // means 3.5 vs 6.5
  Battle both_bad = fight("q2", kTarget, "alpha", 1, 5);
  both_bad.winner = Winner::TieBothBad;
  SliceStats st;
  auto out = build_sft_data({fight("q3", kTarget, "alpha", 5, 5), agree_tie, both_bad}, prompts(), all_responses(),
                            kTarget, 1, &st);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(st.battles, 3);
  EXPECT_EQ(st.below_margin, 0);  // the target lost nowhere
  EXPECT_EQ(st.kept, 0);
}

TEST(SftSlice, TheTargetWinningGivesNothing) {
  SliceStats st;
  auto out = build_sft_data({fight("q1", kTarget, "alpha", 9, 2), fight("q2", "beta", kTarget, 3, 8)}, prompts(),
                            all_responses(), kTarget, 1, &st);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(st.kept, 0);
  EXPECT_EQ(st.prompts, 2);
}

TEST(SftSlice, BattlesBetweenCompetitorsAreIgnored) {
  auto out = build_sft_data({fight("q1", "alpha", "beta", 9, 1)}, prompts(), all_responses(), kTarget, 1);
  EXPECT_TRUE(out.empty());
}

TEST(SftSlice, TheBestScoringWinnerIsChosenThenTheLargerMarginThenTheName) {
  struct Case { std::vector<Battle> battles; std::string want; double margin; };
  const Case cases[] = {
      // alpha 8 (margin 4 over target 4), zeta 9 (margin 3 over target 6): the best score.
      {{fight("q1", kTarget, "alpha", 4, 8), fight("q1", "zeta", kTarget, 9, 6)}, "zeta", 3},
      // Both 8: alpha's margin 3 (target 5), zeta's 4 (target 4): the larger margin.
      {{fight("q1", kTarget, "alpha", 5, 8), fight("q1", kTarget, "zeta", 4, 8)}, "zeta", 4},
      // Both 8 by 4: the name.
      {{fight("q1", kTarget, "zeta", 4, 8), fight("q1", kTarget, "alpha", 4, 8)}, "alpha", 4},
      // gamma scores best (10) but beats the target by only 1 < K: not a candidate.
      {{fight("q1", kTarget, "gamma", 9, 10), fight("q1", kTarget, "beta", 3, 7)}, "beta", 4},
      // beta ties with the target on another battle; still the only one that beat it.
      {{fight("q1", kTarget, "beta", 6, 6), fight("q1", kTarget, "beta", 2, 8)}, "beta", 6},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    SliceStats st;
    auto out = build_sft_data(c.battles, prompts(), all_responses(), kTarget, 3, &st);
    ASSERT_EQ(out.size(), 1u);  // one example per prompt at most
    EXPECT_EQ(out[0].source_model, c.want);
    EXPECT_DOUBLE_EQ(out[0].margin, c.margin);
    EXPECT_EQ(out[0].messages.back().content, reply("q1", c.want));
    EXPECT_EQ(chosen(st, c.want), 1);
  }
}

TEST(SftSlice, OneExamplePerPromptInTheOrderPromptsFirstAppear) {
  const std::vector<Battle> battles = {
      fight("q3", kTarget, "alpha", 1, 9), fight("q1", kTarget, "alpha", 2, 8), fight("q3", kTarget, "beta", 1, 8),
      fight("q1", "beta", kTarget, 9, 2), fight("q2", kTarget, "beta", 7, 1), fight("q3", "gamma", kTarget, 7, 1)};
  SliceStats st;
  auto out = build_sft_data(battles, prompts(), all_responses(), kTarget, 3, &st);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].question_id, "q3");
  EXPECT_EQ(out[0].source_model, "alpha");  // 9 beats beta's 8 and gamma's 7
  EXPECT_EQ(out[1].question_id, "q1");
  EXPECT_EQ(out[1].source_model, "beta");  // 9 beats alpha's 8
  EXPECT_EQ(st.battles, 6);
  EXPECT_EQ(st.prompts, 3);
  EXPECT_EQ(st.kept, 2);
  EXPECT_EQ(chosen(st, "alpha"), 1);
  EXPECT_EQ(chosen(st, "beta"), 1);
  EXPECT_EQ(chosen(st, "gamma"), 0);
  EXPECT_EQ(chosen(st, kTarget), 0);
  EXPECT_EQ(rejected(st, kTarget), 0);  // SFT uses no target response
}

TEST(SftSlice, BattlesWithAnUnparseableGameAreSkippedAndCounted) {
  Battle half = fight("q1", kTarget, "alpha", 1, 9);
  half.games[1].score_a.reset();
  half.games[1].score_b.reset();
  Battle no_games = fight("q2", kTarget, "beta", 1, 9);
  no_games.games.clear();
  SliceStats st;
  auto out = build_sft_data({half, no_games, fight("q3", kTarget, "gamma", 1, 9)}, prompts(), all_responses(), kTarget,
                            3, &st);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].source_model, "gamma");
  EXPECT_EQ(st.battles, 3);
  EXPECT_EQ(st.skipped_unparseable, 2);
  EXPECT_EQ(st.kept, 1);
  EXPECT_EQ(st.by_model.count("alpha"), 0u);  // only models of usable battles get a row
}

TEST(SftSlice, AMissingResponseIsCountedAndThePromptSkipped) {
  ResponseTable r = all_responses();
  r.erase({"q1", "alpha"});
  r.erase({"q2", kTarget});  // the target's own response is never needed for SFT
  SliceStats st;
  auto out = build_sft_data({fight("q1", kTarget, "alpha", 1, 9), fight("q2", kTarget, "beta", 1, 9)}, prompts(), r,
                            kTarget, 3, &st);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].question_id, "q2");
  EXPECT_EQ(st.skipped_missing_response, 1);
  EXPECT_EQ(st.kept, 1);
}

TEST(SftSlice, ABattleOnAnUnknownPromptIsAnErrorNamingIt) {
  try {
    build_sft_data({fight("q99", kTarget, "alpha", 1, 9)}, prompts(), all_responses(), kTarget, 3);
    FAIL() << "no error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    EXPECT_NE(std::string(e.what()).find("q99"), std::string::npos) << e.what();
  }
}

TEST(SftSlice, StatsAreResetAndSerialised) {
  SliceStats st;
  st.kept = 42;
  st.by_model["stale"].chosen = 3;
  build_sft_data({fight("q1", kTarget, "alpha", 1, 9)}, prompts(), all_responses(), kTarget, 3, &st);
  const auto j = st.to_json();
  EXPECT_EQ(j["battles"], 1);
  EXPECT_EQ(j["kept"], 1);
  EXPECT_EQ(j["prompts"], 1);
  EXPECT_EQ(j["skipped_unparseable"], 0);
  EXPECT_EQ(j["by_model"]["alpha"]["chosen"], 1);
  EXPECT_EQ(j["by_model"]["target"]["rejected"], 0);
  EXPECT_FALSE(j["by_model"].contains("stale"));
}

// ---------------------------------------------------------------------------------- DPO

TEST(DpoSlice, BestVersusWorstAcrossAllModelsTargetIncluded) {
  // Means on q1: target (9 + 8) / 2 = 8.5, alpha (3 + 5) / 2 = 4, beta (5 + 6) / 2 = 5.5.
  const std::vector<Battle> battles = {fight("q1", kTarget, "alpha", 9, 3), fight("q1", "beta", kTarget, 5, 8),
                                       fight("q1", "alpha", "beta", 5, 6)};
  SliceStats st;
  auto out = build_dpo_data(battles, prompts(), all_responses(), 2, &st);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].question_id, "q1");
  EXPECT_EQ(out[0].chosen_model, kTarget);
  EXPECT_EQ(out[0].rejected_model, "alpha");
  EXPECT_EQ(out[0].chosen, reply("q1", kTarget));
  EXPECT_EQ(out[0].rejected, reply("q1", "alpha"));
  EXPECT_DOUBLE_EQ(out[0].score_gap, 4.5);
  ASSERT_EQ(out[0].prompt.size(), 2u);
  EXPECT_EQ(out[0].prompt[1].content, "question 1");
  EXPECT_EQ(chosen(st, kTarget), 1);
  EXPECT_EQ(rejected(st, "alpha"), 1);
  EXPECT_EQ(chosen(st, "beta"), 0);
  EXPECT_EQ(rejected(st, "beta"), 0);
}

TEST(DpoSlice, TheGapMustReachK) {
  struct Case { double best, worst, k; bool kept; };
  const Case cases[] = {{7, 5, 2, true}, {7, 5.01, 2, false}, {9, 1, 2, true}, {6, 5, 1, true}, {6, 5.5, 1, false}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.best) + " vs " + std::to_string(c.worst) + " K " + std::to_string(c.k));
    SliceStats st;
    auto out = build_dpo_data({fight("q1", "alpha", "beta", c.worst, c.best)}, prompts(), all_responses(), c.k, &st);
    ASSERT_EQ(out.size(), c.kept ? 1u : 0u);
    EXPECT_EQ(st.below_margin, c.kept ? 0 : 1);
    if (c.kept) {
      EXPECT_EQ(out[0].chosen_model, "beta");
      EXPECT_NEAR(out[0].score_gap, c.best - c.worst, 1e-12);
    }
  }
}

TEST(DpoSlice, AModelsScoreIsItsMeanOverItsBattlesOnThePrompt) {
  // alpha: 9 vs target, 3 vs beta -> 6; target: 5; beta: 7 (one battle, mean over games
  // (6 + 8) / 2). Best beta 7, worst target 5: gap 2. A single battle would pick alpha.
  const std::vector<Battle> battles = {fight("q1", kTarget, "alpha", 5, 9),
                                       fight2("q1", "alpha", "beta", {3, 6}, {3, 8}, Winner::ModelB)};
  auto out = build_dpo_data(battles, prompts(), all_responses(), 2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].chosen_model, "beta");
  EXPECT_EQ(out[0].rejected_model, kTarget);
  EXPECT_DOUBLE_EQ(out[0].score_gap, 2);
  // With K = 2.5 the averaged gap falls short, although alpha's 9 vs 3 alone is 6.
  EXPECT_TRUE(build_dpo_data(battles, prompts(), all_responses(), 2.5).empty());
}

TEST(DpoSlice, EqualMeansGoInNameOrder) {
  // Best tie alpha / beta at 8 -> alpha (first name); worst tie beta / gamma at 2 -> gamma
  // (the last name: the order is one ranking, score then name).
  auto top = build_dpo_data({fight("q1", "beta", "gamma", 8, 2), fight("q1", "alpha", "gamma", 8, 2)}, prompts(),
                            all_responses(), 2);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].chosen_model, "alpha");
  EXPECT_EQ(top[0].rejected_model, "gamma");
  auto bottom = build_dpo_data({fight("q1", "alpha", "beta", 8, 2), fight("q1", "alpha", "gamma", 8, 2)}, prompts(),
                               all_responses(), 2);
  ASSERT_EQ(bottom.size(), 1u);
  EXPECT_EQ(bottom[0].chosen_model, "alpha");
  EXPECT_EQ(bottom[0].rejected_model, "gamma");
}

TEST(DpoSlice, IdenticalResponsesAreSkippedAndCounted) {
  ResponseTable r = all_responses();
  r[{"q1", "beta"}] = r[{"q1", "alpha"}];
  SliceStats st;
  auto out = build_dpo_data({fight("q1", "alpha", "beta", 9, 2), fight("q2", "alpha", "beta", 9, 2)}, prompts(), r, 2,
                            &st);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].question_id, "q2");
  EXPECT_EQ(st.skipped_identical, 1);
  EXPECT_EQ(st.kept, 1);
  EXPECT_EQ(chosen(st, "alpha"), 1);
  EXPECT_EQ(rejected(st, "beta"), 1);
}

TEST(DpoSlice, OnePairPerPromptUnparseableAndMissingCounted) {
  Battle bad = fight("q1", "alpha", kTarget, 1, 10);
  bad.games[0].score_a.reset();
  ResponseTable r = all_responses();
  r.erase({"q3", "beta"});
  SliceStats st;
  auto out = build_dpo_data({fight("q1", kTarget, "alpha", 9, 2), bad, fight("q1", kTarget, "beta", 7, 4),
                             fight("q2", kTarget, "alpha", 1, 8), fight("q3", "beta", "gamma", 1, 8)},
                            prompts(), r, 2, &st);
  // q1 (the unparseable battle left out): target 8, alpha 2, beta 4 -> target vs alpha, 6.
  // q2: alpha vs target, 7. q3: beta's response missing.
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].question_id, "q1");
  EXPECT_EQ(out[0].chosen_model, kTarget);
  EXPECT_EQ(out[0].rejected_model, "alpha");
  EXPECT_DOUBLE_EQ(out[0].score_gap, 6);
  EXPECT_EQ(out[1].chosen_model, "alpha");
  EXPECT_EQ(out[1].rejected_model, kTarget);
  EXPECT_EQ(st.battles, 5);
  EXPECT_EQ(st.prompts, 3);
  EXPECT_EQ(st.skipped_unparseable, 1);
  EXPECT_EQ(st.skipped_missing_response, 1);
  EXPECT_EQ(st.kept, 2);
  EXPECT_EQ(chosen(st, kTarget), 1);
  EXPECT_EQ(rejected(st, kTarget), 1);
  EXPECT_EQ(chosen(st, "alpha"), 1);
  EXPECT_EQ(rejected(st, "alpha"), 1);
  EXPECT_EQ(chosen(st, "gamma"), 0);
}

// ----------------------------------------------------------------------------------- RM

TEST(OnPolicyDpoSlice, TheTargetsOwnAnswerOnOneSideOfEveryPair) {
  // q1: the target 4 loses to alpha 9 and beta 7 -> (alpha, target), gap 5.
  // q2: the target 8 beats alpha 3; beta 8 ties -> it did not lose by K; it beat the worst
  //     (alpha) by 5 -> (target, alpha) both ways, nothing with target_lost.
  // q3: the target 5 loses to beta 6 only: gap 1 < K = 2, and beats nobody -> below the margin.
  // q4: the worst is a competitor (gamma 1) and the target in between (4) loses to alpha 10:
  //     the rejected side is the target's answer, never gamma's (the paper's choice).
  const std::vector<Battle> battles = {
      fight("q1", kTarget, "alpha", 4, 9), fight("q1", "beta", kTarget, 7, 4),
      fight("q2", kTarget, "alpha", 8, 3), fight("q2", kTarget, "beta", 8, 8),
      fight("q3", kTarget, "beta", 5, 6),
      fight("q4", kTarget, "alpha", 4, 10), fight("q4", "gamma", kTarget, 1, 4)};
  SliceStats st;
  auto lost = build_on_policy_dpo_data(battles, prompts(), all_responses(), kTarget, 2, false, &st);
  ASSERT_EQ(lost.size(), 2u);
  EXPECT_EQ(lost[0].question_id, "q1");
  EXPECT_EQ(lost[0].chosen_model, "alpha");
  EXPECT_EQ(lost[0].rejected_model, kTarget);
  EXPECT_EQ(lost[0].rejected, reply("q1", kTarget));
  EXPECT_DOUBLE_EQ(lost[0].score_gap, 5);
  EXPECT_EQ(lost[1].question_id, "q4");
  EXPECT_EQ(lost[1].chosen_model, "alpha");
  EXPECT_EQ(lost[1].rejected_model, kTarget);
  EXPECT_DOUBLE_EQ(lost[1].score_gap, 6);
  EXPECT_EQ(st.below_margin, 2);  // q2 and q3
  EXPECT_EQ(rejected(st, kTarget), 2);
  EXPECT_EQ(rejected(st, "gamma"), 0);

  auto both = build_on_policy_dpo_data(battles, prompts(), all_responses(), kTarget, 2, true, &st);
  ASSERT_EQ(both.size(), 3u);
  EXPECT_EQ(both[1].question_id, "q2");
  EXPECT_EQ(both[1].chosen_model, kTarget);
  EXPECT_EQ(both[1].chosen, reply("q2", kTarget));
  EXPECT_EQ(both[1].rejected_model, "alpha");
  EXPECT_DOUBLE_EQ(both[1].score_gap, 5);
  EXPECT_EQ(st.below_margin, 1);  // q3
  EXPECT_EQ(chosen(st, kTarget), 1);
  EXPECT_EQ(rejected(st, kTarget), 2);
  for (const auto& p : both) EXPECT_TRUE(p.chosen_model == kTarget || p.rejected_model == kTarget) << p.question_id;

  // The paper's choice on the same battles takes gamma as q4's rejected side.
  auto paper = build_dpo_data(battles, prompts(), all_responses(), 2);
  ASSERT_GE(paper.size(), 3u);
  EXPECT_EQ(paper.back().rejected_model, "gamma");
}

TEST(OnPolicyDpoSlice, NoPairWithoutTheTargetAndNamesParse) {
  // The target beats its only competitor by 7: chosen both ways, nothing when only losses count.
  EXPECT_TRUE(build_on_policy_dpo_data({fight("q1", kTarget, "alpha", 9, 2)}, prompts(), all_responses(), kTarget, 2,
                                       false).empty());
  EXPECT_EQ(build_on_policy_dpo_data({fight("q1", kTarget, "alpha", 9, 2)}, prompts(), all_responses(), kTarget, 2, true)
                .size(),
            1u);
  // A prompt the target never battled on gives no pair.
  EXPECT_TRUE(build_on_policy_dpo_data({fight("q1", "alpha", "beta", 9, 2)}, prompts(), all_responses(), kTarget, 2,
                                       true).empty());
  for (const auto p : {DpoPairs::BestVsWorst, DpoPairs::OnPolicy, DpoPairs::TargetLost})
    EXPECT_EQ(dpo_pairs_from_name(dpo_pairs_name(p)), p);
  EXPECT_EQ(dpo_pairs_name(DpoPairs::OnPolicy), "on_policy");
  EXPECT_THROW(dpo_pairs_from_name("onpolicy"), fw::Error);
}

TEST(RmSlice, EveryClearWinnerTiesSkipped) {
  Battle both_bad = fight("q3", "alpha", "gamma", 2, 1);
  both_bad.winner = Winner::TieBothBad;
  Battle bad = fight("q4", "alpha", "beta", 9, 1);
  bad.games[1].score_b.reset();
  SliceStats st;
  auto out = build_rm_data({fight("q2", "alpha", kTarget, 8, 5), fight("q1", kTarget, "beta", 5, 5),
                            fight("q1", "beta", "gamma", 3, 9), both_bad, bad, fight("q2", "beta", kTarget, 7, 5)},
                           prompts(), all_responses(), &st);
  ASSERT_EQ(out.size(), 3u);  // in battle order, several per prompt
  EXPECT_EQ(out[0].question_id, "q2");
  EXPECT_EQ(out[0].chosen_model, "alpha");
  EXPECT_EQ(out[0].rejected_model, kTarget);
  EXPECT_EQ(out[0].chosen, reply("q2", "alpha"));
  EXPECT_EQ(out[0].rejected, reply("q2", kTarget));
  EXPECT_DOUBLE_EQ(out[0].score_gap, 3);
  EXPECT_EQ(out[1].question_id, "q1");
  EXPECT_EQ(out[1].chosen_model, "gamma");  // model_b won
  EXPECT_EQ(out[1].rejected_model, "beta");
  EXPECT_DOUBLE_EQ(out[1].score_gap, 6);
  EXPECT_EQ(out[2].chosen_model, "beta");
  EXPECT_DOUBLE_EQ(out[2].score_gap, 2);
  EXPECT_EQ(st.battles, 6);
  EXPECT_EQ(st.prompts, 4);
  EXPECT_EQ(st.skipped_unparseable, 1);
  EXPECT_EQ(st.kept, 3);
  EXPECT_EQ(chosen(st, "alpha"), 1);
  EXPECT_EQ(rejected(st, kTarget), 2);
  EXPECT_EQ(chosen(st, "gamma"), 1);
  EXPECT_EQ(chosen(st, "beta"), 1);
  EXPECT_EQ(rejected(st, "beta"), 1);
  EXPECT_EQ(chosen(st, kTarget), 0);
}

TEST(RmSlice, IdenticalAndMissingResponsesAreSkippedAndCounted) {
  ResponseTable r = all_responses();
  r[{"q1", "beta"}] = r[{"q1", "alpha"}];
  r.erase({"q2", "alpha"});
  SliceStats st;
  auto out = build_rm_data({fight("q1", "alpha", "beta", 9, 1), fight("q2", "alpha", "beta", 1, 9),
                            fight("q3", "alpha", "beta", 1, 9)},
                           prompts(), r, &st);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].question_id, "q3");
  EXPECT_EQ(st.skipped_identical, 1);
  EXPECT_EQ(st.skipped_missing_response, 1);
  EXPECT_EQ(st.kept, 1);
}

// --------------------------------------------------------------------- response table

TEST(ResponseTable, ReadsQuestionAndModelLaterRecordsWin) {
  const std::string dir = fw::data::testing::scratch_dir("slices_responses");
  fw::data::testing::write_file(
      dir + "/responses.jsonl",
      R"({"key": "k1", "value": {"question_id": "q1", "model": "alpha", "content": "old", "finish_reason": "stop", "simulated": true}})"
      "\n"
      R"({"key": "k2", "value": {"question_id": 7, "model": "beta", "content": "seven", "finish_reason": "length", "simulated": false}})"
      "\n\n"
      R"({"key": "k3", "value": {"question_id": "q1", "model": "alpha", "content": "new", "finish_reason": "stop", "simulated": true}})"
      "\n");
  ResponseTable t = read_response_table(dir + "/responses.jsonl");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ((t[{"q1", "alpha"}]), "new");
  EXPECT_EQ((t[{"7", "beta"}]), "seven");

  fw::data::testing::write_file(dir + "/bad.jsonl", R"({"key": "k1", "value": {"question_id": "q1", "content": "x"}})"
                                                    "\n");
  try {
    read_response_table(dir + "/bad.jsonl");
    FAIL() << "no error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("model"), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------------- pool split

std::vector<PromptRecord> pool(int n) {
  std::vector<PromptRecord> out;
  for (int i = 0; i < n; ++i) {
    PromptRecord r;
    r.id = "p" + std::to_string(i);
    r.messages = {{"user", "prompt " + std::to_string(i)}};
    out.push_back(r);
  }
  return out;
}

std::vector<std::string> ids(const std::vector<PromptRecord>& v) {
  std::vector<std::string> out;
  for (const auto& r : v) out.push_back(r.id);
  return out;
}

std::vector<std::string> all_ids(const PoolSplit& s) {
  std::vector<std::string> out = ids(s.d0);
  for (const auto& slice : s.slices)
    for (const auto& id : ids(slice)) out.push_back(id);
  return out;
}

TEST(SplitPool, SizesAreRightAndThePartsDisjoint) {
  const PoolSplit s = split_pool(pool(50), 10, 8, 3, 7);
  EXPECT_EQ(s.d0.size(), 10u);
  ASSERT_EQ(s.slices.size(), 3u);
  for (const auto& slice : s.slices) EXPECT_EQ(slice.size(), 8u);
  const auto every = all_ids(s);
  const std::set<std::string> distinct(every.begin(), every.end());
  EXPECT_EQ(distinct.size(), 34u);  // disjoint: no prompt in two parts
  for (const auto& id : distinct) EXPECT_EQ(id[0], 'p');
  // A shuffle, not the pool's order.
  const auto in_order = pool(50);
  EXPECT_NE(ids(s.d0), ids(std::vector<PromptRecord>(in_order.begin(), in_order.begin() + 10)));
  // The records travel whole.
  for (const auto& r : s.d0) EXPECT_EQ(r.messages.at(0).content, "prompt " + r.id.substr(1));
}

TEST(SplitPool, ExactlyEnoughUsesTheWholePool) {
  const PoolSplit s = split_pool(pool(20), 5, 5, 3, 1);
  const auto every = all_ids(s);
  EXPECT_EQ(std::set<std::string>(every.begin(), every.end()).size(), 20u);
  const PoolSplit none = split_pool(pool(3), 0, 0, 0, 1);
  EXPECT_TRUE(none.d0.empty());
  EXPECT_TRUE(none.slices.empty());
}

TEST(SplitPool, DeterministicForASeedDifferentForAnother) {
  const auto a = all_ids(split_pool(pool(50), 10, 8, 3, 7));
  EXPECT_EQ(a, all_ids(split_pool(pool(50), 10, 8, 3, 7)));
  EXPECT_NE(a, all_ids(split_pool(pool(50), 10, 8, 3, 8)));
  // Pinned: fw::Rng is the same everywhere, so a seed names one split for good (a change
  // here re-splits every recorded flywheel run).
  const PoolSplit pinned = split_pool(pool(10), 3, 2, 2, 7);
  EXPECT_EQ(ids(pinned.d0), (std::vector<std::string>{"p8", "p3", "p9"}));
  EXPECT_EQ(ids(pinned.slices.at(0)), (std::vector<std::string>{"p0", "p7"}));
  EXPECT_EQ(ids(pinned.slices.at(1)), (std::vector<std::string>{"p2", "p1"}));
}

TEST(SplitPool, TooSmallAPoolIsAnErrorNamingTheSizes) {
  try {
    split_pool(pool(50), 10, 8, 6, 7);  // needs 10 + 6 * 8 = 58
    FAIL() << "no error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    const std::string what = e.what();
    EXPECT_NE(what.find("50"), std::string::npos) << what;
    EXPECT_NE(what.find("58"), std::string::npos) << what;
  }
  EXPECT_THROW(split_pool(pool(50), -1, 8, 1, 7), fw::Error);
  EXPECT_THROW(split_pool(pool(50), 1, 8, -1, 7), fw::Error);
}

// -------------------------------------------------------------------- files read back

std::vector<nlohmann::json> lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  fw::for_each_jsonl(path, [&](const nlohmann::json& j, long) { out.push_back(j); });
  return out;
}

TEST(SliceFiles, SftExamplesReadBackBySftDataset) {
  const std::string dir = fw::data::testing::scratch_dir("slices_sft");
  auto examples = build_sft_data({fight("q1", kTarget, "alpha", 1, 9), fight("q2", "beta", kTarget, 8, 4)}, prompts(),
                                 all_responses(), kTarget, 3);
  ASSERT_EQ(examples.size(), 2u);
  write_sft_examples(dir + "/sft.jsonl", examples);
  const auto recs = lines(dir + "/sft.jsonl");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0]["id"], "q1");
  EXPECT_EQ(recs[0]["source_model"], "alpha");
  EXPECT_EQ(recs[0]["margin"], 8.0);
  EXPECT_EQ(recs[1]["messages"][2]["content"], reply("q2", "beta"));
  EXPECT_EQ(recs[1]["messages"][2]["role"], "assistant");

  for (auto kind : {fw::data::TemplateKind::ChatMl, fw::data::TemplateKind::Llama2}) {
    fw::data::SftDataOptions opts;
    opts.chat_template = kind;
    auto ds = fw::data::load_sft_jsonl({dir + "/sft.jsonl"}, fw::data::testing::shared_tokenizer(), opts);
    EXPECT_EQ(ds.stats.read, 2);
    EXPECT_EQ(ds.stats.kept, 2);
    EXPECT_GT(ds.stats.trainable_tokens, 0);
  }
}

TEST(SliceFiles, PreferenceRecordsReadBackByPreferenceDatasetWithoutAMargin) {
  const std::string dir = fw::data::testing::scratch_dir("slices_pref");
  auto records = build_rm_data({fight("q1", kTarget, "alpha", 1, 9), fight("q2", "beta", kTarget, 8, 4)}, prompts(),
                               all_responses());
  ASSERT_EQ(records.size(), 2u);
  write_preference_records(dir + "/pref.jsonl", records);
  const auto recs = lines(dir + "/pref.jsonl");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_FALSE(recs[0].contains("margin"));
  EXPECT_EQ(recs[0]["id"], "q1");
  EXPECT_EQ(recs[0]["chosen_model"], "alpha");
  EXPECT_EQ(recs[0]["rejected_model"], kTarget);
  EXPECT_EQ(recs[0]["score_gap"], 8.0);
  EXPECT_EQ(recs[0]["chosen"], nlohmann::json::parse(R"([{"role": "assistant", "content": "alpha answers q1"}])"));
  EXPECT_EQ(recs[0]["rejected"][0]["content"], reply("q1", kTarget));
  EXPECT_EQ(recs[0]["prompt"].size(), 2u);

  fw::data::PreferenceDataOptions opts;
  opts.chat_template = fw::data::TemplateKind::ChatMl;
  auto ds = fw::data::load_preference_jsonl({dir + "/pref.jsonl"}, fw::data::testing::shared_tokenizer(), opts);
  EXPECT_EQ(ds.stats.read, 2);
  EXPECT_EQ(ds.stats.kept, 2);
  EXPECT_EQ(ds.stats.with_margin, 0);
  EXPECT_EQ(ds.stats.implicit_prompt, 0);
  for (const auto& ex : ds.examples) {
    EXPECT_EQ(ex.margin, 0);
    EXPECT_NE(ex.chosen_ids, ex.rejected_ids);
  }
}

TEST(SliceFiles, PromptRecordsReadBackByPromptDataset) {
  const std::string dir = fw::data::testing::scratch_dir("slices_prompts");
  std::vector<PromptRecord> ps = pool(3);
  ps[0].category = "code";
  ps[1].reference = "42";
  ps[1].has_reference = true;
  ps[2].messages = {{"system", "s"}, {"user", "u1"}, {"assistant", "a1"}, {"user", "u2"}};
  write_prompt_records(dir + "/prompts.jsonl", ps);
  const auto back = fw::data::read_prompt_records({dir + "/prompts.jsonl"});
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].id, ps[i].id);
    EXPECT_EQ(back[i].category, ps[i].category);
    EXPECT_EQ(back[i].has_reference, ps[i].has_reference);
    EXPECT_EQ(back[i].reference, ps[i].reference);
    ASSERT_EQ(back[i].messages.size(), ps[i].messages.size());
    for (size_t m = 0; m < ps[i].messages.size(); ++m) {
      EXPECT_EQ(back[i].messages[m].role, ps[i].messages[m].role);
      EXPECT_EQ(back[i].messages[m].content, ps[i].messages[m].content);
    }
  }
  EXPECT_FALSE(lines(dir + "/prompts.jsonl")[0].contains("reference"));
  // An empty slice writes an empty file (atomically replacing an old one).
  write_prompt_records(dir + "/prompts.jsonl", {});
  EXPECT_TRUE(lines(dir + "/prompts.jsonl").empty());
}

}  // namespace
