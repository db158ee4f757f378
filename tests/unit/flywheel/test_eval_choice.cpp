// The flywheel's evaluation choices: the validation split held out of the pool, the
// snapshot that goes on chosen on the validation board (not the test board), and the
// eval section's anchor (a model of every evaluation, checked at config time).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "config/recipe.h"
#include "core/error.h"
#include "flywheel/evaluation.h"
#include "flywheel/flywheel_recipe.h"
#include "flywheel/validation_split.h"

namespace fw::flywheel {
namespace {

data::PromptRecord prompt(const std::string& id, const std::string& text) {
  data::PromptRecord p;
  p.id = id;
  p.messages = {{"user", text}};
  return p;
}

// n prompts of distinct wording (no two near duplicates).
std::vector<data::PromptRecord> pool_of(int n) {
  std::vector<data::PromptRecord> pool;
  const char* words[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"};
  for (int i = 0; i < n; ++i)
    pool.push_back(prompt("p" + std::to_string(i), std::string(words[i % 10]) + " " + std::to_string(i * 7919) + " " +
                                                       words[(i / 10) % 10] + " question number " + std::to_string(i)));
  return pool;
}

std::set<std::string> ids(const std::vector<data::PromptRecord>& v) {
  std::set<std::string> s;
  for (const auto& p : v) s.insert(p.id);
  return s;
}

TEST(ValidationSplit, HoldsOutASeededDisjointSampleAndKeepsTheRestInOrder) {
  const auto pool = pool_of(60);
  const ValidationSplit a = split_validation(pool, 12, 7, true);
  ASSERT_EQ(a.validation.size(), 12u);
  ASSERT_EQ(a.rest.size(), 48u);
  EXPECT_EQ(a.removed.removed(), 0);
  std::set<std::string> both = ids(a.validation);
  for (const auto& id : ids(a.rest)) EXPECT_TRUE(both.insert(id).second) << id << " is on both sides";
  EXPECT_EQ(both, ids(pool));
  // The rest keeps the pool's order (the later D0/slice draw shuffles it with its own seed).
  for (size_t i = 1; i < a.rest.size(); ++i)
    EXPECT_LT(std::stoi(a.rest[i - 1].id.substr(1)), std::stoi(a.rest[i].id.substr(1)));
  // Seeded: the same seed draws the same prompts, another seed others; not simply the first.
  EXPECT_EQ(ids(split_validation(pool, 12, 7, true).validation), ids(a.validation));
  EXPECT_NE(ids(split_validation(pool, 12, 8, true).validation), ids(a.validation));
  EXPECT_NE(ids(a.validation), ids({pool.begin(), pool.begin() + 12}));
}

TEST(ValidationSplit, DropsTheRestsDuplicatesOfValidationPrompts) {
  // Every prompt twice (a pool with repeats, as the synthetic domain's easy levels have).
  auto pool = pool_of(40);
  for (int i = 0; i < 40; ++i) pool.push_back(prompt("c" + std::to_string(i), pool[static_cast<size_t>(i)].messages[0].content));
  const ValidationSplit s = split_validation(pool, 5, 3, true);
  ASSERT_EQ(s.validation.size(), 5u);
  std::set<std::string> held;
  for (const auto& p : s.validation) held.insert(p.messages[0].content);
  for (const auto& p : s.rest) EXPECT_EQ(held.count(p.messages[0].content), 0u) << p.id << " repeats a validation prompt";
  // An odd number drawn: at least one twin was left in the rest and is gone.
  EXPECT_GE(s.removed.exact_duplicate, 1);
  EXPECT_EQ(s.rest.size() + s.validation.size() + static_cast<size_t>(s.removed.removed()), pool.size());
  // Without decontamination they stay.
  const ValidationSplit kept = split_validation(pool, 5, 3, false);
  EXPECT_EQ(kept.rest.size() + kept.validation.size(), pool.size());
  EXPECT_EQ(ids(kept.validation), ids(s.validation));
}

TEST(ValidationSplit, NoneIsThePoolAsItIsAndTooManyIsRefusedNamingTheKey) {
  const auto pool = pool_of(10);
  const ValidationSplit none = split_validation(pool, 0, 1, true);
  EXPECT_TRUE(none.validation.empty());
  EXPECT_EQ(ids(none.rest), ids(pool));
  try {
    split_validation(pool, 11, 1, true);
    FAIL() << "expected an fw::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.context().key, "eval.validation_prompts");
  }
}

arena::Leaderboard board(const std::vector<std::pair<std::string, double>>& elo) {
  arena::Leaderboard lb;
  for (const auto& [m, e] : elo) {
    arena::LeaderboardEntry x;
    x.model = m;
    x.elo = e;
    lb.entries.push_back(x);
  }
  return lb;
}

TEST(ChooseBest, FollowsTheBoardItIsGivenOnlyAmongTheCandidates) {
  // The validation split and the test set disagree: the choice is the validation board's.
  const std::vector<std::string> candidates = {"t-I0", "t-I1-sft", "t-I1-dpo"};
  const auto validation = board({{"sim", 1100}, {"t-I0", 900}, {"t-I1-sft", 1010}, {"t-I1-dpo", 980}});
  const auto test = board({{"sim", 1100}, {"t-I0", 900}, {"t-I1-sft", 990}, {"t-I1-dpo", 1020}});
  EXPECT_EQ(choose_best(candidates, validation), "t-I1-sft");
  EXPECT_EQ(choose_best(candidates, test), "t-I1-dpo");
  // A tie keeps the earlier candidate (the iteration's start); a missing or NaN one never wins.
  EXPECT_EQ(choose_best(candidates, board({{"t-I0", 950}, {"t-I1-sft", 950}, {"t-I1-dpo", 900}})), "t-I0");
  EXPECT_EQ(choose_best(candidates, board({{"t-I1-dpo", 800}, {"t-I1-sft", std::nan("")}})), "t-I1-dpo");
}

const char* kRecipe = R"(output_dir: out
target: {name: t}
competitors:
  - {name: sim-a, kind: simulated}
  - {name: sim-b, kind: simulated}
pool: {files: [pool.jsonl]}
eval:
  prompts: [test.jsonl]
)";

TEST(EvalAnchor, DefaultsToTheFirstCompetitorAndRefusesAnUnknownModelAtItsKey) {
  const auto r = config::parse_recipe_string<FlywheelRecipe>(kRecipe, "flywheel.yaml");
  EXPECT_EQ(eval_anchor_model(r), "sim-a");
  EXPECT_EQ(r.eval.anchor.elo, 1000.0);
  EXPECT_EQ(r.eval.validation_prompts, 200);
  EXPECT_EQ(eval_anchor_model(config::parse_recipe_string<FlywheelRecipe>(
                std::string(kRecipe) + "  anchor: {model: sim-b, elo: 1200}\n", "flywheel.yaml")),
            "sim-b");
  EXPECT_EQ(eval_anchor_model(config::parse_recipe_string<FlywheelRecipe>(kRecipe, "flywheel.yaml", {"eval.anchor.model=t-I0"})),
            "t-I0");  // the starting snapshot is in every evaluation too
  try {
    config::parse_recipe_string<FlywheelRecipe>(std::string(kRecipe) + "  anchor: {model: sim-c}\n", "flywheel.yaml");
    FAIL() << "expected an fw::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.context().key, "eval.anchor.model");
    EXPECT_EQ(e.context().line, 9);  // the value's own line
    EXPECT_NE(std::string(e.what()).find("sim-a"), std::string::npos) << e.what();  // the names it may be
  }
}

}  // namespace
}  // namespace fw::flywheel
