// Data parallelism for a model replicated on every rank: the parameters start equal
// (broadcast from rank 0), and after each step's backward passes the gradients are summed
// over the ranks in buckets of flattened gradients (~25 MB), each bucket's all-reduce
// launched from an autograd hook as soon as its last gradient is accumulated, so the
// communication overlaps the rest of the backward pass (DDP's scheme). Buckets are
// launched strictly in bucket order, so every rank issues the same collectives in the
// same order whatever order its gradients arrive in.
//
// Gradient accumulation: set_sync(false) before the backward passes of the micro-batches
// that only accumulate, set_sync(true) before the last; finish() then waits for the
// buckets (launching any whose gradients never arrived, e.g. a rank with no data this
// step: its share is zero) and writes the reduced gradients back, times `scale`.
//
// The recipes use sum reduction with losses already normalised by global counts (tokens,
// pairs) all-reduced before the backward passes, so N ranks compute exactly the update
// one rank would on the union of their data.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "dist/process_group.h"

namespace fw::dist {

// Copies rank 0's parameters and buffers to every rank.
void broadcast_parameters(ProcessGroup& pg, torch::nn::Module& module);

struct GradSyncOptions {
  int64_t bucket_bytes = 25 << 20;  // gradient bytes per all-reduce
  double scale = 1.0;               // applied to the summed gradients (1/world = mean)
};

class GradientSync {
 public:
  // The trainable parameters (requires_grad) of `module`, bucketed in reverse order of
  // registration (roughly the order the backward pass produces them).
  GradientSync(std::shared_ptr<ProcessGroup> pg, torch::nn::Module& module, GradSyncOptions opts = {});
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  void set_sync(bool sync);  // false: the next backward passes only accumulate locally
  // Launches now, in order, every bucket not launched yet (a rank with no data this step,
  // an unused parameter). Call it after the step's backward passes and before any other
  // collective, so every rank issues the bucket all-reduces at the same point of its
  // sequence of collectives. finish() does it too, but that may be too late.
  void flush();
  void finish();             // all buckets reduced, gradients written back (no-op on one rank)
  int64_t num_buckets() const;

  struct State;  // shared with the autograd hooks

 private:
  std::shared_ptr<State> state_;
};

}  // namespace fw::dist
