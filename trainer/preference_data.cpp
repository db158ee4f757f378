#include "trainer/preference_data.h"

#include <algorithm>

#include "core/log.h"

namespace fw::trainer {

PreferenceData load_preference_data(const PreferenceDataSection& d, const TrainSection& t, const data::Tokenizer& tok,
                                    const data::ChatTemplate& chat_template, int64_t seed, std::optional<StepStream>& stream,
                                    int rank, int world_size) {
  data::PreferenceDataOptions opts;
  opts.chat_template = chat_template;
  opts.max_seq_len = d.max_seq_len;
  opts.truncation = d.truncation;
  opts.max_examples = d.max_examples;
  PreferenceData out{data::load_preference_jsonl(d.train, tok, opts), std::nullopt, 0};
  log::info("train pairs: " + out.train.stats.summary());
  if (!d.eval.empty()) {
    out.eval = data::load_preference_jsonl(d.eval, tok, opts);
    log::info("held-out pairs: " + out.eval->stats.summary());
  }
  std::vector<int64_t> lengths;
  for (const auto& ex : out.train.examples)
    lengths.push_back(static_cast<int64_t>(ex.prompt_ids.size() + std::max(ex.chosen_ids.size(), ex.rejected_ids.size())));
  stream.emplace(std::move(lengths),
                 data::BatchingOptions{d.max_seq_len, t.micro_batch_size, /*packing=*/false, /*shuffle=*/true,
                                       static_cast<uint64_t>(seed), 64},
                 t.grad_accum, rank, world_size);
  out.total_steps = t.max_steps > 0 ? t.max_steps : t.epochs * stream->steps_per_epoch();
  return out;
}

PairStep next_pair_step(StepStream& stream, data::DataCursor& cursor, dist::ProcessGroup& pg) {
  PairStep s{.micro = stream.next_step(cursor)};
  for (size_t i = 0; i < s.micro.size(); ++i) {
    s.pairs += static_cast<int64_t>(s.micro[i].size());
    if (!s.micro[i].empty()) s.last_batch = i;
  }
  s.pairs = static_cast<int64_t>(dist::all_reduce_sum(pg, static_cast<double>(s.pairs)));
  return s;
}

}  // namespace fw::trainer
