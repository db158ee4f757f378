// PPO over 2 ranks (in-process Gloo groups, one thread each) against 1 rank on the same
// rollouts: each rank generates for its own prompts (greedy here, so the rollouts are
// the same whoever generates them); advantages are whitened over both ranks and equal
// the single-rank ones, as do the scores and the KL; the update keeps the ranks' policies
// and value models identical.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <thread>

#include "dist/data_parallel.h"
#include "dist/process_group.h"
#include "tests/unit/model/tiny_models.h"
#include "trainer/optim.h"
#include "trainer/ppo_experience.h"
#include "trainer/ppo_update.h"

namespace {
using namespace fw;
using namespace fw::trainer;

const std::vector<std::vector<int64_t>> kPrompts = {{5, 9, 2, 44, 7}, {13, 1}, {8, 8, 30}, {17, 4, 22}};

PpoModels models() {  // seeded: every call gives the same four models
  PpoModels m;
  m.policy = fw::testing::tiny_lm(fw::testing::tiny_config(), 1);
  m.reference = fw::testing::tiny_lm(fw::testing::tiny_config(), 2);
  m.reward = fw::testing::tiny_score_model(3);
  m.value = fw::testing::tiny_score_model(4);
  return m;
}

ExperienceOptions options() {
  ExperienceOptions o;
  o.generate.max_new_tokens = 7;
  o.generate.sampling.temperature = 0.0;  // greedy: the same rollouts on any rank
  o.generate.eos_ids = {2};
  return o;
}

// Rows [first, first + n) of a [B,R] tensor as a list of per-row response values.
std::vector<std::vector<double>> rows(const at::Tensor& t, const at::Tensor& lengths) {
  std::vector<std::vector<double>> out;
  for (int64_t b = 0; b < t.size(0); ++b) {
    std::vector<double> row;
    for (int64_t j = 0; j < lengths[b].item<int64_t>(); ++j) row.push_back(t[b][j].item<double>());
    out.push_back(row);
  }
  return out;
}

TEST(DataParallelPpo, TwoRanksWhitenAndScoreLikeOneRankOnTheSameRollouts) {
  at::set_num_threads(1);
  PpoModels single = models();
  const Experience whole = make_experience(single, kPrompts, 1, 0.1, options(), at::kCPU);
  const auto want_adv = rows(whole.advantages, whole.batch.response_lengths);

  std::vector<PpoModels> per_rank = {models(), models()};
  std::vector<std::vector<std::vector<double>>> got_adv(2);
  std::vector<double> got_scores(2), got_kl(2);
  std::vector<at::Tensor> params_after(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      try {
        at::set_num_threads(1);
        auto pg = dist::ProcessGroup::in_process("dp_ppo", r, 2);
        PpoModels& m = per_rank[static_cast<size_t>(r)];
        const std::vector<std::vector<int64_t>> mine(kPrompts.begin() + 2 * r, kPrompts.begin() + 2 * r + 2);
        const Experience e = make_experience(m, mine, 1, 0.1, options(), at::kCPU, pg.get());
        got_adv[static_cast<size_t>(r)] = rows(e.advantages, e.batch.response_lengths);
        got_scores[static_cast<size_t>(r)] = e.scores.sum().item<double>();
        got_kl[static_cast<size_t>(r)] = e.kl.sum().item<double>();
        PolicyAndValue w(m);
        auto opt = make_adamw(*w, {.lr = 1e-3});
        dist::GradientSync sync(pg, *w, {.scale = 0.5});
        ppo_update(m, *w, *opt, e, {.ppo_epochs = 2, .num_mini_batches = 1, .micro_batch_size = 1, .temperature = 1.0,
                                   .lr = 1e-3, .seed = static_cast<uint64_t>(7 + r)},
                   at::kCPU, &sync, pg.get());
        std::vector<at::Tensor> flat;
        for (auto& p : w->parameters()) flat.push_back(p.detach().reshape({-1}));
        params_after[static_cast<size_t>(r)] = at::cat(flat);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  for (int b = 0; b < 4; ++b) {
    const auto& got = got_adv[static_cast<size_t>(b / 2)][static_cast<size_t>(b % 2)];
    const auto& want = want_adv[static_cast<size_t>(b)];
    ASSERT_EQ(got.size(), want.size()) << "row " << b;
    for (size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j], want[j], 1e-4) << "row " << b << " token " << j;
  }
  EXPECT_NEAR(got_scores[0] + got_scores[1], whole.scores.sum().item<double>(), 1e-4);
  EXPECT_NEAR(got_kl[0] + got_kl[1], whole.kl.sum().item<double>(), 1e-4);
  // Different rollouts and shuffles on each rank, one averaged update: the same weights.
  EXPECT_TRUE(at::equal(params_after[0], params_after[1]));
}

}  // namespace
