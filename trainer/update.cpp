#include "trainer/update.h"

#include <chrono>
#include <cmath>

#include "trainer/optim.h"

namespace fw::trainer {

UpdateResult apply_update(torch::optim::Optimizer& optimizer, torch::nn::Module& model, double loss, double grad_clip,
                          double lr, dist::GradientSync* sync) {
  UpdateResult r;
  r.loss = loss;
  if (sync) {
    const auto t0 = std::chrono::steady_clock::now();
    sync->finish();
    r.sync_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  r.grad_norm = clip_grad_norm(model, grad_clip);
  if (!std::isfinite(loss) || !std::isfinite(r.grad_norm)) {
    optimizer.zero_grad();
    return r;
  }
  set_lr(optimizer, lr);
  optimizer.step();
  optimizer.zero_grad();
  r.applied = true;
  return r;
}

}  // namespace fw::trainer
