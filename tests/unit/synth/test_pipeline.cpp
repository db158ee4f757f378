// Integration at library scale: generate a pool, split it, write and read the files,
// let simulated competitors answer from the references with category-dependent error
// rates and varied answer formats, and check that the verifier recovers their accuracy
// and ranks them.
#include <gtest/gtest.h>

#include <map>

#include "tests/support/test_tmp.h"
#include "core/rng.h"
#include "data/synth/task_io.h"
#include "data/synth/verify.h"

namespace {

using fw::Rng;
using fw::synth::Task;

// A correct answer in one of several formats a model might use.
std::string say_correct(Rng& r, const std::string& ref) {
  switch (r.uniform_int(0, 4)) {
    case 0: return "The answer is " + ref + ".";
    case 1: return ref;
    case 2: return "Sure! Let me think.\nFinal answer: **" + ref + "**";
    case 3: return "Answer: " + ref;
    default: return "The answer is \"" + ref + "\".";
  }
}

// A wrong answer: the reference damaged so it cannot be equal.
std::string damage(Rng& r, const std::string& ref) {
  switch (fw::synth::answer_kind(ref)) {
    case fw::synth::AnswerKind::Number: return std::to_string(std::stoll(ref) + r.uniform_int(2, 50));
    case fw::synth::AnswerKind::List: return ref + ", " + std::to_string(r.uniform_int(100, 200));
    default: return ref + "zq";
  }
}

struct Competitor {
  std::string name;
  std::map<std::string, double> accuracy;  // per category
};

TEST(SynthPipeline, SimulatedCompetitorsAreScoredAndRanked) {
  fw::synth::GenerateOptions o;
  o.n = 3000;
  o.seed = 1234;
  auto pool = fw::synth::generate_tasks(o);
  auto split = fw::synth::split_heldout(pool, 0.2, o.seed);
  const std::string path = fw::testing::tmp_dir() + "/synth_pipeline_heldout.jsonl";
  fw::synth::write_prompt_jsonl(path, split.heldout);
  auto heldout = fw::synth::read_prompt_jsonl(path);
  ASSERT_EQ(heldout.size(), 600u);

  const std::vector<Competitor> comps = {
      {"strong", {{"arithmetic", 0.9}, {"string", 0.9}, {"list", 0.9}, {"counting", 0.9}, {"multiturn", 0.8}}},
      {"mathy", {{"arithmetic", 0.95}, {"string", 0.2}, {"list", 0.7}, {"counting", 0.5}, {"multiturn", 0.5}}},
      {"weak", {{"arithmetic", 0.3}, {"string", 0.3}, {"list", 0.3}, {"counting", 0.3}, {"multiturn", 0.1}}},
  };
  std::map<std::string, double> mean_score;
  for (size_t c = 0; c < comps.size(); ++c) {
    std::map<std::string, std::pair<int, int>> per_cat;  // correct, total
    double total_score = 0;
    int expected_correct = 0, got_correct = 0;
    for (size_t i = 0; i < heldout.size(); ++i) {
      const Task& t = heldout[i];
      Rng r = Rng::for_index(99, i, c);
      const bool right = r.bernoulli(comps[c].accuracy.at(t.category));
      const std::string response = right ? say_correct(r, t.reference) : say_correct(r, damage(r, t.reference));
      auto v = fw::synth::verify(t, response);
      EXPECT_EQ(v.correct, right) << comps[c].name << " " << t.id << ": '" << response << "' vs '" << t.reference
                                  << "' (" << v.rule << ")";
      if (right) EXPECT_EQ(v.score, 10);
      else EXPECT_LE(v.score, 6);
      expected_correct += right;
      got_correct += v.correct;
      total_score += v.score;
      per_cat[t.category].first += v.correct;
      per_cat[t.category].second += 1;
    }
    EXPECT_EQ(got_correct, expected_correct);
    for (const auto& [cat, ct] : per_cat)
      EXPECT_NEAR(static_cast<double>(ct.first) / ct.second, comps[c].accuracy.at(cat), 0.15)
          << comps[c].name << " " << cat;
    mean_score[comps[c].name] = total_score / static_cast<double>(heldout.size());
  }
  EXPECT_GT(mean_score["strong"], mean_score["mathy"]);
  EXPECT_GT(mean_score["mathy"], mean_score["weak"]);
}

}  // namespace
