// Which examples go into which row and micro-batch, epoch by epoch. Torch-free and
// deterministic: the plan of an epoch depends only on (seed, epoch) and the example
// lengths, so a resumed run rebuilds it and continues at its cursor.
//
//   packing on:  examples (shuffled) are packed in order into rows of at most max_seq_len
//                tokens; attention and positions restart at each example (collate.h).
//   packing off: one example per row; rows are grouped by length within windows of
//                micro_batch_size x group_window examples to waste little on padding,
//                and the micro-batches are then shuffled.
#pragma once

#include <cstdint>
#include <vector>

namespace fw::data {

struct BatchingOptions {
  int64_t max_seq_len = 2048;    // tokens per row (packing) / longest example allowed
  int64_t micro_batch_size = 8;  // rows per micro-batch
  bool packing = true;
  bool shuffle = true;
  uint64_t seed = 0;
  int64_t group_window = 64;     // unpacked: length-grouping window, in micro-batches
};

using Row = std::vector<int64_t>;         // example indices, in order
using MicroBatch = std::vector<Row>;

std::vector<MicroBatch> plan_epoch(const std::vector<int64_t>& lengths, const BatchingOptions& opts, int64_t epoch);

// Where a run is in its data: the next micro-batch of the given epoch.
struct DataCursor {
  int64_t epoch = 0;
  int64_t micro_batch = 0;
};

}  // namespace fw::data
