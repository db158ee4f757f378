// The PPO recipe, as a numbered narrative:
//   1. runtime and run folder; 2. tokenizer; 3. prompts and their step plan
//   4. models: policy (resumed or model.path), frozen reference, frozen reward model,
//      value model (resumed, ppo.value_model_path or the reward model); one AdamW over
//      policy + value; the KL controller
//   5. the loop, one rollout batch per step:
//        generate -> score -> KL-penalised rewards -> GAE   (ppo_experience.h)
//        ppo_epochs x mini-batches of clipped policy + value loss   (ppo_update.h)
//        KL controller update -> TRL's metrics -> checkpoint
//      Sampling and shuffling are seeded by (seed, step), so a resumed run redoes an
//      interrupted step exactly; the KL coefficient is saved with each checkpoint.
//   6. final checkpoint, exported policy, generation eval
#include "trainer/ppo.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/prompt_dataset.h"
#include "model/checkpoint.h"
#include "trainer/eval_generation.h"
#include "trainer/metrics_log.h"
#include "trainer/model_setup.h"
#include "trainer/optim.h"
#include "trainer/ppo_experience.h"
#include "trainer/ppo_update.h"
#include "trainer/progress.h"
#include "trainer/recipe_start.h"
#include "trainer/run_state.h"
#include "trainer/schedule.h"
#include "trainer/setup.h"
#include "trainer/step_stream.h"

namespace fw::trainer {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr const char* kValueDir = "value_model";         // in a checkpoint folder
constexpr const char* kPpoStateFile = "trainer_state/ppo.json";


model::LlamaForScore load_frozen_score_model(const std::string& dir, const char* key, at::ScalarType dtype,
                                             at::Device device) {
  if (!model::LlamaConfig::load(dir).is_sequence_classifier())
    throw_invalid(dir + " is not a reward model (its config.json names no ForSequenceClassification architecture)",
                  {.key = key, .hint = "train one with `flywheel rm`"});
  return model::load_score_model(dir, {.dtype = dtype, .device = device});
}

void freeze(torch::nn::Module& m) {
  m.eval();
  for (auto& p : m.parameters()) p.set_requires_grad(false);
}

void check_same_vocabulary(const model::LlamaConfig& policy, const model::LlamaConfig& other, const std::string& key) {
  if (policy.vocab_size != other.vocab_size)
    throw_invalid("the policy has a vocabulary of " + std::to_string(policy.vocab_size) + " tokens but " + key +
                      " has " + std::to_string(other.vocab_size) + "; PPO needs one tokenizer for all models",
                  {.key = key});
}

}  // namespace

PpoResult run_ppo(const PpoRecipe& r, const std::string& resolved_config_yaml, const ResponseJudge& judge) {
  // 1-2. Runtime, run folder, resume decision, chat template, tokenizer.
  RunIdentity id{"ppo", resolved_config_yaml, common_content_keys(r.model, r.tokenizer, r.data.train)};
  id.content.push_back({"ppo.reward_model_path", {r.ppo.reward_model_path}});
  id.content.push_back({"ppo.value_model_path", {r.ppo.value_model_path}});
  id.content.push_back({"ppo.reference_path", {r.ppo.reference_path}});
  const RecipeStart start = start_recipe(r.run, id, r.checkpoint.resume, r.model, r.tokenizer, r.data.train);
  const at::Device device = start.device;
  dist::ProcessGroup& pg = *start.pg;
  const auto& resume = start.resume;
  const data::Tokenizer& tok = start.tok;
  const int64_t pad_id = std::max(0, tok.pad_or_eos_id());

  // 3. Prompts, and the plan of which prompts each step takes: i.i.d. batches (seeded), no
  // grouping by length across batches — similar lengths would mean similar tasks, and a
  // batch of one kind of prompt makes a poor baseline for the advantages. ppo.batch_size
  // per rank, each rank its own share.
  const data::PromptDataset prompts = data::load_prompt_dataset(
      r.data.train, tok,
      {.chat_template = start.chat_template, .max_prompt_len = r.data.max_prompt_len,
       .truncation = data::prompt_truncation_from_name(r.data.truncation), .max_examples = r.data.max_examples});
  log::info("prompts: " + prompts.stats.summary());
  std::vector<int64_t> lengths;
  for (const auto& p : prompts.examples) lengths.push_back(static_cast<int64_t>(p.prompt_ids.size()));
  StepStream stream(lengths,
                    {.max_seq_len = r.data.max_prompt_len, .micro_batch_size = r.ppo.batch_size, .packing = false,
                     .shuffle = true, .seed = static_cast<uint64_t>(r.run.seed), .group_window = 1},
                    1, pg.rank(), pg.world_size());
  const int64_t total_steps = r.train.max_steps > 0 ? r.train.max_steps : r.train.epochs * stream.steps_per_epoch();

  // 4. Models, optimizer, schedule, KL controller. The frozen models need no fp32 master
  // weights: under bf16 autocast on CUDA they are held in bf16.
  const at::ScalarType frozen_dtype = r.run.dtype == "bfloat16" && device.is_cuda() ? at::kBFloat16 : at::kFloat;
  PpoModels m;
  m.policy = load_starting_lm(resume, r.model, tok, device);
  m.reference = model::load_causal_lm(r.ppo.reference_path.empty() ? r.model.path : r.ppo.reference_path,
                                      {.dtype = frozen_dtype, .device = device});
  freeze(*m.reference);
  m.reward = load_frozen_score_model(r.ppo.reward_model_path, "ppo.reward_model_path", frozen_dtype, device);
  freeze(*m.reward);
  const std::string value_start = resume ? (fs::path(resume->path) / kValueDir).string()
                                  : !r.ppo.value_model_path.empty() ? r.ppo.value_model_path
                                                                    : r.ppo.reward_model_path;
  m.value = model::load_score_model(value_start, {.dtype = at::kFloat, .device = device});
  check_same_vocabulary(m.policy->config(), m.reference->config(), "ppo.reference_path");
  check_same_vocabulary(m.policy->config(), m.reward->config(), "ppo.reward_model_path");
  check_same_vocabulary(m.policy->config(), m.value->config(), "ppo.value_model_path");
  PolicyAndValue trainable(m);
  trainable->train();
  dist::broadcast_parameters(pg, *trainable);
  // Each rank's update is a mean over its rollouts: the gradients are averaged.
  dist::GradientSync grad_sync(start.pg, *trainable, {.scale = 1.0 / pg.world_size()});
  auto optimizer = make_adamw(*trainable, {r.optim.lr, r.optim.weight_decay, r.optim.beta1, r.optim.beta2, r.optim.eps,
                                           r.optim.decay_norms_and_biases, r.optim.decay_embeddings});
  ScheduleOptions schedule{schedule_from_name(r.schedule.kind), r.optim.lr, r.schedule.warmup_steps, total_steps,
                           r.schedule.min_lr_ratio};
  losses::AdaptiveKl kl_ctl{.value = r.ppo.kl_coef, .target = r.ppo.kl_target, .horizon = r.ppo.kl_horizon};
  RunState st;
  if (resume) {
    st = load_run_state(resume->path, *optimizer);
    const std::string file = (fs::path(resume->path) / kPpoStateFile).string();
    try {
      kl_ctl.value = read_json_file(file).at("kl_coef").get<double>();
    } catch (const nlohmann::json::exception& e) {
      throw_invalid(std::string("bad PPO state: ") + e.what(), {.file = file});
    }
    log::info("resumed from " + resume->path + " at step " + std::to_string(st.step) + " of " +
              std::to_string(total_steps) + " (kl_coef " + std::to_string(kl_ctl.value) + ")");
  }
  auto write_policy = [&](const std::string& dir) {  // final/ and the top of a checkpoint
    model::save_causal_lm(m.policy, dir);
    start.write_tokenizer(dir);
  };
  auto save = [&](const RunState& s) {
    return save_run_checkpoint(r.run.output_dir, s, *optimizer, [&](const std::string& dir) {
      write_policy(dir);
      model::save_score_model(m.value, (fs::path(dir) / kValueDir).string());
      const nlohmann::ordered_json state = {{"kl_coef", kl_ctl.value}};
      write_file_atomic((fs::path(dir) / kPpoStateFile).string(), state.dump(2) + "\n");
    }, resolved_config_yaml, static_cast<int>(r.checkpoint.keep_last));
  };

  ExperienceOptions exp_opts;
  exp_opts.generate.max_new_tokens = r.ppo.max_new_tokens;
  exp_opts.generate.sampling = {.temperature = r.ppo.temperature, .top_k = r.ppo.top_k, .top_p = r.ppo.top_p};
  if (tok.eos_id() >= 0) exp_opts.generate.eos_ids = {tok.eos_id()};
  exp_opts.generate.pad_id = pad_id;
  exp_opts.generate.stop_strings = r.ppo.stop_strings;
  exp_opts.generate.detokenize = [&tok](const std::vector<int64_t>& ids) {
    return tok.decode(std::vector<int32_t>(ids.begin(), ids.end()));
  };
  exp_opts.forward_batch_size = r.ppo.forward_batch_size;
  exp_opts.missing_eos_penalty = r.ppo.missing_eos_penalty;
  exp_opts.kl_estimator = losses::kl_estimator_from_name(r.ppo.kl_estimator);
  exp_opts.whiten_rewards = r.ppo.whiten_rewards;
  exp_opts.gamma = r.ppo.gamma;
  exp_opts.lam = r.ppo.lam;
  exp_opts.dtype = r.run.dtype;

  std::optional<EvalPrompts> eval_prompts;
  if (!r.eval.prompts.empty()) eval_prompts = load_eval_prompts(r.eval.prompts, r.eval.max_prompts);
  auto run_eval = [&]() -> Metrics {
    if (!eval_prompts || pg.rank() != 0) return {};  // rank 0 evaluates
    return generation_eval_metrics(m.policy, tok, start.chat_template, *eval_prompts,
                                   {.max_new_tokens = r.eval.max_new_tokens, .batch_size = r.eval.batch_size,
                                    .reward_model = &m.reward, .judge = judge ? &judge : nullptr});
  };

  // Fault injection for the tests of the NaN path: FLYWHEEL_TEST_NAN_AT_STEP=N makes
  // step N's reward-model scores NaN.
  const char* nan_env = std::getenv("FLYWHEEL_TEST_NAN_AT_STEP");
  const int64_t nan_test_step = nan_env ? std::atoll(nan_env) : -1;

  // 5. The loop.
  MetricsLog metrics((fs::path(r.run.output_dir) / "metrics.jsonl").string(),
                     resume ? std::optional<int64_t>(st.step) : std::nullopt, log::rank() == 0);
  Progress progress(total_steps, st.step);
  PpoResult result;
  if (!resume) {
    if (Metrics e = run_eval(); !e.empty()) metrics.log(0, e);
  }
  while (st.step < total_steps) {
    const auto t_step = Clock::now();
    data::DataCursor next_cursor = st.cursor;
    const std::vector<data::MicroBatch> plan = stream.next_step(next_cursor);
    std::vector<std::vector<int64_t>> batch_prompts;
    for (const auto& mb : plan)
      for (const auto& row : mb) {
        const auto& ids = prompts.examples[static_cast<size_t>(row[0])].prompt_ids;
        for (int64_t k = 0; k < r.ppo.samples_per_prompt; ++k) batch_prompts.emplace_back(ids.begin(), ids.end());
      }
    // Each rank samples its own rollouts: the seed depends on (seed, step, rank).
    const uint64_t step_seed = Rng::for_index(static_cast<uint64_t>(r.run.seed), static_cast<uint64_t>(st.step),
                                              static_cast<uint64_t>(pg.rank()))
                                   .next();
    // A step is dropped on every rank when one rank has no prompt (the end of an epoch with
    // fewer prompts than ranks) or a model produced NaN/Inf (under on_nan: skip).
    auto drop_step = [&] {
      st.cursor = next_cursor;
      ++st.step;
      return checkpoint_or_stop(st, total_steps, r.checkpoint.every_steps, progress, save, pg);
    };
    if (dist::all_reduce_max(pg, batch_prompts.empty() ? 1.0 : 0.0) > 0) {
      log::warn("PPO step " + std::to_string(st.step + 1) + ": too few prompts left in the epoch for every rank; skipped");
      ++st.skipped_steps;
      if (drop_step()) return PpoResult{.steps = st.step, .interrupted = true};
      continue;
    }

    // Rollouts: generate, score, rewards, advantages (whitened over every rank).
    const double kl_coef = kl_ctl.value;
    Experience exp = make_experience(m, batch_prompts, step_seed, kl_coef, exp_opts, device, &pg);
    if (nan_test_step == st.step + 1) exp.scores.fill_(std::nan(""));
    if (dist::all_reduce_max(pg, experience_is_finite(exp) ? 0.0 : 1.0) > 0) {
      handle_non_finite_step(r.train.on_nan, std::nan(""), st, progress, save,
                             "a model produced NaN/Inf scores, log-probs or values; check the reward and value models");
      if (drop_step()) return PpoResult{.steps = st.step, .interrupted = true};
      continue;
    }

    // PPO epochs over mini-batches.
    const double lr = lr_at(st.step, schedule);
    const PpoUpdateStats u = ppo_update(m, *trainable, *optimizer, exp,
                                        {.ppo_epochs = r.ppo.ppo_epochs, .num_mini_batches = r.ppo.num_mini_batches,
                                         .micro_batch_size = r.train.micro_batch_size, .cliprange = r.ppo.cliprange,
                                         .cliprange_value = r.ppo.cliprange_value, .vf_coef = r.ppo.vf_coef,
                                         .temperature = r.ppo.temperature, .grad_clip = r.optim.grad_clip, .lr = lr,
                                         .seed = step_seed, .dtype = r.run.dtype},
                                        device, &grad_sync, &pg);
    if (u.skipped_updates > 0) {
      if (r.train.on_nan == "stop") {
        progress.clear();
        throw_runtime("non-finite loss or gradient in " + std::to_string(u.skipped_updates) + " update(s) of PPO step " +
                          std::to_string(st.step + 1) + "; the newest checkpoint holds the last complete step",
                      {.hint = "lower optim.lr, or set train.on_nan: skip"});
      }
      log::warn("PPO step " + std::to_string(st.step + 1) + ": " + std::to_string(u.skipped_updates) +
                " non-finite update(s) skipped");
    }

    // Statistics of the rollouts of every rank (TRL's names), the KL controller.
    at::NoGradGuard no_grad;
    const std::vector<double> sums = dist::all_reduce_sum(
        pg, {static_cast<double>(exp.batch.rows), exp.kl.sum().item<double>(), exp.scores.sum().item<double>(),
             exp.raw_scores.sum().item<double>(), (-exp.logprobs * exp.mask).sum().item<double>(),
             static_cast<double>(exp.eos_tokens), static_cast<double>(exp.ended),
             static_cast<double>(exp.generated_tokens), exp.batch.lengths.sum().item<double>(), u.policy_loss,
             u.value_loss, u.approxkl, u.clipfrac, u.value_clipfrac, u.entropy, u.ratio_mean, u.ratio_var,
             exp.generate_seconds});
    const double B = sums[0], ranks = static_cast<double>(pg.world_size());
    const double mean_kl = sums[1] / B;
    const double non_score_reward = -kl_coef * mean_kl;
    const double mean_score = sums[2] / B;
    const double mean_entropy = sums[4] / B;
    auto rank_mean = [&](size_t i) { return sums[i] / ranks; };
    if (r.ppo.adaptive_kl) kl_ctl.update(mean_kl, static_cast<int64_t>(B));
    st.cursor = next_cursor;
    st.tokens_seen += static_cast<int64_t>(sums[8]);
    ++st.step;
    result.last_score = mean_score;
    result.last_kl = mean_kl;
    const double step_seconds = seconds_since(t_step);
    if (st.step % r.run.log_every_steps == 0 || st.step == total_steps) {
      metrics.log(st.step,
                  {{"objective/kl", mean_kl}, {"objective/entropy", mean_entropy},
                   {"objective/non_score_reward", non_score_reward},
                   {"objective/rlhf_reward", non_score_reward + mean_score}, {"objective/scores", mean_score},
                   {"objective/raw_scores", sums[3] / B}, {"objective/kl_coef", kl_coef},
                   {"policy/approxkl_avg", rank_mean(11)}, {"policy/clipfrac_avg", rank_mean(12)},
                   {"loss/policy_avg", rank_mean(9)}, {"loss/value_avg", rank_mean(10)},
                   {"val/clipfrac_avg", rank_mean(13)}, {"policy/entropy_avg", rank_mean(14)},
                   {"val/ratio", rank_mean(15)}, {"val/ratio_var", rank_mean(16)},
                   {"val/num_eos_tokens", static_cast<int64_t>(sums[5])}, {"val/ended_fraction", sums[6] / B},
                   {"val/response_length", sums[7] / B}, {"lr", lr}, {"grad_norm", u.grad_norm},
                   {"episode", st.step * r.ppo.batch_size * r.ppo.samples_per_prompt * pg.world_size()},
                   {"epoch", stream.epoch_progress(st.cursor)}, {"num_tokens", st.tokens_seen},
                   {"generation/tokens_per_second", sums[7] / (sums[17] / ranks)},
                   {"timing/generate", exp.generate_seconds}, {"timing/score", exp.score_seconds},
                   {"timing/train", u.seconds}, {"timing/step", step_seconds}});
    }
    progress.update(st.step, {{"score", mean_score}, {"kl", mean_kl}});
    if (r.eval.every_steps > 0 && st.step % r.eval.every_steps == 0 && st.step < total_steps) {
      progress.clear();
      if (Metrics e = run_eval(); !e.empty()) metrics.log(st.step, e);
    }
    if (checkpoint_or_stop(st, total_steps, r.checkpoint.every_steps, progress, save, pg)) {
      result.interrupted = true;
      result.steps = st.step;
      return result;
    }
  }
  progress.finish();

  // 6. Final checkpoint, exported policy, generation eval.
  save(st);
  result.final_dir = export_final(r.run.output_dir, pg, write_policy);
  result.steps = st.step;
  if (Metrics e = run_eval(); !e.empty()) {
    metrics.log(st.step, e);
    for (const auto& [name, value] : e)
      if (name == "eval/accuracy") result.eval_accuracy = std::get<double>(value);
  }
  log::info("done: " + std::to_string(st.step) + " PPO steps, score " + std::to_string(result.last_score) + ", KL " +
            std::to_string(result.last_kl) + "; policy in " + result.final_dir);
  return result;
}

}  // namespace fw::trainer
