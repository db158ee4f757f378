// The process group and data parallelism over real Gloo groups of 2 and 3 ranks, one
// thread each in this process (an in-memory store): collectives give the sums, gathers
// and broadcasts they should; bucketed, hook-launched gradient sync equals summing each
// rank's gradients by hand, with accumulation, a rank without data and many buckets.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/nn/modules/linear.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "dist/data_parallel.h"
#include "dist/process_group.h"

namespace {
using namespace fw::dist;

// Runs fn(group) on `world` threads, each with its rank's group of one in-process world.
void run_ranks(const std::string& name, int world, const std::function<void(ProcessGroup&)>& fn) {
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        at::set_num_threads(1);
        auto pg = ProcessGroup::in_process(name, r, world);
        fn(*pg);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[static_cast<size_t>(r)], "") << "rank " << r;
}

TEST(Collectives, SumsGathersAndBroadcasts) {
  run_ranks("collectives", 3, [](ProcessGroup& pg) {
    const int r = pg.rank();
    ASSERT_EQ(pg.world_size(), 3);
    std::vector<at::Tensor> t{at::full({4}, static_cast<float>(r + 1)), at::full({2}, int64_t{10} * r, at::kLong)};
    pg.all_reduce_sum(t);
    EXPECT_TRUE(at::equal(t[0], at::full({4}, 6.0f)));
    EXPECT_TRUE(at::equal(t[1], at::full({2}, int64_t{30}, at::kLong)));
    const at::Tensor g = pg.all_gather(at::tensor({r, 100 + r}, at::kLong));
    EXPECT_TRUE(at::equal(g, at::tensor({0, 100, 1, 101, 2, 102}, at::kLong).view({3, 2})));
    std::vector<at::Tensor> b{r == 1 ? at::arange(5, at::kFloat) : at::zeros({5})};
    pg.broadcast(b, 1);
    EXPECT_TRUE(at::equal(b[0], at::arange(5, at::kFloat)));
    EXPECT_EQ(all_reduce_sum(pg, std::vector<double>{0.5 * r, 1.0}), (std::vector<double>{1.5, 3.0}));
    EXPECT_EQ(all_reduce_max(pg, static_cast<double>(r * r)), 4.0);
    EXPECT_EQ(broadcast_string(pg, r == 2 ? "from rank 2" : "", 2), "from rank 2");
    EXPECT_EQ(broadcast_string(pg, "", 0), "");
    at::Tensor a = at::full({3}, 1.0f);
    auto work = pg.all_reduce_sum_async(a);
    work->wait();
    EXPECT_TRUE(at::equal(a, at::full({3}, 3.0f)));
    pg.barrier();
  });
}

TEST(Collectives, ASingleWorldIsANoOp) {
  auto pg = ProcessGroup::single();
  std::vector<at::Tensor> t{at::ones({2})};
  pg->all_reduce_sum(t);
  EXPECT_TRUE(at::equal(t[0], at::ones({2})));
  EXPECT_EQ(all_reduce_sum(*pg, 2.5), 2.5);
  EXPECT_EQ(pg->all_gather(at::ones({2})).sizes(), (at::IntArrayRef{1, 2}));
}

// A 3-layer MLP; the same seed gives the same weights on every rank.
struct Mlp : torch::nn::Module {
  torch::nn::Linear a{nullptr}, b{nullptr}, c{nullptr};
  explicit Mlp(uint64_t seed) {
    at::manual_seed(seed);
    a = register_module("a", torch::nn::Linear(6, 16));
    b = register_module("b", torch::nn::Linear(16, 16));
    c = register_module("c", torch::nn::Linear(16, 1));
  }
  at::Tensor forward(const at::Tensor& x) { return c(at::tanh(b(at::tanh(a(x))))); }
};

at::Tensor batch(int rank, int micro) {  // rank r's data of micro-batch m
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1000 + 10 * rank + micro);
  return at::randn({3, 6}, g);
}

std::vector<at::Tensor> grads(Mlp& m) {
  std::vector<at::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
  return out;
}

// The gradients one process gets by running every rank's micro-batches itself.
std::vector<at::Tensor> reference_grads(int world, int micros, const std::vector<int>& ranks_with_data) {
  Mlp m(7);
  for (int r : ranks_with_data)
    for (int k = 0; k < micros; ++k) m.forward(batch(r, k)).pow(2).sum().backward();
  (void)world;
  return grads(m);
}

// stats_between: a recipe's statistics all-reduce between the backward passes and
// finish(), after flush() — the idle rank must issue its bucket all-reduces first too.
void check_sync(const std::string& name, int world, int micros, int64_t bucket_bytes, int idle_rank,
                bool stats_between = false) {
  std::vector<int> with_data;
  for (int r = 0; r < world; ++r)
    if (r != idle_rank) with_data.push_back(r);
  const std::vector<at::Tensor> want = reference_grads(world, micros, with_data);
  std::atomic<int64_t> buckets{0};
  // Made here, one after the other: the seeded init draws from torch's global generator,
  // which the rank threads must not share.
  std::vector<std::unique_ptr<Mlp>> models;
  for (int r = 0; r < world; ++r) models.push_back(std::make_unique<Mlp>(r == 0 ? 7 : 99));  // rank 0's must win
  run_ranks(name, world, [&](ProcessGroup& pg) {
    Mlp& m = *models[static_cast<size_t>(pg.rank())];
    auto group = std::shared_ptr<ProcessGroup>(&pg, [](ProcessGroup*) {});
    broadcast_parameters(pg, m);
    GradientSync sync(group, m, {.bucket_bytes = bucket_bytes});
    buckets = sync.num_buckets();
    if (pg.rank() != idle_rank) {
      for (int k = 0; k < micros; ++k) {
        sync.set_sync(k + 1 == micros);  // only the last backward communicates
        m.forward(batch(pg.rank(), k)).pow(2).sum().backward();
      }
    }
    if (stats_between) {
      sync.flush();
      EXPECT_EQ(all_reduce_sum(pg, 1.0), static_cast<double>(world));
    }
    sync.finish();
    const auto got = grads(m);
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_LT((got[i] - want[i]).abs().max().item<double>(), 1e-5) << "rank " << pg.rank() << " param " << i;
    // A second step reuses the buckets.
    for (auto& p : m.parameters()) p.mutable_grad().zero_();
    sync.set_sync(true);
    if (pg.rank() != idle_rank) m.forward(batch(pg.rank(), 0)).pow(2).sum().backward();
    sync.finish();
  });
  if (bucket_bytes < 1000) EXPECT_GE(buckets.load(), 3);  // several buckets, launched in order
}

TEST(GradientSync, EqualsSummingEveryRanksGradients) { check_sync("sync_one_bucket", 2, 1, 25 << 20, -1); }
TEST(GradientSync, ManyBucketsAndAccumulation) { check_sync("sync_buckets", 3, 3, 256, -1); }
TEST(GradientSync, ARankWithoutDataContributesZero) { check_sync("sync_idle", 3, 2, 512, 1); }
TEST(GradientSync, FlushKeepsAnIdleRanksCollectivesInStepBeforeOtherCollectives) {
  check_sync("sync_idle_stats", 2, 1, 512, 0, /*stats_between=*/true);
}

TEST(GradientSync, ScaleGivesTheMean) {
  const std::vector<at::Tensor> sum = reference_grads(2, 1, {0, 1});
  std::vector<std::unique_ptr<Mlp>> models;
  for (int r = 0; r < 2; ++r) models.push_back(std::make_unique<Mlp>(7));
  run_ranks("sync_mean", 2, [&](ProcessGroup& pg) {
    Mlp& m = *models[static_cast<size_t>(pg.rank())];
    auto group = std::shared_ptr<ProcessGroup>(&pg, [](ProcessGroup*) {});
    GradientSync sync(group, m, {.scale = 0.5});
    m.forward(batch(pg.rank(), 0)).pow(2).sum().backward();
    sync.finish();
    const auto got = grads(m);
    for (size_t i = 0; i < sum.size(); ++i) EXPECT_LT((got[i] - 0.5 * sum[i]).abs().max().item<double>(), 1e-5);
  });
}

}  // namespace
