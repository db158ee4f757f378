#include "trainer/training_session.h"

#include <torch/optim/optimizer.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "trainer/optim.h"
#include "trainer/setup.h"

namespace fw::trainer {
namespace fs = std::filesystem;
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

TrainingSession::TrainingSession(const TrainingSections& sections, const RunIdentity& identity,
                                 const std::vector<std::string>& data_files, FaultInjection faults)
    : s_(sections),
      faults_(faults),
      config_yaml_(identity.config_yaml),
      start_(start_recipe(sections.run, identity, sections.checkpoint.resume, sections.model, sections.tokenizer,
                          data_files)) {}

TrainingSession::~TrainingSession() = default;

int64_t TrainingSession::pad_id() const { return std::max(0, start_.tok.pad_or_eos_id()); }

void TrainingSession::start_training(TrainedModule trained, int64_t total_steps) {
  if (!trained.write_export) trained.write_export = trained.write_checkpoint;
  trained_.emplace(std::move(trained));
  torch::nn::Module& module = trained_->module;
  module.train();
  dist::broadcast_parameters(*start_.pg, module);
  grad_sync_ = std::make_unique<dist::GradientSync>(start_.pg, module, trained_->sync);
  const OptimSection& o = s_.optim;
  optimizer_ = make_adamw(module, {o.lr, o.weight_decay, o.beta1, o.beta2, o.eps, o.decay_norms_and_biases,
                                   o.decay_embeddings});
  total_steps_ = total_steps;
  schedule_ = {s_.schedule.kind, o.lr, s_.schedule.warmup_steps, total_steps, s_.schedule.min_lr_ratio};
  if (const auto& resume = start_.resume) {
    state_ = load_run_state(resume->path, *optimizer_);
    log::info("resumed from " + resume->path + " at step " + std::to_string(state_.step) + " of " +
              std::to_string(total_steps));
  }
  metrics_ = std::make_unique<MetricsLog>((fs::path(s_.run.output_dir) / "metrics.jsonl").string(),
                                          start_.resume ? std::optional<int64_t>(state_.step) : std::nullopt,
                                          log::rank() == 0);
}

void TrainingSession::set_evaluation(std::function<Metrics()> evaluate, int64_t every_steps) {
  evaluate_ = std::move(evaluate);
  eval_every_steps_ = every_steps;
}

Metrics TrainingSession::run_evaluation(int64_t step) {
  if (!evaluate_) return {};
  Metrics m = evaluate_();
  if (!m.empty()) metrics_->log(step, m);
  return m;
}

void TrainingSession::begin() {
  if (!start_.resume) run_evaluation(0);  // the starting point, so a run shows what it learned
  progress_ = std::make_unique<Progress>(total_steps_, state_.step);
}

void TrainingSession::begin_step() { step_started_ = now_seconds(); }

double TrainingSession::step_seconds() const { return now_seconds() - step_started_; }

UpdateResult TrainingSession::update(double loss, const std::string& nan_hint) {
  if (fault_due()) loss = std::nan("");
  const UpdateResult u = apply_update(*optimizer_, trained_->module, loss, s_.optim.grad_clip, lr(), grad_sync_.get());
  if (!u.applied) non_finite_step(u.loss, nan_hint);
  return u;
}

std::string TrainingSession::save() {
  return save_run_checkpoint(s_.run.output_dir, state_, *optimizer_, trained_->write_checkpoint,
                             config_yaml_, static_cast<int>(s_.checkpoint.keep_last));
}

void TrainingSession::non_finite_step(double loss, const std::string& hint, bool model_unchanged) {
  progress_->clear();
  const std::string at = " at step " + std::to_string(state_.step + 1);
  if (s_.train.on_nan == OnNan::Stop) {
    const std::string what =
        model_unchanged ? "stopped with the last good state saved in " + save()
                        : "stopped without saving: some of the step's updates were applied; rerun resumes from the "
                          "newest checkpoint (none: from the start)";
    throw_runtime("loss is " + std::to_string(loss) + at + "; " + what, {.hint = hint + ", or set train.on_nan: skip"});
  }
  if (!model_unchanged) {
    log::warn("non-finite update(s)" + at + " skipped; the step keeps its finite ones");
    return;
  }
  log::warn("non-finite loss" + at + ": step skipped");
  ++state_.skipped_steps;
}

bool TrainingSession::end_step(const StepEnd& end) {
  state_.cursor = end.next_cursor;
  state_.tokens_seen += end.tokens;
  ++state_.step;
  const int64_t step = state_.step;
  if (end.applied && (step % s_.run.log_every_steps == 0 || step == total_steps_)) {
    const double seconds = step_seconds();
    Metrics row = end.metrics;
    row.insert(row.end(), {{"epoch", end.epoch}, {"num_tokens", state_.tokens_seen},
                           {"tokens_per_second", static_cast<double>(end.tokens) / seconds}, {"timing/step", seconds}});
    metrics_->log(step, row);
  }
  progress_->update(step, end.shown);
  if (eval_every_steps_ > 0 && step < total_steps_ && step % eval_every_steps_ == 0) {
    progress_->clear();
    run_evaluation(step);
  }
  // Every rank must stop at the same step: a signal seen by any rank stops them all.
  if (dist::all_reduce_max(*start_.pg, interrupted() ? 1.0 : 0.0) > 0) {
    progress_->clear();
    log::info("interrupted: checkpoint saved in " + save() + "; rerun the same command to resume");
    return true;
  }
  const int64_t every = s_.checkpoint.every_steps;
  if (step < total_steps_ && every > 0 && step % every == 0) {  // the last step's is finish()'s
    progress_->clear();  // a terminal's progress line must not swallow the log line
    save();
  }
  return false;
}

void TrainingSession::finish(TrainResult& r, const std::string& accuracy_metric, const std::string& summary) {
  progress_->finish();
  save();
  r.final_dir = (fs::path(s_.run.output_dir) / "final").string();
  if (leader()) trained_->write_export(r.final_dir);
  r.steps = state_.step;
  for (const auto& [name, value] : run_evaluation(state_.step))
    if (name == accuracy_metric) r.eval_accuracy = std::get<double>(value);
  log::info("done: " + std::to_string(r.steps) + " steps, " + summary + "; model in " + r.final_dir);
}

}  // namespace fw::trainer
