// The battle runner on the synthetic domain, with simulated competitors and the rule judge
// (and an LLM judge behind a scripted backend): every pair battles on every prompt, twice
// per pair; reruns and resumed crashes make no request twice and write no battle twice;
// failed requests leave their battles for the rerun; unparseable judgments are kept apart.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "arena/battle_runner.h"
#include "arena/llm_judge.h"
#include "arena/simulated_competitor.h"
#include "core/json_io.h"
#include "data/synth/tasks.h"
#include "tests/support/test_tmp.h"

namespace {
using namespace fw;
using namespace fw::arena;
namespace fs = std::filesystem;

std::vector<data::PromptRecord> synth_prompts(int64_t n, uint64_t seed = 1) {
  std::vector<data::PromptRecord> out;
  for (const synth::Task& t : synth::generate_tasks({.n = n, .seed = seed})) {
    data::PromptRecord r;
    r.id = t.id;
    r.messages = t.messages;
    r.category = t.category;
    r.reference = t.reference;
    r.has_reference = true;
    out.push_back(r);
  }
  return out;
}

SimulatedOptions sim(const std::string& name, double acc) { return {.name = name, .accuracy = acc, .seed = 7}; }

// Counts what it is asked; optionally fails on chosen prompt ids.
class Counting : public Competitor {
 public:
  explicit Counting(SimulatedOptions o) : inner_(std::move(o)) {}
  const std::string& name() const override { return inner_.name(); }
  nlohmann::json identity() const override { return inner_.identity(); }
  bool simulated() const override { return true; }
  void respond(const std::vector<const data::PromptRecord*>& prompts, const ReplyFn& on_done) override {
    ++responds;
    for (size_t i = 0; i < prompts.size(); ++i) {
      ++asked;
      if (fail_ids.count(prompts[i]->id)) {
        const Error e(ErrorKind::Runtime, "connection refused (test)");
        on_done(i, nullptr, &e);
        continue;
      }
      const auto r = inner_.answer(*prompts[i]);
      on_done(i, &r, nullptr);
    }
  }
  void release() override { ++released; }
  int64_t asked = 0, released = 0, responds = 0;
  std::set<std::string> fail_ids;

 private:
  SimulatedCompetitor inner_;
};

// The rule judge, counting, and able to "crash" the process (an exception that is not
// an fw::Error) after a given number of judgments.
class CountingRule : public Judge {
 public:
  const std::string& name() const override { return inner_.name(); }
  nlohmann::json identity() const override { return inner_.identity(); }
  void judge(const std::vector<JudgeRequest>& reqs, const JudgeFn& on_done) override {
    inner_.judge(reqs, [&](size_t i, const JudgeOutcome* o, const Error* e) {
      if (crash_after >= 0 && asked == crash_after) throw std::runtime_error("killed");
      ++asked;
      on_done(i, o, e);
    });
  }
  int64_t asked = 0, crash_after = -1;

 private:
  RuleJudge inner_;
};

std::vector<nlohmann::json> lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  if (fs::exists(path)) for_each_jsonl(path, [&](const nlohmann::json& j, long) { out.push_back(j); });
  return out;
}

BattleRunOptions opts(const std::string& dir) {
  BattleRunOptions o;
  o.out_dir = dir;
  o.chunk_prompts = 8;
  o.record_time = false;
  return o;
}

TEST(BattleRunner, EveryPairBattlesTwiceOnEveryPromptAndTheRuleJudgeIsConsistent) {
  const auto prompts = synth_prompts(30);
  Counting strong(sim("strong", 0.9)), mid(sim("mid", 0.6)), weak(sim("weak", 0.2));
  CountingRule judge;
  const std::string dir = fw::testing::tmp_dir() + "/all_pairs";
  const auto s = run_battles(prompts, {&strong, &mid, &weak}, judge, opts(dir));
  EXPECT_EQ(s.battles_planned, 90);
  EXPECT_EQ(s.battles_written, 90);
  EXPECT_EQ(s.responses_requested, 90);  // 3 models x 30 prompts, each asked once
  // Two games per battle, less the games whose (prompt, first, second) another game already
  // had: equal answers make equal judge inputs, judged once.
  EXPECT_EQ(judge.asked, s.judgments_requested);
  EXPECT_LE(judge.asked, 180);
  EXPECT_GT(judge.asked, 90);
  EXPECT_EQ(s.consistency.at("rule").second, 0);  // a rule cannot be swayed by position
  const auto battles = lines(dir + "/battles.jsonl");
  ASSERT_EQ(battles.size(), 90u);
  std::map<std::string, int> wins;
  for (const auto& b : battles) {
    ASSERT_EQ(b["games"].size(), 2u);
    EXPECT_EQ(b["games"][0]["order"], "ab");
    // The swapped game gives each model the same score (the rule judge ignores position).
    EXPECT_EQ(b["games"][0]["score_a"], b["games"][1]["score_a"]);
    const std::string w = b["winner"];
    if (w == "model_a" || w == "model_b") ++wins[b[w].get<std::string>()];
  }
  EXPECT_GT(wins["strong"], wins["mid"]);
  EXPECT_GT(wins["mid"], wins["weak"]);
  // Responses are labelled simulated.
  for (const auto& r : lines(dir + "/responses.jsonl")) EXPECT_TRUE(r["value"]["simulated"].get<bool>());

  // A rerun does nothing.
  Counting strong2(sim("strong", 0.9)), mid2(sim("mid", 0.6)), weak2(sim("weak", 0.2));
  CountingRule judge2;
  const auto again = run_battles(prompts, {&strong2, &mid2, &weak2}, judge2, opts(dir));
  EXPECT_EQ(again.battles_done_before, 90);
  EXPECT_EQ(again.battles_written, 0);
  EXPECT_EQ(strong2.asked + mid2.asked + weak2.asked + judge2.asked, 0);
  EXPECT_EQ(lines(dir + "/battles.jsonl").size(), 90u);
}

TEST(BattleRunner, ReleaseModelsFreesEachCompetitorAfterItsAnswersOfAChunk) {
  const auto prompts = synth_prompts(20);
  Counting a(sim("a", 0.9)), b(sim("b", 0.3));
  CountingRule judge;
  auto o = opts(fw::testing::tmp_dir() + "/release");  // chunks of 8: 3 chunks
  o.release_models = true;
  run_battles(prompts, {&a, &b}, judge, o);
  EXPECT_GE(a.responds, 2);  // chunks of 8 prompts: several calls
  EXPECT_EQ(a.released, a.responds);  // each call's model freed after it
  EXPECT_EQ(b.released, b.responds);
  Counting c(sim("a", 0.9)), d(sim("b", 0.3));
  o.out_dir = fw::testing::tmp_dir() + "/keep";
  o.release_models = false;
  run_battles(prompts, {&c, &d}, judge, o);
  EXPECT_EQ(c.released + d.released, 0);
}

TEST(BattleRunner, TargetVsEachPlaysOnlyTheTargetsPairs) {
  const auto prompts = synth_prompts(10);
  Counting a(sim("a", 0.9)), b(sim("b", 0.6)), c(sim("c", 0.2));
  CountingRule judge;
  auto o = opts(fw::testing::tmp_dir() + "/target");
  o.pairs = PairMode::TargetVsEach;
  o.target = "b";
  run_battles(prompts, {&a, &b, &c}, judge, o);
  for (const auto& r : lines(o.out_dir + "/battles.jsonl")) EXPECT_EQ(r["model_a"], "b");
  EXPECT_EQ(lines(o.out_dir + "/battles.jsonl").size(), 20u);
  o.target = "zed";
  EXPECT_THROW(run_battles(prompts, {&a, &b, &c}, judge, o), Error);
}

TEST(BattleRunner, AResumedCrashPaysNothingTwiceAndEqualsAnUninterruptedRun) {
  const auto prompts = synth_prompts(24);
  const std::string ref_dir = fw::testing::tmp_dir() + "/uninterrupted", dir = fw::testing::tmp_dir() + "/crashed";
  int64_t ref_judgments = 0;
  {
    Counting a(sim("a", 0.8)), b(sim("b", 0.4));
    CountingRule judge;
    run_battles(prompts, {&a, &b}, judge, opts(ref_dir));
    ref_judgments = judge.asked;
  }
  Counting a(sim("a", 0.8)), b(sim("b", 0.4));
  CountingRule judge;
  judge.crash_after = 21;  // dies in the middle of the second chunk's judgments
  EXPECT_THROW(run_battles(prompts, {&a, &b}, judge, opts(dir)), std::runtime_error);
  // The crash also tore the last battle record.
  { std::ofstream(dir + "/battles.jsonl", std::ios::app) << R"({"question_id": "synth-1-)"; }
  Counting a2(sim("a", 0.8)), b2(sim("b", 0.4));
  CountingRule judge2;
  run_battles(prompts, {&a2, &b2}, judge2, opts(dir));
  EXPECT_EQ(a.asked + a2.asked, 24);
  EXPECT_EQ(b.asked + b2.asked, 24);
  EXPECT_EQ(judge.asked + judge2.asked, ref_judgments);
  EXPECT_GT(judge2.asked, 0);
  EXPECT_EQ(read_text_file(dir + "/battles.jsonl"), read_text_file(ref_dir + "/battles.jsonl"));
}

TEST(BattleRunner, FailedRequestsLeaveTheirBattlesForTheRerun) {
  const auto prompts = synth_prompts(12);
  const std::string dir = fw::testing::tmp_dir() + "/failing";
  Counting a(sim("a", 0.8)), b(sim("b", 0.4));
  b.fail_ids = {prompts[3].id, prompts[9].id};
  CountingRule judge;
  try {
    run_battles(prompts, {&a, &b}, judge, opts(dir));
    ADD_FAILURE() << "failures were not reported";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    EXPECT_NE(std::string(e.what()).find("2 requests failed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(lines(dir + "/battles.jsonl").size(), 10u);
  Counting a2(sim("a", 0.8)), b2(sim("b", 0.4));
  CountingRule judge2;
  const auto s = run_battles(prompts, {&a2, &b2}, judge2, opts(dir));
  EXPECT_EQ(a2.asked, 0);  // a's answers to those prompts were cached
  EXPECT_EQ(b2.asked, 2);
  EXPECT_EQ(s.battles_written, 2);
  std::set<std::string> ids;
  for (const auto& r : lines(dir + "/battles.jsonl")) ids.insert(r["question_id"]);
  EXPECT_EQ(ids.size(), 12u);
}

// An LLM judge behind a scripted backend: replies keyed by attempt.
TEST(BattleRunner, UnparseableJudgmentsAreRetriedThenKeptApart) {
  const auto prompts = synth_prompts(4);
  int calls = 0;
  ChatBackend backend = [&](const std::vector<rollout::ChatRequest>& reqs, const auto& on_done) {
    for (size_t i = 0; i < reqs.size(); ++i) {
      ++calls;
      const std::string& text = reqs[i].messages.back().content;
      rollout::ChatResult r;
      // The prompt of synth-1-0 is never judged parseably; the others parse on the 2nd try.
      if (text.find(prompts[0].messages.back().content) != std::string::npos) r.content = "They are both fine.";
      else if (reqs[i].params.temperature == 0) r.content = "Assistant 1 wins.";
      else r.content = "Assistant 1: 7\nAssistant 2: 4";
      on_done(i, &r, nullptr);
    }
  };
  LlmJudge judge({.name = "scripted", .model = "m", .max_attempts = 3}, backend);
  // Always right vs always wrong: the answers differ, so no two games share a judge input.
  Counting a(sim("a", 1.0)), b(sim("b", 0.0));
  const std::string dir = fw::testing::tmp_dir() + "/llm";
  const auto s = run_battles(prompts, {&a, &b}, judge, opts(dir));
  EXPECT_EQ(s.unparseable_written, 1);
  EXPECT_EQ(s.battles_written, 3);
  EXPECT_EQ(calls, 2 * 3 + 3 * 2 * 2);  // 2 games x 3 attempts for the bad prompt, 2 for others
  const auto bad = lines(dir + "/unparseable.jsonl");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0]["question_id"], prompts[0].id);
  EXPECT_TRUE(bad[0]["winner"].is_null());
  EXPECT_TRUE(bad[0]["games"][0]["unparseable"].get<bool>());
  // Position A always scores 7: the judge prefers the first position, so each battle's
  // two games disagree.
  EXPECT_EQ(s.consistency.at("scripted").second, 3);
  for (const auto& r : lines(dir + "/battles.jsonl")) EXPECT_EQ(r["winner"], "tie");
}

TEST(SimulatedCompetitor, AnswersRightAtItsRatePerCategoryDeterministically) {
  const auto prompts = synth_prompts(3000, 3);
  SimulatedOptions o{.name = "s", .accuracy = 0.3, .by_category = {{"arithmetic", 0.9}}, .seed = 5};
  SimulatedCompetitor c(o);
  std::map<std::string, std::pair<int, int>> right;  // category -> (right, total)
  for (const auto& p : prompts) {
    const bool ok = c.answer(p).content == synth::format_answer(p.reference);
    auto& r = right[p.category == "arithmetic" ? "arithmetic" : "other"];
    r.first += ok;
    ++r.second;
    EXPECT_EQ(c.answer(p).content, SimulatedCompetitor(o).answer(p).content);
  }
  EXPECT_NEAR(double(right["arithmetic"].first) / right["arithmetic"].second, 0.9, 0.04);
  EXPECT_NEAR(double(right["other"].first) / right["other"].second, 0.3, 0.04);
  EXPECT_THROW(SimulatedCompetitor({.name = "x", .accuracy = 1.5}), Error);
}

TEST(LlmJudge, TemplatesAreCheckedAndFilledOnce) {
  data::PromptRecord p;
  p.messages = {{"user", "What is 4 + 3?"}, {"assistant", "The answer is 7."}, {"user", "Now add 5 to that."}};
  const std::string out = render_judge_prompt(default_judge_template(), p, "It is {answer_2}.", "12");
  EXPECT_NE(out.find("User: What is 4 + 3?\nAssistant: The answer is 7."), std::string::npos);
  EXPECT_NE(out.find("[Question]\nNow add 5 to that."), std::string::npos);
  EXPECT_NE(out.find("It is {answer_2}."), std::string::npos);  // not substituted twice
  EXPECT_THROW(check_judge_template("{question} {answer_1}"), Error);
  EXPECT_THROW(check_judge_template("{question} {answer_1} {answer_2} {reference}"), Error);
}

}  // namespace
