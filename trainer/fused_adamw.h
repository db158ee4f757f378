// AdamW whose step is one fused kernel per parameter group (at::_fused_adamw_, what
// torch.optim.AdamW(fused=True) and TRL's default "adamw_torch_fused" run) instead of
// LibTorch's loop of five tensor ops per parameter: one pass over memory, several times
// faster on CPU for large models. The maths, the options, and the saved state
// (AdamWParamState: step, exp_avg, exp_avg_sq) are LibTorch's AdamW's, so checkpoints of
// either load into the other.
#pragma once

#include <torch/optim/adamw.h>

#include <unordered_map>

namespace fw::trainer {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  at::Tensor step(LossClosure closure = nullptr) override;

 private:
  // The kernel reads each parameter's step count from a tensor on its device. These
  // mirror AdamWParamState::step(), the saved truth: a tensor is remade from it whenever
  // the two may differ (first step, after a load).
  struct StepTensor {
    at::Tensor value;
    int64_t mirrors = -1;  // the AdamWParamState::step() it holds
  };
  std::unordered_map<const void*, StepTensor> step_tensors_;
};

}  // namespace fw::trainer
