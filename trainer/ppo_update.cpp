#include "trainer/ppo_update.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/rng.h"
#include "losses/ppo.h"
#include "trainer/setup.h"
#include "trainer/update.h"

namespace fw::trainer {
namespace {

// Rows `rows` of a [B,R] experience tensor, cut to R_sub columns.
at::Tensor take(const at::Tensor& t, const at::Tensor& rows, int64_t R_sub) {
  return t.index_select(0, rows).narrow(1, 0, R_sub);
}

}  // namespace

PpoUpdateStats ppo_update(PpoModels& m, torch::nn::Module& trainable, torch::optim::Optimizer& optimizer,
                          const Experience& exp, const PpoUpdateOptions& o, at::Device device,
                          dist::GradientSync* sync, dist::ProcessGroup* group) {
  const auto t_start = std::chrono::steady_clock::now();
  const int64_t B = exp.batch.rows;
  // Mini-batch mb takes rows [begin(mb), begin(mb + 1)) of the shuffled order: sizes differ
  // by one at most when num_mini_batches does not divide B (a short last batch of an
  // epoch), and every row is used.
  auto begin = [&](int64_t mb) { return mb * B / o.num_mini_batches; };
  PpoUpdateStats s;
  std::vector<double> ratios;
  double grad_norm_sum = 0;
  for (int64_t epoch = 0; epoch < o.ppo_epochs; ++epoch) {
    std::vector<int64_t> order(static_cast<size_t>(B));
    std::iota(order.begin(), order.end(), int64_t{0});
    Rng::for_index(o.seed, static_cast<uint64_t>(epoch), /*stream=*/1).shuffle(order);
    for (int64_t mb = 0; mb < o.num_mini_batches; ++mb) {
      double loss_total = 0;
      const int64_t first = begin(mb), end = begin(mb + 1), mini = std::max<int64_t>(1, end - first);
      for (int64_t start = first; start < end; start += o.micro_batch_size) {
        const int64_t n = std::min(o.micro_batch_size, end - start);
        if (sync) sync->set_sync(start + n == end);  // the last micro-batch communicates
        const std::vector<int64_t> rows(order.begin() + start, order.begin() + start + n);
        const rollout::ResponseBatch sub = exp.batch.select(rows);
        const at::Tensor idx = at::tensor(rows, at::kLong).to(device);
        const int64_t R = sub.max_response;
        const at::Tensor mask = take(exp.mask, idx, R);

        AutocastGuard autocast(device, o.dtype);
        rollout::ResponseLogprobs lp = rollout::response_logprobs(m.policy, sub, o.temperature, /*with_entropy=*/true);
        const at::Tensor values = rollout::response_values(m.value, sub);
        losses::PolicyLoss pl = losses::ppo_policy_loss(lp.logprobs, take(exp.logprobs, idx, R),
                                                        take(exp.advantages, idx, R), mask, o.cliprange);
        losses::ValueLoss vl = losses::ppo_value_loss(values, take(exp.values, idx, R), take(exp.returns, idx, R),
                                                      mask, o.cliprange_value);
        const at::Tensor loss = pl.loss + o.vf_coef * vl.loss;
        (loss * (static_cast<double>(n) / static_cast<double>(mini))).backward();
        loss_total += loss.item<double>() * static_cast<double>(n) / static_cast<double>(mini);

        s.policy_loss += pl.loss.item<double>();
        s.value_loss += vl.loss.item<double>();
        s.approxkl += pl.approxkl;
        s.clipfrac += pl.clipfrac;
        s.value_clipfrac += vl.clipfrac;
        s.entropy += losses::masked_mean(lp.entropy, mask).item<double>();
        ratios.push_back(pl.ratio_mean);
      }
      if (sync) sync->flush();  // before the next collective
      if (group && group->distributed())  // the same finite / non-finite decision on every rank
        loss_total = dist::all_reduce_sum(*group, loss_total) / group->world_size();
      const UpdateResult u = apply_update(optimizer, trainable, loss_total, o.grad_clip, o.lr, sync);
      if (u.applied) {
        ++s.updates;
        grad_norm_sum += u.grad_norm;
      } else {
        ++s.skipped_updates;
      }
    }
  }
  const double k = std::max<double>(1.0, static_cast<double>(ratios.size()));
  for (double* x : {&s.policy_loss, &s.value_loss, &s.approxkl, &s.clipfrac, &s.value_clipfrac, &s.entropy}) *x /= k;
  s.ratio_mean = std::accumulate(ratios.begin(), ratios.end(), 0.0) / k;
  for (double r : ratios) s.ratio_var += (r - s.ratio_mean) * (r - s.ratio_mean);
  s.ratio_var = ratios.size() > 1 ? s.ratio_var / (k - 1) : 0.0;  // unbiased, as torch.var
  s.grad_norm = s.updates > 0 ? grad_norm_sum / static_cast<double>(s.updates) : 0.0;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return s;
}

}  // namespace fw::trainer
