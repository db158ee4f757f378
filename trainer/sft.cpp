// The SFT recipe, as a numbered narrative:
//   1. runtime (device, threads, seed, determinism) and the run folder
//   2. tokenizer and chat template
//   3. data: tokenize, count skips, plan epochs
//   4. model (HF folder, checkpoint or from scratch), optimizer, schedule
//   5. resume from the newest valid checkpoint
//   6. the loop: per step, grad_accum micro-batches normalised by the step's trainable
//      tokens -> clip -> AdamW -> metrics, checkpoints, eval
//   7. final checkpoint and the exported model
#include "trainer/sft.h"

#include <ATen/ATen.h>
#include <torch/serialize.h>

#include <chrono>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "data/collate.h"
#include "data/sft_dataset.h"
#include "losses/sft.h"
#include "model/checkpoint.h"
#include "trainer/checkpoint_dir.h"
#include "trainer/eval_generation.h"
#include "trainer/metrics_log.h"
#include "trainer/model_setup.h"
#include "trainer/optim.h"
#include "trainer/progress.h"
#include "trainer/recipe_start.h"
#include "trainer/run_state.h"
#include "trainer/schedule.h"
#include "trainer/sft_step.h"
#include "trainer/step_stream.h"
#include "trainer/update.h"
#include "trainer/setup.h"

namespace fw::trainer {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

data::MaskMode mask_from_name(const std::string& name) {
  if (name == "last_assistant") return data::MaskMode::LastAssistant;
  if (name == "everything") return data::MaskMode::Everything;
  return data::MaskMode::AllAssistant;
}

}  // namespace

SftResult run_sft(const SftRecipe& r, const std::string& resolved_config_yaml) {
  // 1-2. Runtime, run folder, resume decision, chat template, tokenizer.
  const RunIdentity id{"sft", resolved_config_yaml, common_content_keys(r.model, r.tokenizer, r.data.train)};
  const RecipeStart start = start_recipe(r.run, id, r.checkpoint.resume, r.model, r.tokenizer, r.data.train);
  const at::Device device = start.device;
  dist::ProcessGroup& pg = *start.pg;
  const auto& resume = start.resume;
  const data::TemplateKind chat_template = start.chat_template;
  const data::Tokenizer& tok = start.tok;
  const auto& write_tokenizer = start.write_tokenizer;

  // 3. Data.
  data::SftDataOptions data_opts{chat_template, mask_from_name(r.data.mask), r.data.max_seq_len,
                                 data::truncation_from_name(r.data.truncation), r.data.max_examples};
  const data::SftDataset train = data::load_sft_jsonl(r.data.train, tok, data_opts);
  log::info("train data: " + train.stats.summary());
  if (train.stats.truncated || train.stats.dropped_too_long)
    log::warn(std::to_string(train.stats.truncated + train.stats.dropped_too_long) +
              " example(s) exceed max_seq_len " + std::to_string(r.data.max_seq_len) + " (truncation: " + r.data.truncation + ")");
  data::BatchingOptions batching{r.data.max_seq_len, r.train.micro_batch_size, r.data.packing, true,
                                 static_cast<uint64_t>(r.run.seed), 64};
  std::vector<int64_t> lengths;
  for (const auto& ex : train.examples) lengths.push_back(static_cast<int64_t>(ex.ids.size()));
  StepStream stream(std::move(lengths), batching, r.train.grad_accum, pg.rank(), pg.world_size());
  const int64_t total_steps = r.train.max_steps > 0 ? r.train.max_steps : r.train.epochs * stream.steps_per_epoch();
  const int64_t pad_id = std::max(0, tok.pad_or_eos_id());

  // 4. Model, optimizer, schedule. Master weights stay fp32; bf16 is autocast.
  model::LlamaForCausalLM lm = load_starting_lm(resume, r.model, tok, device);
  lm->train();
  dist::broadcast_parameters(pg, *lm);
  dist::GradientSync grad_sync(start.pg, *lm);  // sums the ranks' gradients (a no-op on one rank)
  OptimOptions optim_opts{r.optim.lr, r.optim.weight_decay, r.optim.beta1, r.optim.beta2, r.optim.eps,
                          r.optim.decay_norms_and_biases, r.optim.decay_embeddings};
  auto optimizer = make_adamw(*lm, optim_opts);
  ScheduleOptions schedule{schedule_from_name(r.schedule.kind), r.optim.lr, r.schedule.warmup_steps, total_steps,
                           r.schedule.min_lr_ratio};

  // 5. Resume.
  RunState st;
  if (resume) {
    st = load_run_state(resume->path, *optimizer);
    log::info("resumed from " + resume->path + " at step " + std::to_string(st.step) + " of " + std::to_string(total_steps));
  }

  auto write_model = [&](const std::string& dir) {  // a checkpoint's and final/'s model files
    model::save_causal_lm(lm, dir);
    write_tokenizer(dir);
  };
  auto save = [&](const RunState& s) {
    return save_run_checkpoint(r.run.output_dir, s, *optimizer, write_model, resolved_config_yaml,
                               static_cast<int>(r.checkpoint.keep_last));
  };

  MetricsLog metrics((fs::path(r.run.output_dir) / "metrics.jsonl").string(),
                     resume ? std::optional<int64_t>(st.step) : std::nullopt, log::rank() == 0);

  // Eval loss on data.eval: mean CE over its trainable tokens, in fixed order.
  std::optional<data::SftDataset> eval_data;
  if (!r.data.eval.empty()) {
    eval_data = data::load_sft_jsonl(r.data.eval, tok, data_opts);
    log::info("eval data: " + eval_data->stats.summary());
  }
  auto eval_loss = [&]() -> std::optional<double> {
    if (!eval_data) return std::nullopt;
    at::NoGradGuard no_grad;
    lm->eval();
    std::vector<int64_t> lengths;
    for (const auto& ex : eval_data->examples) lengths.push_back(static_cast<int64_t>(ex.ids.size()));
    data::BatchingOptions eval_batching = batching;
    eval_batching.shuffle = false;
    double sum = 0;
    int64_t tokens = 0;
    for (const auto& mb : data::plan_epoch(lengths, eval_batching, 0)) {
      data::SftBatch b = data::collate_sft(eval_data->examples, mb, r.data.packing, pad_id);
      losses::SftLoss l = sft_micro_batch_loss(lm, b, device, r.run.dtype);
      sum += l.loss_sum.item<double>();
      tokens += l.num_tokens;
    }
    lm->train();
    return sum / static_cast<double>(std::max<int64_t>(1, tokens));
  };

  std::optional<EvalPrompts> eval_prompts;
  if (!r.eval.prompts.empty()) eval_prompts = load_eval_prompts(r.eval.prompts, r.eval.max_prompts);
  // Everything eval measures: the eval loss and the generation accuracy (each if set up).
  auto run_eval = [&]() -> Metrics {
    Metrics m;
    if (pg.rank() != 0) return m;  // rank 0 evaluates; the others wait at the next collective
    if (auto loss = eval_loss()) {
      log::info("eval: loss " + std::to_string(*loss));
      m.emplace_back("eval/loss", *loss);
    }
    if (eval_prompts) {
      Metrics g = generation_eval_metrics(lm, tok, chat_template, *eval_prompts,
                                          {.max_new_tokens = r.eval.max_new_tokens, .batch_size = r.eval.batch_size});
      m.insert(m.end(), g.begin(), g.end());
    }
    return m;
  };
  auto log_eval = [&](int64_t step) {
    Metrics m = run_eval();
    if (!m.empty()) metrics.log(step, m);
    return m;
  };

  // Fault injection for the tests of the NaN path: FLYWHEEL_TEST_NAN_AT_STEP=N makes
  // step N's loss NaN.
  const char* nan_env = std::getenv("FLYWHEEL_TEST_NAN_AT_STEP");
  const int64_t nan_test_step = nan_env ? std::atoll(nan_env) : -1;

  // 6. The loop.
  Progress progress(total_steps, st.step);
  SftResult result;
  if (!resume) {  // the starting point, so a run shows what it learned
    log_eval(0);
  }
  while (st.step < total_steps) {
    auto t_step = Clock::now();
    data::DataCursor next_cursor = st.cursor;
    std::vector<data::MicroBatch> micro = stream.next_step(next_cursor);
    std::vector<data::SftBatch> batches;
    int64_t step_trainable = 0, step_tokens = 0;
    for (const auto& mb : micro) {
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
    const double t_data = seconds_since(t_step);

    // Each micro-batch adds sum(CE)/N to the gradient, N = the step's trainable tokens
    // (all ranks); the last backward launches the gradient all-reduce.
    auto t_fb = Clock::now();
    double loss_sum = 0;
    for (size_t i = 0; i < batches.size(); ++i) {
      grad_sync.set_sync(i + 1 == batches.size());
      losses::SftLoss l = sft_micro_batch_loss(lm, batches[i], device, r.run.dtype);
      (l.loss_sum / static_cast<double>(std::max<int64_t>(1, step_trainable))).backward();
      loss_sum += l.loss_sum.item<double>();
    }
    grad_sync.flush();  // before the next collective, also on a rank with no rows this step
    loss_sum = dist::all_reduce_sum(pg, loss_sum);
    const double t_forward_backward = seconds_since(t_fb);

    auto t_opt = Clock::now();
    double loss = loss_sum / static_cast<double>(std::max<int64_t>(1, step_trainable));
    if (nan_test_step == st.step + 1) loss = std::nan("");
    const double lr = lr_at(st.step, schedule);
    const UpdateResult update = apply_update(*optimizer, *lm, loss, r.optim.grad_clip, lr, &grad_sync);
    const double grad_norm = update.grad_norm;
    if (!update.applied) {
      handle_non_finite_step(r.train.on_nan, loss, st, progress, save, "lower optim.lr or check the data");
      st.cursor = next_cursor;
      ++st.step;
      continue;
    }
    const double t_optimizer = seconds_since(t_opt);

    st.cursor = next_cursor;
    st.tokens_seen += step_tokens;
    ++st.step;
    result.last_loss = loss;
    const double step_seconds = seconds_since(t_step);
    if (st.step % r.run.log_every_steps == 0 || st.step == total_steps) {
      metrics.log(st.step, {{"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm},
                            {"epoch", stream.epoch_progress(st.cursor)},
                            {"num_tokens", st.tokens_seen},
                            {"num_trainable_tokens", step_trainable},
                            {"tokens_per_second", step_tokens / step_seconds},
                            {"trainable_tokens_per_second", step_trainable / step_seconds},
                            {"timing/data", t_data}, {"timing/forward_backward", t_forward_backward},
                            {"timing/optimizer", t_optimizer}, {"timing/grad_sync", update.sync_seconds},
                            {"timing/step", step_seconds}});
    }
    progress.update(st.step, {{"loss", loss}, {"lr", lr}});
    if (r.eval.every_steps > 0 && st.step < total_steps && st.step % r.eval.every_steps == 0) {
      progress.clear();
      log_eval(st.step);
    }
    if (checkpoint_or_stop(st, total_steps, r.checkpoint.every_steps, progress, save, pg)) {
      result.interrupted = true;
      result.steps = st.step;
      return result;
    }
  }
  progress.finish();

  // 7. Final checkpoint, exported model, eval.
  save(st);
  result.final_dir = export_final(r.run.output_dir, pg, write_model);
  result.steps = st.step;
  for (const auto& [name, value] : log_eval(st.step))
    if (name == "eval/accuracy") result.eval_accuracy = std::get<double>(value);
  log::info("done: " + std::to_string(st.step) + " steps, final loss " + std::to_string(result.last_loss) +
            "; model in " + result.final_dir);
  return result;
}

}  // namespace fw::trainer
