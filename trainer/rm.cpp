// The reward-model recipe, as a numbered narrative:
//   1-2. runtime, run folder, resume decision, tokenizer (the session); 3. preference data
//   4. model: backbone + scalar head (from a causal LM with a fresh head, a reward model,
//      a checkpoint being resumed, or from scratch); the session's optimizer and schedule
//   5. the loop: chosen and rejected in one forward -> reward at each sequence's last
//      token -> -log sigmoid(r_c - r_r - margin) (+ centering) -> clip -> AdamW
//   6. final checkpoint as LlamaForSequenceClassification, held-out accuracy
#include "trainer/rm.h"

#include <ATen/ATen.h>

#include <algorithm>


#include "core/error.h"
#include "core/log.h"
#include "data/collate.h"
#include "data/preference_dataset.h"
#include "losses/reward.h"
#include "model/checkpoint.h"
#include "trainer/model_setup.h"
#include "trainer/preference_data.h"
#include "trainer/setup.h"
#include "trainer/step_stream.h"
#include "trainer/step_sums.h"
#include "trainer/training_session.h"

namespace fw::trainer {
namespace {

// Rewards of a collated micro-batch of pairs: [2B] (chosen rows, then rejected), each read
// at the sequence's last real token.
at::Tensor pair_rewards(model::LlamaForScore& rm, const data::PreferenceBatch& b, at::Device device,
                        ComputeDtype dtype) {
  AutocastGuard autocast(device, dtype);
  return rm->score_last(b.input_ids.to(device), b.lengths).to(at::kFloat);
}

model::LlamaForScore load_starting_rm(const std::optional<CheckpointInfo>& resume, const ModelSection& section,
                                      const data::Tokenizer& tok, at::Device device) {
  if (resume || !section.path.empty())
    return model::load_score_model(resume ? resume->path : section.path, {.dtype = at::kFloat, .device = device});
  model::LlamaConfig c = scratch_config(section.from_scratch, tok);
  c.architecture = "LlamaForSequenceClassification";
  c.num_labels = 1;
  c.tie_word_embeddings = false;
  model::LlamaForScore rm(c);
  model::init_weights(*rm, section.from_scratch.init_std);
  rm->to(device);
  return rm;
}

// Held-out accuracy (rank 0): the share of pairs the model scores chosen over rejected.
double heldout_accuracy(model::LlamaForScore& rm, const data::PreferenceDataset& eval, int64_t batch_size,
                        int64_t pad_id, at::Device device, ComputeDtype dtype) {
  at::NoGradGuard no_grad;
  rm->eval();
  int64_t correct = 0;
  const int64_t n = static_cast<int64_t>(eval.examples.size());
  for (int64_t start = 0; start < n; start += batch_size) {
    data::MicroBatch mb;
    for (int64_t i = start; i < std::min(n, start + batch_size); ++i) mb.push_back({i});
    at::Tensor rw = pair_rewards(rm, data::collate_preference(eval.examples, mb, pad_id), device, dtype);
    const int64_t B = static_cast<int64_t>(mb.size());
    correct += (rw.narrow(0, 0, B) > rw.narrow(0, B, B)).sum().item<int64_t>();
  }
  rm->train();
  const double acc = static_cast<double>(correct) / static_cast<double>(n);
  log::info("eval: accuracy " + std::to_string(acc) + " on " + std::to_string(n) + " held-out pairs");
  return acc;
}

}  // namespace

RmResult run_rm(const RmRecipe& r, const std::string& resolved_config_yaml, const TrainerHooks& hooks) {
  // 1-2. Runtime, run folder, resume decision, chat template, tokenizer.
  TrainingSession session(r, {"rm", resolved_config_yaml, common_content_keys(r.model, r.tokenizer, r.data.train)},
                          r.data.train, hooks.faults);
  const at::Device device = session.device();
  dist::ProcessGroup& pg = session.pg();
  const int64_t pad_id = session.pad_id();

  // 3. Data.
  std::optional<StepStream> stream_slot;
  const PreferenceData pairs_data = load_preference_data(r.data, r.train, session.tok(), session.chat_template(),
                                                         r.run.seed, stream_slot, pg.rank(), pg.world_size());
  const data::PreferenceDataset& train = pairs_data.train;
  const std::optional<data::PreferenceDataset>& eval = pairs_data.eval;
  StepStream& stream = *stream_slot;

  // 4. Model (the fresh head too is broadcast from rank 0); the session's optimizer and schedule.
  model::LlamaForScore rm = load_starting_rm(session.resume(), r.model, session.tok(), device);
  session.start_training({*rm, [&](const std::string& dir) {
                            model::save_score_model(rm, dir);
                            session.write_tokenizer(dir);
                          }},
                         pairs_data.total_steps);
  session.set_evaluation([&]() -> Metrics {
    if (!eval || !session.leader()) return {};
    return {{"eval/accuracy", heldout_accuracy(rm, *eval, r.train.micro_batch_size, pad_id, device, r.run.dtype)}};
  });

  // 5. The loop.
  RmResult result;
  session.begin();
  while (!session.done()) {
    session.begin_step();
    data::DataCursor next_cursor = session.state().cursor;
    const auto [micro, pairs, last_batch] = next_pair_step(stream, next_cursor, pg);
    StepSums sums({"loss", "correct", "margin", "reward", "tokens"});
    double reward_min = 1e300, reward_max = -1e300;
    for (size_t i = 0; i < micro.size(); ++i) {
      const data::MicroBatch& mb = micro[i];
      if (mb.empty()) continue;
      session.grad_sync().set_sync(i == last_batch);
      const int64_t B = static_cast<int64_t>(mb.size());
      const data::PreferenceBatch b = data::collate_preference(train.examples, mb, pad_id);
      sums["tokens"] += static_cast<double>(b.num_tokens);
      at::Tensor rw = pair_rewards(rm, b, device, r.run.dtype);
      losses::RewardLossOutput out = losses::reward_loss(rw.narrow(0, 0, B), rw.narrow(0, B, B), b.margin.to(device),
                                                         r.rm.center_rewards_coefficient);
      // reward_loss is a mean over the micro-batch; weight it by its share of the step.
      (out.loss * (static_cast<double>(B) / static_cast<double>(pairs))).backward();
      sums["loss"] += out.loss.item<double>() * static_cast<double>(B);
      sums["correct"] += out.accuracy * static_cast<double>(B);
      sums["margin"] += out.margins.sum().item<double>();
      at::Tensor detached = rw.detach();
      sums["reward"] += detached.sum().item<double>();
      reward_min = std::min(reward_min, detached.min().item<double>());
      reward_max = std::max(reward_max, detached.max().item<double>());
    }
    session.grad_sync().flush();  // before the next collective, also on a rank with no pairs this step
    sums.all_reduce(pg);
    reward_max = dist::all_reduce_max(pg, reward_max);
    reward_min = -dist::all_reduce_max(pg, -reward_min);
    const double n = static_cast<double>(pairs);
    const double loss = sums["loss"] / n;
    const double lr = session.lr();
    const UpdateResult update = session.update(loss, "lower optim.lr");
    if (update.applied) result.last_loss = loss;
    const int64_t step_tokens = static_cast<int64_t>(sums["tokens"]);
    const Metrics row = {{"loss", loss}, {"lr", lr}, {"grad_norm", update.grad_norm}, {"accuracy", sums["correct"] / n},
                         {"margin", sums["margin"] / n}, {"rewards/mean", sums["reward"] / (2 * n)},
                         {"rewards/min", reward_min}, {"rewards/max", reward_max},
                         {"timing/grad_sync", update.sync_seconds}};
    if (session.end_step({next_cursor, step_tokens, update.applied, row, {{"loss", loss}, {"acc", sums["correct"] / n}},
                          stream.epoch_progress(next_cursor)}))
      return session.stopped(result);
  }

  // 6. Final checkpoint, exported reward model, held-out accuracy.
  session.finish(result, "eval/accuracy", "final loss " + std::to_string(result.last_loss));
  return result;
}

}  // namespace fw::trainer

