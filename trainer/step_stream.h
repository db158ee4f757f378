// The data side of a training loop: epoch plans (rebuilt deterministically from the seed,
// so only the cursor is saved) and the grad_accum micro-batches of each optimizer step.
// A step never crosses an epoch boundary; the last step of an epoch may be shorter.
#pragma once

#include <vector>

#include "data/batching.h"

namespace fw::trainer {

class StepStream {
 public:
  // lengths: tokens per example (what packing and length grouping look at).
  StepStream(std::vector<int64_t> lengths, data::BatchingOptions opts, int64_t grad_accum);

  int64_t steps_per_epoch();
  // The micro-batches of the step at `cursor`, advancing it.
  std::vector<data::MicroBatch> next_step(data::DataCursor& cursor);
  double epoch_progress(const data::DataCursor& cursor);  // e.g. 1.25 = a quarter into epoch 1

 private:
  const std::vector<data::MicroBatch>& plan(int64_t epoch);
  std::vector<int64_t> lengths_;
  data::BatchingOptions opts_;
  int64_t grad_accum_;
  std::vector<data::MicroBatch> plan_;
  int64_t plan_epoch_ = -1;
};

}  // namespace fw::trainer
