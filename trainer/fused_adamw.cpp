#include "trainer/fused_adamw.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <map>
#include <tuple>

namespace fw::trainer {

at::Tensor FusedAdamW::step(LossClosure closure) {
  at::NoGradGuard no_grad;
  at::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    TORCH_CHECK(!o.amsgrad(), "FusedAdamW: amsgrad is not supported");
    // The kernel wants one device and dtype per call.
    std::map<std::tuple<c10::DeviceType, c10::DeviceIndex, c10::ScalarType>, size_t> bucket_of;
    struct Bucket {
      std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    };
    std::vector<Bucket> buckets;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "FusedAdamW does not support sparse gradients");
      auto& slot = state()[p.unsafeGetTensorImpl()];
      if (!slot) {
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(0);
        s->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
        s->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
        slot = std::move(s);
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*slot);
      auto& st = step_tensors_[p.unsafeGetTensorImpl()];
      if (st.mirrors != s.step() || st.value.device() != p.device())
        st.value = at::full({}, static_cast<double>(s.step()), at::TensorOptions().dtype(at::kFloat).device(p.device()));
      s.step(s.step() + 1);
      st.mirrors = s.step();
      const auto key = std::make_tuple(p.device().type(), p.device().index(), p.scalar_type());
      auto [it, fresh] = bucket_of.emplace(key, buckets.size());
      if (fresh) buckets.emplace_back();
      Bucket& b = buckets[it->second];
      b.params.push_back(p);
      b.grads.push_back(p.grad());
      b.exp_avgs.push_back(s.exp_avg());
      b.exp_avg_sqs.push_back(s.exp_avg_sq());
      b.steps.push_back(st.value);
    }
    for (auto& b : buckets) {
      at::_foreach_add_(b.steps, 1);  // the kernel reads the already-incremented count, as in torch.optim
      at::_fused_adamw_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, /*max_exp_avg_sqs=*/{}, b.steps, o.lr(),
                        std::get<0>(o.betas()), std::get<1>(o.betas()), o.weight_decay(), o.eps(),
                        /*amsgrad=*/false, /*maximize=*/false);
    }
  }
  return loss;
}

}  // namespace fw::trainer
