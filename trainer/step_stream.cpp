#include "trainer/step_stream.h"

#include <algorithm>

namespace fw::trainer {

StepStream::StepStream(std::vector<int64_t> lengths, data::BatchingOptions opts, int64_t grad_accum, int rank,
                       int world_size)
    : lengths_(std::move(lengths)), opts_(opts), grad_accum_(grad_accum), rank_(rank), world_(world_size) {
  opts_.micro_batch_size *= world_size;  // the plan is made of global micro-batches
}

data::MicroBatch shard_rows(const data::MicroBatch& global, int rank, int world_size) {
  const size_t n = global.size();
  const size_t begin = n * static_cast<size_t>(rank) / static_cast<size_t>(world_size);
  const size_t end = n * static_cast<size_t>(rank + 1) / static_cast<size_t>(world_size);
  return data::MicroBatch(global.begin() + static_cast<std::ptrdiff_t>(begin),
                          global.begin() + static_cast<std::ptrdiff_t>(end));
}

const std::vector<data::MicroBatch>& StepStream::plan(int64_t epoch) {
  if (epoch != plan_epoch_) {
    plan_ = data::plan_epoch(lengths_, opts_, epoch);
    plan_epoch_ = epoch;
  }
  return plan_;
}

int64_t StepStream::steps_per_epoch() {
  return (static_cast<int64_t>(plan(0).size()) + grad_accum_ - 1) / grad_accum_;
}

std::vector<data::MicroBatch> StepStream::next_step(data::DataCursor& cur) {
  if (cur.micro_batch >= static_cast<int64_t>(plan(cur.epoch).size())) {
    ++cur.epoch;
    cur.micro_batch = 0;
  }
  const auto& p = plan(cur.epoch);
  const int64_t end = std::min<int64_t>(static_cast<int64_t>(p.size()), cur.micro_batch + grad_accum_);
  std::vector<data::MicroBatch> out;
  for (int64_t i = cur.micro_batch; i < end; ++i) out.push_back(shard_rows(p[static_cast<size_t>(i)], rank_, world_));
  cur.micro_batch = end;
  return out;
}

double StepStream::epoch_progress(const data::DataCursor& cur) {
  return static_cast<double>(cur.epoch) +
         static_cast<double>(cur.micro_batch) / static_cast<double>(std::max<size_t>(1, plan(cur.epoch).size()));
}

}  // namespace fw::trainer
