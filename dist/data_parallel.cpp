#include "dist/data_parallel.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/utils/tensor_flatten.h>

#include <mutex>

namespace fw::dist {

void broadcast_parameters(ProcessGroup& pg, torch::nn::Module& module) {
  if (!pg.distributed()) return;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> tensors;
  for (auto& p : module.parameters()) tensors.push_back(p);
  for (auto& b : module.buffers()) tensors.push_back(b);
  // One flattened broadcast per dtype and device keeps the call count low.
  std::vector<std::vector<at::Tensor>> groups;
  for (const auto& t : tensors) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
      return g.front().scalar_type() == t.scalar_type() && g.front().device() == t.device();
    });
    if (it == groups.end()) groups.push_back({t});
    else it->push_back(t);
  }
  for (auto& g : groups) {
    at::Tensor flat = torch::utils::flatten_dense_tensors(g);
    at::Tensor on_group = flat.to(pg.device());
    std::vector<at::Tensor> v{on_group};
    pg.broadcast(v, 0);
    flat = on_group.to(flat.device());
    auto parts = torch::utils::unflatten_dense_tensors(flat, g);
    for (size_t i = 0; i < g.size(); ++i) g[i].copy_(parts[i]);
  }
}

struct GradientSync::State {
  std::shared_ptr<ProcessGroup> pg;
  GradSyncOptions opts;
  struct Bucket {
    std::vector<at::Tensor> params;
    int64_t pending = 0;      // gradients not yet accumulated this step
    at::Tensor flat;          // the flattened gradients being reduced
    std::unique_ptr<PendingWork> work;
  };
  std::vector<Bucket> buckets;
  std::vector<int64_t> bucket_of;  // param index -> bucket
  std::vector<bool> seen;          // param index -> its gradient arrived this step
  int64_t next_launch = 0;         // buckets launch in this order
  bool sync = true;
  std::mutex mutex;

  void reset() {
    for (auto& b : buckets) {
      b.pending = static_cast<int64_t>(b.params.size());
      b.flat = at::Tensor();
      b.work.reset();
    }
    std::fill(seen.begin(), seen.end(), false);
    next_launch = 0;
  }

  void launch(Bucket& b) {
    std::vector<at::Tensor> grads;
    for (auto& p : b.params) grads.push_back(p.grad().defined() ? p.grad() : at::zeros_like(p));
    b.flat = torch::utils::flatten_dense_tensors(grads).to(pg->device());
    b.work = pg->all_reduce_sum_async(b.flat);
  }

  // Launches every bucket from next_launch on whose gradients are all in.
  void launch_ready() {
    while (next_launch < static_cast<int64_t>(buckets.size()) && buckets[next_launch].pending == 0)
      launch(buckets[next_launch++]);
  }

  void on_grad(int64_t param) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!sync || seen[param]) return;
    seen[param] = true;
    --buckets[bucket_of[param]].pending;
    launch_ready();
  }
};

namespace {

class SyncHook final : public torch::autograd::PostAccumulateGradHook {
 public:
  SyncHook(std::weak_ptr<GradientSync::State> state, int64_t param) : state_(std::move(state)), param_(param) {}
  void operator()(const torch::autograd::Variable&) override {
    if (auto s = state_.lock()) s->on_grad(param_);
  }

 private:
  std::weak_ptr<GradientSync::State> state_;
  int64_t param_;
};

}  // namespace

GradientSync::GradientSync(std::shared_ptr<ProcessGroup> pg, torch::nn::Module& module, GradSyncOptions opts)
    : state_(std::make_shared<State>()) {
  state_->pg = std::move(pg);
  state_->opts = opts;
  if (!state_->pg->distributed()) return;
  std::vector<at::Tensor> params;
  for (auto& p : module.parameters())
    if (p.requires_grad()) params.push_back(p);
  // Reverse registration order: the last layers' gradients arrive first.
  int64_t bytes = 0;
  state_->bucket_of.assign(params.size(), 0);
  for (int64_t i = static_cast<int64_t>(params.size()) - 1; i >= 0; --i) {
    const at::Tensor& p = params[static_cast<size_t>(i)];
    const int64_t size = p.numel() * p.element_size();
    const bool new_bucket = state_->buckets.empty() || bytes + size > opts.bucket_bytes ||
                            state_->buckets.back().params.front().scalar_type() != p.scalar_type();
    if (new_bucket) {
      state_->buckets.emplace_back();
      bytes = 0;
    }
    state_->buckets.back().params.push_back(p);
    state_->bucket_of[static_cast<size_t>(i)] = static_cast<int64_t>(state_->buckets.size()) - 1;
    bytes += size;
  }
  state_->seen.assign(params.size(), false);
  state_->reset();
  for (size_t i = 0; i < params.size(); ++i)
    torch::autograd::impl::set_post_acc_grad_hooks(params[i],
                                                   std::make_unique<SyncHook>(state_, static_cast<int64_t>(i)));
}

GradientSync::~GradientSync() = default;  // the hooks hold weak pointers: they go quiet

void GradientSync::set_sync(bool sync) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->sync = sync;
}

int64_t GradientSync::num_buckets() const { return static_cast<int64_t>(state_->buckets.size()); }

void GradientSync::flush() {
  State& s = *state_;
  if (!s.pg->distributed()) return;
  std::lock_guard<std::mutex> lock(s.mutex);
  while (s.next_launch < static_cast<int64_t>(s.buckets.size())) s.launch(s.buckets[s.next_launch++]);
}

void GradientSync::finish() {
  State& s = *state_;
  if (!s.pg->distributed()) return;
  std::lock_guard<std::mutex> lock(s.mutex);
  // Buckets whose gradients never all arrived (no data on this rank, an unused
  // parameter) launch now, in order, with zeros for the missing gradients.
  while (s.next_launch < static_cast<int64_t>(s.buckets.size())) s.launch(s.buckets[s.next_launch++]);
  at::NoGradGuard no_grad;
  for (auto& b : s.buckets) {
    b.work->wait();
    at::Tensor flat = b.flat.to(b.params.front().device());
    if (s.opts.scale != 1.0) flat.mul_(s.opts.scale);
    std::vector<at::Tensor> grads;
    for (auto& p : b.params) grads.push_back(p.grad().defined() ? p.grad() : at::zeros_like(p));
    auto parts = torch::utils::unflatten_dense_tensors(flat, grads);
    for (size_t i = 0; i < b.params.size(); ++i) {
      at::Tensor& p = b.params[i];
      if (p.grad().defined()) p.mutable_grad().copy_(parts[i]);
      else p.mutable_grad() = parts[i].clone();
    }
  }
  s.reset();
}

}  // namespace fw::dist
