// The data side of a training loop: epoch plans (rebuilt deterministically from the seed,
// so only the cursor is saved) and the grad_accum micro-batches of each optimizer step.
// A step never crosses an epoch boundary; the last step of an epoch may be shorter.
//
// Data parallel: the plan is made for global micro-batches of micro_batch_size x world
// rows, and each rank takes its contiguous share of every one (shard_rows). So every rank
// takes the same number of steps, the ranks' data are disjoint, and N ranks of
// micro-batch m see exactly the batches one rank of micro-batch N x m would. A share can
// be empty (the last micro-batch of an epoch); the rank then only joins the collectives.
#pragma once

#include <vector>

#include "data/batching.h"

namespace fw::trainer {

class StepStream {
 public:
  // lengths: tokens per example (what packing and length grouping look at).
  // opts.micro_batch_size: rows per micro-batch of one rank.
  StepStream(std::vector<int64_t> lengths, data::BatchingOptions opts, int64_t grad_accum, int rank = 0,
             int world_size = 1);

  int64_t steps_per_epoch();
  // This rank's micro-batches of the step at `cursor` (grad_accum of them, or fewer at the
  // end of an epoch; some possibly empty), advancing it.
  std::vector<data::MicroBatch> next_step(data::DataCursor& cursor);
  double epoch_progress(const data::DataCursor& cursor);  // e.g. 1.25 = a quarter into epoch 1

 private:
  const std::vector<data::MicroBatch>& plan(int64_t epoch);
  std::vector<int64_t> lengths_;
  data::BatchingOptions opts_;
  int64_t grad_accum_;
  int rank_, world_;
  std::vector<data::MicroBatch> plan_;
  int64_t plan_epoch_ = -1;
};

// Rank `rank`'s contiguous share of a global micro-batch's rows: rows [n*r/w, n*(r+1)/w).
data::MicroBatch shard_rows(const data::MicroBatch& global, int rank, int world_size);

}  // namespace fw::trainer
