#include "data/batching.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace fw::data {

std::vector<MicroBatch> plan_epoch(const std::vector<int64_t>& lengths, const BatchingOptions& opts, int64_t epoch) {
  if (opts.micro_batch_size <= 0) throw_invalid("micro_batch_size must be positive");
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  Rng rng = Rng::for_index(opts.seed, static_cast<uint64_t>(epoch), /*stream=*/0xBA7C);
  if (opts.shuffle) rng.shuffle(order);

  std::vector<Row> rows;
  if (opts.packing) {
    Row row;
    int64_t used = 0;
    for (int64_t i : order) {
      if (lengths[i] > opts.max_seq_len)
        throw_invalid("example " + std::to_string(i) + " has " + std::to_string(lengths[i]) +
                      " tokens, more than max_seq_len " + std::to_string(opts.max_seq_len));
      if (!row.empty() && used + lengths[i] > opts.max_seq_len) {
        rows.push_back(std::move(row));
        row.clear();
        used = 0;
      }
      row.push_back(i);
      used += lengths[i];
    }
    if (!row.empty()) rows.push_back(std::move(row));
  } else {
    const size_t window = static_cast<size_t>(opts.micro_batch_size * std::max<int64_t>(1, opts.group_window));
    for (size_t start = 0; start < order.size(); start += window) {
      auto first = order.begin() + static_cast<long>(start);
      auto last = order.begin() + static_cast<long>(std::min(order.size(), start + window));
      std::stable_sort(first, last, [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
    }
    for (int64_t i : order) rows.push_back({i});
  }

  std::vector<MicroBatch> batches;
  for (size_t start = 0; start < rows.size(); start += static_cast<size_t>(opts.micro_batch_size)) {
    const size_t end = std::min(rows.size(), start + static_cast<size_t>(opts.micro_batch_size));
    batches.emplace_back(rows.begin() + static_cast<long>(start), rows.begin() + static_cast<long>(end));
  }
  if (!opts.packing && opts.shuffle) rng.shuffle(batches);
  return batches;
}

}  // namespace fw::data
