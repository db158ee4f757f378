// The SFT recipe, as a numbered narrative:
//   1-2. runtime, run folder, resume decision, tokenizer and chat template (the session)
//   3. data: tokenize, count skips, plan epochs
//   4. model (HF folder, checkpoint or from scratch); the session's optimizer, schedule
//      and resumed state
//   5. the loop: per step, grad_accum micro-batches normalised by the step's trainable
//      tokens -> clip -> AdamW -> metrics, checkpoints, eval
//   6. final checkpoint, the exported model, the final eval
#include "trainer/sft.h"

#include <ATen/ATen.h>

#include <optional>

#include "core/log.h"
#include "data/collate.h"
#include "data/sft_dataset.h"
#include "losses/sft.h"
#include "model/checkpoint.h"
#include "trainer/eval_generation.h"
#include "trainer/model_setup.h"
#include "trainer/sft_step.h"
#include "trainer/step_stream.h"
#include "trainer/training_session.h"

namespace fw::trainer {
namespace {

std::vector<int64_t> example_lengths(const data::SftDataset& ds) {
  std::vector<int64_t> lengths;
  for (const auto& ex : ds.examples) lengths.push_back(static_cast<int64_t>(ex.ids.size()));
  return lengths;
}

// Mean cross-entropy over the trainable tokens of `ds`, in a fixed order.
double eval_loss(model::LlamaForCausalLM& lm, const data::SftDataset& ds, data::BatchingOptions batching, bool packing,
                 int64_t pad_id, at::Device device, ComputeDtype dtype) {
  at::NoGradGuard no_grad;
  lm->eval();
  batching.shuffle = false;
  double sum = 0;
  int64_t tokens = 0;
  for (const auto& mb : data::plan_epoch(example_lengths(ds), batching, 0)) {
    losses::SftLoss l = sft_micro_batch_loss(lm, data::collate_sft(ds.examples, mb, packing, pad_id), device, dtype);
    sum += l.loss_sum.item<double>();
    tokens += l.num_tokens;
  }
  lm->train();
  return sum / static_cast<double>(std::max<int64_t>(1, tokens));
}

}  // namespace

SftResult run_sft(const SftRecipe& r, const std::string& resolved_config_yaml, const TrainerHooks& hooks) {
  // 1-2. Runtime, run folder, resume decision, chat template, tokenizer.
  require_verifier(r.eval.prompts, hooks);
  TrainingSession session(r, {"sft", resolved_config_yaml, common_content_keys(r.model, r.tokenizer, r.data.train)},
                          r.data.train, hooks.faults);
  const at::Device device = session.device();
  dist::ProcessGroup& pg = session.pg();
  const data::Tokenizer& tok = session.tok();
  const int64_t pad_id = session.pad_id();

  // 3. Data.
  const data::SftDataOptions data_opts{session.chat_template(), r.data.mask, r.data.max_seq_len, r.data.truncation,
                                       r.data.max_examples};
  const data::SftDataset train = data::load_sft_jsonl(r.data.train, tok, data_opts);
  log::info("train data: " + train.stats.summary());
  if (train.stats.truncated || train.stats.dropped_too_long)
    log::warn(std::to_string(train.stats.truncated + train.stats.dropped_too_long) + " example(s) exceed max_seq_len " +
              std::to_string(r.data.max_seq_len) + " (truncation: " + std::string(name_of(r.data.truncation)) + ")");
  const data::BatchingOptions batching{r.data.max_seq_len, r.train.micro_batch_size, r.data.packing, true,
                                       static_cast<uint64_t>(r.run.seed), 64};
  StepStream stream(example_lengths(train), batching, r.train.grad_accum, pg.rank(), pg.world_size());
  const int64_t total_steps = r.train.max_steps > 0 ? r.train.max_steps : r.train.epochs * stream.steps_per_epoch();

  // 4. Model; the session's optimizer and schedule. Master weights stay fp32; bf16 is autocast.
  model::LlamaForCausalLM lm = load_starting_lm(session.resume(), r.model, tok, device);
  session.start_training({*lm, [&](const std::string& dir) {
                            model::save_causal_lm(lm, dir);
                            session.write_tokenizer(dir);
                          }},
                         total_steps);

  // What eval measures: the loss on data.eval and the accuracy on eval.prompts (each if set).
  std::optional<data::SftDataset> eval_data;
  if (!r.data.eval.empty()) {
    eval_data = data::load_sft_jsonl(r.data.eval, tok, data_opts);
    log::info("eval data: " + eval_data->stats.summary());
  }
  std::optional<EvalPrompts> eval_prompts;
  if (!r.eval.prompts.empty()) eval_prompts = load_eval_prompts(r.eval.prompts, r.eval.max_prompts);
  session.set_evaluation([&]() -> Metrics {
    Metrics m;
    if (!session.leader()) return m;  // rank 0 evaluates; the others wait at the next collective
    if (eval_data) {
      const double loss = eval_loss(lm, *eval_data, batching, r.data.packing, pad_id, device, r.run.dtype);
      log::info("eval: loss " + std::to_string(loss));
      m.emplace_back("eval/loss", loss);
    }
    if (eval_prompts) {
      Metrics g = generation_eval_metrics(lm, tok, session.chat_template(), *eval_prompts,
                                          {.max_new_tokens = r.eval.max_new_tokens, .batch_size = r.eval.batch_size,
                                           .verifier = &hooks.verifier, .model_dir = r.model.path});
      m.insert(m.end(), g.begin(), g.end());
    }
    return m;
  }, r.eval.every_steps);

  // 5. The loop.
  SftResult result;
  session.begin();
  while (!session.done()) {
    session.begin_step();
    data::DataCursor next_cursor = session.state().cursor;
    std::vector<data::SftBatch> batches;
    int64_t step_trainable = 0, step_tokens = 0;
    for (const auto& mb : stream.next_step(next_cursor)) {
      if (mb.empty()) continue;  // this rank's share of a short last micro-batch
      batches.push_back(data::collate_sft(train.examples, mb, r.data.packing, pad_id));
      step_trainable += batches.back().num_trainable;
      step_tokens += batches.back().num_tokens;
    }
    // Counts over every rank: the loss is normalised by the global trainable tokens.
    const std::vector<double> counts = dist::all_reduce_sum(
        pg, std::vector<double>{static_cast<double>(step_trainable), static_cast<double>(step_tokens)});
    step_trainable = static_cast<int64_t>(counts[0]);
    step_tokens = static_cast<int64_t>(counts[1]);
    const double t_data = session.step_seconds();

    // Each micro-batch adds sum(CE)/N to the gradient, N = the step's trainable tokens
    // (all ranks); the last backward launches the gradient all-reduce.
    double loss_sum = 0;
    for (size_t i = 0; i < batches.size(); ++i) {
      session.grad_sync().set_sync(i + 1 == batches.size());
      losses::SftLoss l = sft_micro_batch_loss(lm, batches[i], device, r.run.dtype);
      (l.loss_sum / static_cast<double>(std::max<int64_t>(1, step_trainable))).backward();
      loss_sum += l.loss_sum.item<double>();
    }
    session.grad_sync().flush();  // before the next collective, also on a rank with no rows this step
    loss_sum = dist::all_reduce_sum(pg, loss_sum);
    const double t_forward_backward = session.step_seconds() - t_data;

    const double loss = loss_sum / static_cast<double>(std::max<int64_t>(1, step_trainable));
    const double lr = session.lr();
    const UpdateResult update = session.update(loss, "lower optim.lr or check the data");
    if (update.applied) result.last_loss = loss;
    const double step_seconds = session.step_seconds();
    const Metrics row = {{"loss", loss}, {"lr", lr}, {"grad_norm", update.grad_norm},
                         {"num_trainable_tokens", step_trainable},
                         {"trainable_tokens_per_second", step_trainable / step_seconds},
                         {"timing/data", t_data}, {"timing/forward_backward", t_forward_backward},
                         {"timing/optimizer", step_seconds - t_data - t_forward_backward},
                         {"timing/grad_sync", update.sync_seconds}};
    if (session.end_step({next_cursor, step_tokens, update.applied, row, {{"loss", loss}, {"lr", lr}},
                          stream.epoch_progress(next_cursor)}))
      return session.stopped(result);
  }

  // 6. Final checkpoint, exported model, eval.
  session.finish(result, "eval/accuracy", "final loss " + std::to_string(result.last_loss));
  return result;
}

}  // namespace fw::trainer
