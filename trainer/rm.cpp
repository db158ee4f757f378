// The reward-model recipe, as a numbered narrative:
//   1. runtime and run folder; 2. tokenizer; 3. preference data
//   4. model: backbone + scalar head (from a causal LM with a fresh head, a reward model,
//      a checkpoint being resumed, or from scratch), optimizer, schedule
//   5. the loop: chosen and rejected in one forward -> reward at each sequence's last
//      token -> -log sigmoid(r_c - r_r - margin) (+ centering) -> clip -> AdamW
//   6. final checkpoint as LlamaForSequenceClassification, held-out accuracy
#include "trainer/rm.h"

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "data/collate.h"
#include "data/preference_dataset.h"
#include "losses/reward.h"
#include "model/checkpoint.h"
#include "trainer/metrics_log.h"
#include "trainer/model_setup.h"
#include "trainer/optim.h"
#include "trainer/preference_data.h"
#include "trainer/progress.h"
#include "trainer/recipe_start.h"
#include "trainer/run_state.h"
#include "trainer/schedule.h"
#include "trainer/setup.h"
#include "trainer/step_stream.h"
#include "trainer/update.h"

namespace fw::trainer {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Rewards of a collated micro-batch of pairs: [2B] (chosen rows, then rejected), each read
// at the sequence's last real token.
at::Tensor pair_rewards(model::LlamaForScore& rm, const data::PreferenceBatch& b, at::Device device,
                        const std::string& dtype) {
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

}  // namespace

RmResult run_rm(const RmRecipe& r, const std::string& resolved_config_yaml) {
  // 1-2. Runtime, run folder, resume decision, chat template, tokenizer.
  const RunIdentity id{"rm", resolved_config_yaml, common_content_keys(r.model, r.tokenizer, r.data.train)};
  const RecipeStart start = start_recipe(r.run, id, r.checkpoint.resume, r.model, r.tokenizer, r.data.train);
  const at::Device device = start.device;
  dist::ProcessGroup& pg = *start.pg;
  const auto& resume = start.resume;
  const data::TemplateKind chat_template = start.chat_template;
  const data::Tokenizer& tok = start.tok;
  const auto& write_tokenizer = start.write_tokenizer;
  const int64_t pad_id = std::max(0, tok.pad_or_eos_id());

  // 3. Data.
  std::optional<StepStream> stream_slot;
  const PreferenceData pairs_data =
      load_preference_data(r.data, r.train, tok, chat_template, r.run.seed, stream_slot, pg.rank(), pg.world_size());
  const data::PreferenceDataset& train = pairs_data.train;
  const std::optional<data::PreferenceDataset>& eval = pairs_data.eval;
  StepStream& stream = *stream_slot;
  const int64_t total_steps = pairs_data.total_steps;

  // 4. Model, optimizer, schedule.
  model::LlamaForScore rm = load_starting_rm(resume, r.model, tok, device);
  rm->train();
  dist::broadcast_parameters(pg, *rm);  // the fresh head too
  dist::GradientSync grad_sync(start.pg, *rm);  // sums the ranks' gradients (a no-op on one rank)
  auto optimizer = make_adamw(*rm, {r.optim.lr, r.optim.weight_decay, r.optim.beta1, r.optim.beta2, r.optim.eps,
                                    r.optim.decay_norms_and_biases, r.optim.decay_embeddings});
  ScheduleOptions schedule{schedule_from_name(r.schedule.kind), r.optim.lr, r.schedule.warmup_steps, total_steps,
                           r.schedule.min_lr_ratio};
  RunState st;
  if (resume) {
    st = load_run_state(resume->path, *optimizer);
    log::info("resumed from " + resume->path + " at step " + std::to_string(st.step) + " of " + std::to_string(total_steps));
  }
  auto write_model = [&](const std::string& dir) {  // a checkpoint's and final/'s model files
    model::save_score_model(rm, dir);
    write_tokenizer(dir);
  };
  auto save = [&](const RunState& s) {
    return save_run_checkpoint(r.run.output_dir, s, *optimizer, write_model, resolved_config_yaml,
                               static_cast<int>(r.checkpoint.keep_last));
  };
  auto evaluate = [&]() -> std::optional<double> {
    if (!eval || pg.rank() != 0) return std::nullopt;  // rank 0 evaluates
    at::NoGradGuard no_grad;
    rm->eval();
    int64_t correct = 0;
    const int64_t n = static_cast<int64_t>(eval->examples.size());
    for (int64_t start = 0; start < n; start += r.train.micro_batch_size) {
      data::MicroBatch mb;
      for (int64_t i = start; i < std::min(n, start + r.train.micro_batch_size); ++i) mb.push_back({i});
      at::Tensor rw = pair_rewards(rm, data::collate_preference(eval->examples, mb, pad_id), device, r.run.dtype);
      const int64_t B = static_cast<int64_t>(mb.size());
      correct += (rw.narrow(0, 0, B) > rw.narrow(0, B, B)).sum().item<int64_t>();
    }
    rm->train();
    const double acc = static_cast<double>(correct) / static_cast<double>(n);
    log::info("eval: accuracy " + std::to_string(acc) + " on " + std::to_string(n) + " held-out pairs");
    return acc;
  };

  // 5. The loop.
  MetricsLog metrics((fs::path(r.run.output_dir) / "metrics.jsonl").string(),
                     resume ? std::optional<int64_t>(st.step) : std::nullopt, log::rank() == 0);
  Progress progress(total_steps, st.step);
  RmResult result;
  if (!resume) {
    if (auto acc = evaluate()) metrics.log(0, {{"eval/accuracy", *acc}});
  }
  while (st.step < total_steps) {
    auto t_step = Clock::now();
    data::DataCursor next_cursor = st.cursor;
    const std::vector<data::MicroBatch> micro = stream.next_step(next_cursor);
    int64_t pairs = 0, step_tokens = 0;
    for (const auto& mb : micro) pairs += static_cast<int64_t>(mb.size());
    pairs = static_cast<int64_t>(dist::all_reduce_sum(pg, static_cast<double>(pairs)));  // over every rank
    size_t last_batch = 0;  // the last non-empty micro-batch launches the gradient all-reduce
    for (size_t i = 0; i < micro.size(); ++i)
      if (!micro[i].empty()) last_batch = i;
    double loss_sum = 0, correct = 0, margin_sum = 0, reward_sum = 0;
    double reward_min = 1e300, reward_max = -1e300;
    for (size_t i = 0; i < micro.size(); ++i) {
      const data::MicroBatch& mb = micro[i];
      if (mb.empty()) continue;
      grad_sync.set_sync(i == last_batch);
      const int64_t B = static_cast<int64_t>(mb.size());
      const data::PreferenceBatch b = data::collate_preference(train.examples, mb, pad_id);
      step_tokens += b.num_tokens;
      at::Tensor rw = pair_rewards(rm, b, device, r.run.dtype);
      losses::RewardLossOutput out = losses::reward_loss(rw.narrow(0, 0, B), rw.narrow(0, B, B), b.margin.to(device),
                                                         r.rm.center_rewards_coefficient);
      // reward_loss is a mean over the micro-batch; weight it by its share of the step.
      (out.loss * (static_cast<double>(B) / static_cast<double>(pairs))).backward();
      loss_sum += out.loss.item<double>() * static_cast<double>(B);
      correct += out.accuracy * static_cast<double>(B);
      margin_sum += out.margins.sum().item<double>();
      at::Tensor detached = rw.detach();
      reward_sum += detached.sum().item<double>();
      reward_min = std::min(reward_min, detached.min().item<double>());
      reward_max = std::max(reward_max, detached.max().item<double>());
    }
    grad_sync.flush();  // before the next collective, also on a rank with no pairs this step
    {  // the step's statistics over every rank
      const auto sums = dist::all_reduce_sum(pg, {loss_sum, correct, margin_sum, reward_sum, static_cast<double>(step_tokens)});
      loss_sum = sums[0], correct = sums[1], margin_sum = sums[2], reward_sum = sums[3];
      step_tokens = static_cast<int64_t>(sums[4]);
      reward_max = dist::all_reduce_max(pg, reward_max);
      reward_min = -dist::all_reduce_max(pg, -reward_min);
    }
    const double n = static_cast<double>(pairs);
    const double loss = loss_sum / n;
    const double lr = lr_at(st.step, schedule);
    const UpdateResult update = apply_update(*optimizer, *rm, loss, r.optim.grad_clip, lr, &grad_sync);
    if (!update.applied)
      handle_non_finite_step(r.train.on_nan, loss, st, progress, save, "lower optim.lr");
    st.cursor = next_cursor;
    st.tokens_seen += step_tokens;
    ++st.step;
    result.last_loss = loss;
    const double step_seconds = seconds_since(t_step);
    if (update.applied && (st.step % r.run.log_every_steps == 0 || st.step == total_steps)) {
      metrics.log(st.step, {{"loss", loss}, {"lr", lr}, {"grad_norm", update.grad_norm}, {"accuracy", correct / n},
                            {"margin", margin_sum / n}, {"rewards/mean", reward_sum / (2 * n)},
                            {"rewards/min", reward_min}, {"rewards/max", reward_max},
                            {"epoch", stream.epoch_progress(st.cursor)}, {"num_tokens", st.tokens_seen},
                            {"tokens_per_second", step_tokens / step_seconds}, {"timing/step", step_seconds},
                            {"timing/grad_sync", update.sync_seconds}});
    }
    progress.update(st.step, {{"loss", loss}, {"acc", correct / n}});
    if (checkpoint_or_stop(st, total_steps, r.checkpoint.every_steps, progress, save, pg)) {
      result.interrupted = true;
      result.steps = st.step;
      return result;
    }
  }
  progress.finish();

  // 6. Final checkpoint, exported reward model, held-out accuracy.
  save(st);
  result.final_dir = export_final(r.run.output_dir, pg, write_model);
  result.steps = st.step;
  result.eval_accuracy = evaluate();
  if (result.eval_accuracy) metrics.log(st.step, {{"eval/accuracy", *result.eval_accuracy}});
  log::info("done: " + std::to_string(st.step) + " steps, final loss " + std::to_string(result.last_loss) +
            "; reward model in " + result.final_dir);
  return result;
}

}  // namespace fw::trainer
