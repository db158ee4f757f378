// The PPO recipe, as a numbered narrative:
//   1-2. runtime, run folder, resume decision, tokenizer (the session)
//   3. prompts and their step plan
//   4. models: policy (resumed or model.path), frozen reference, frozen reward model,
//      value model (resumed, ppo.value_model_path or the reward model); the session's one
//      AdamW over policy + value; the KL controller
//   5. the loop, one rollout batch per step:
//        generate -> score -> KL-penalised rewards -> GAE   (ppo_experience.h)
//        ppo_epochs x mini-batches of clipped policy + value loss   (ppo_update.h)
//        KL controller update -> TRL's metrics -> checkpoint
//      Sampling and shuffling are seeded by (seed, step), so a resumed run redoes an
//      interrupted step exactly; the KL coefficient is saved with each checkpoint.
//   6. final checkpoint, exported policy, generation eval
#include "trainer/ppo.h"

#include <ATen/ATen.h>

#include <cmath>
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
#include "trainer/ppo_experience.h"
#include "trainer/ppo_models.h"
#include "trainer/ppo_update.h"
#include "trainer/step_stream.h"
#include "trainer/step_sums.h"
#include "trainer/training_session.h"

namespace fw::trainer {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPpoStateFile = "trainer_state/ppo.json";

}  // namespace

PpoResult run_ppo(const PpoRecipe& r, const std::string& resolved_config_yaml, const TrainerHooks& hooks) {
  // 1-2. Runtime, run folder, resume decision, chat template, tokenizer.
  RunIdentity id{"ppo", resolved_config_yaml, common_content_keys(r.model, r.tokenizer, r.data.train)};
  id.content.push_back({"ppo.reward_model_path", {r.ppo.reward_model_path}});
  id.content.push_back({"ppo.value_model_path", {r.ppo.value_model_path}});
  id.content.push_back({"ppo.reference_path", {r.ppo.reference_path}});
  require_verifier(r.eval.prompts, hooks);
  TrainingSession session(r, id, r.data.train, hooks.faults);
  const at::Device device = session.device();
  dist::ProcessGroup& pg = session.pg();
  const auto& resume = session.resume();
  const data::Tokenizer& tok = session.tok();

  // 3. Prompts, and the plan of which prompts each step takes: i.i.d. batches (seeded), no
  // grouping by length across batches — similar lengths would mean similar tasks, and a
  // batch of one kind of prompt makes a poor baseline for the advantages. ppo.batch_size
  // per rank, each rank its own share.
  const data::PromptDataset prompts = data::load_prompt_dataset(
      r.data.train, tok,
      {.chat_template = session.chat_template(), .max_prompt_len = r.data.max_prompt_len,
       .truncation = r.data.truncation, .max_examples = r.data.max_examples});
  log::info("prompts: " + prompts.stats.summary());
  std::vector<int64_t> lengths;
  for (const auto& p : prompts.examples) lengths.push_back(static_cast<int64_t>(p.prompt_ids.size()));
  StepStream stream(lengths,
                    {.max_seq_len = r.data.max_prompt_len, .micro_batch_size = r.ppo.batch_size, .packing = false,
                     .shuffle = true, .seed = static_cast<uint64_t>(r.run.seed), .group_window = 1},
                    1, pg.rank(), pg.world_size());
  const int64_t total_steps = r.train.max_steps > 0 ? r.train.max_steps : r.train.epochs * stream.steps_per_epoch();

  // 4. Models; the session's one AdamW over policy + value, its schedule; the KL
  // controller (its coefficient is saved with each checkpoint).
  PpoModels m = load_ppo_models(r, resume, tok, device);
  PolicyAndValue trainable(m);
  losses::AdaptiveKl kl_ctl{.value = r.ppo.kl_coef, .target = r.ppo.kl_target, .horizon = r.ppo.kl_horizon};
  auto write_policy = [&](const std::string& dir) {  // final/ and the top of a checkpoint
    model::save_causal_lm(m.policy, dir);
    session.write_tokenizer(dir);
  };
  session.start_training({*trainable,
                          [&](const std::string& dir) {
                            write_policy(dir);
                            model::save_score_model(m.value, (fs::path(dir) / kValueModelDir).string());
                            const nlohmann::ordered_json state = {{"kl_coef", kl_ctl.value}};
                            write_file_atomic((fs::path(dir) / kPpoStateFile).string(), state.dump(2) + "\n");
                          },
                          write_policy,
                          // Each rank's update is a mean over its rollouts: the gradients are averaged.
                          {.scale = 1.0 / pg.world_size()}},
                         total_steps);
  if (resume) {
    const std::string file = (fs::path(resume->path) / kPpoStateFile).string();
    try {
      kl_ctl.value = read_json_file(file).at("kl_coef").get<double>();
    } catch (const nlohmann::json::exception& e) {
      throw_invalid(std::string("bad PPO state: ") + e.what(), {.file = file});
    }
    log::info("resumed kl_coef " + std::to_string(kl_ctl.value));
  }
  const ExperienceOptions exp_opts = experience_options(r, tok, m.policy->config());

  std::optional<EvalPrompts> eval_prompts;
  if (!r.eval.prompts.empty()) eval_prompts = load_eval_prompts(r.eval.prompts, r.eval.max_prompts);
  session.set_evaluation([&]() -> Metrics {
    if (!eval_prompts || !session.leader()) return {};  // rank 0 evaluates
    return generation_eval_metrics(m.policy, tok, session.chat_template(), *eval_prompts,
                                   {.max_new_tokens = r.eval.max_new_tokens, .batch_size = r.eval.batch_size,
                                    .verifier = &hooks.verifier, .reward_model = &m.reward,
                                    .judge = hooks.judge ? &hooks.judge : nullptr, .model_dir = r.model.path});
  }, r.eval.every_steps);

  // 5. The loop.
  PpoResult result;
  session.begin();
  while (!session.done()) {
    session.begin_step();
    const int64_t step = session.state().step;  // completed so far
    data::DataCursor next_cursor = session.state().cursor;
    std::vector<std::vector<int64_t>> batch_prompts;
    for (const auto& mb : stream.next_step(next_cursor))
      for (const auto& row : mb) {
        const auto& ids = prompts.examples[static_cast<size_t>(row[0])].prompt_ids;
        for (int64_t k = 0; k < r.ppo.samples_per_prompt; ++k) batch_prompts.emplace_back(ids.begin(), ids.end());
      }
    // Each rank samples its own rollouts: the seed depends on (seed, step, rank).
    const uint64_t step_seed = Rng::for_index(static_cast<uint64_t>(r.run.seed), static_cast<uint64_t>(step),
                                              static_cast<uint64_t>(pg.rank()))
                                   .next();
    // A step is dropped on every rank when one rank has no prompt (the end of an epoch with
    // fewer prompts than ranks) or a model produced NaN/Inf (under on_nan: skip).
    const StepEnd dropped{.next_cursor = next_cursor, .applied = false};
    if (dist::all_reduce_max(pg, batch_prompts.empty() ? 1.0 : 0.0) > 0) {
      log::warn("PPO step " + std::to_string(step + 1) + ": too few prompts left in the epoch for every rank; skipped");
      ++session.state().skipped_steps;
      if (session.end_step(dropped)) return session.stopped(result);
      continue;
    }

    // Rollouts: generate, score, rewards, advantages (whitened over every rank).
    const double kl_coef = kl_ctl.value;
    Experience exp = make_experience(m, batch_prompts, step_seed, kl_coef, exp_opts, device, &pg);
    if (session.fault_due()) exp.scores.fill_(std::nan(""));
    if (dist::all_reduce_max(pg, experience_is_finite(exp) ? 0.0 : 1.0) > 0) {
      session.non_finite_step(std::nan(""),
                              "a model produced NaN/Inf scores, log-probs or values; check the reward and value models");
      if (session.end_step(dropped)) return session.stopped(result);
      continue;
    }

    // PPO epochs over mini-batches.
    const double lr = session.lr();
    const PpoUpdateStats u = ppo_update(m, *trainable, session.optimizer(), exp,
                                        {.ppo_epochs = r.ppo.ppo_epochs, .num_mini_batches = r.ppo.num_mini_batches,
                                         .micro_batch_size = r.train.micro_batch_size, .cliprange = r.ppo.cliprange,
                                         .cliprange_value = r.ppo.cliprange_value, .vf_coef = r.ppo.vf_coef,
                                         .temperature = r.ppo.temperature, .grad_clip = r.optim.grad_clip, .lr = lr,
                                         .seed = step_seed, .dtype = r.run.dtype},
                                        device, &session.grad_sync(), &pg);
    if (u.skipped_updates > 0) {
      session.non_finite_step(std::nan(""),
                              std::to_string(u.skipped_updates) + " of the step's updates were non-finite; lower optim.lr",
                              /*model_unchanged=*/u.updates == 0);
      if (u.updates == 0) {  // on_nan: skip, and nothing of the step was applied: dropped
        if (session.end_step(dropped)) return session.stopped(result);
        continue;
      }
    }

    // Statistics of the rollouts of every rank (TRL's names), the KL controller.
    at::NoGradGuard no_grad;
    StepSums sums({"rows", "kl", "scores", "raw_scores", "neg_logprobs", "eos_tokens", "ended", "generated_tokens",
                   "tokens", "policy_loss", "value_loss", "approxkl", "clipfrac", "value_clipfrac", "entropy",
                   "ratio_mean", "ratio_var", "generate_seconds"});
    sums["rows"] = static_cast<double>(exp.batch.rows);
    sums["kl"] = exp.kl.sum().item<double>();
    sums["scores"] = exp.scores.sum().item<double>();
    sums["raw_scores"] = exp.raw_scores.sum().item<double>();
    sums["neg_logprobs"] = (-exp.logprobs * exp.mask).sum().item<double>();
    sums["eos_tokens"] = static_cast<double>(exp.eos_tokens);
    sums["ended"] = static_cast<double>(exp.ended);
    sums["generated_tokens"] = static_cast<double>(exp.generated_tokens);
    sums["tokens"] = exp.batch.lengths.sum().item<double>();
    sums["policy_loss"] = u.policy_loss, sums["value_loss"] = u.value_loss, sums["approxkl"] = u.approxkl;
    sums["clipfrac"] = u.clipfrac, sums["value_clipfrac"] = u.value_clipfrac, sums["entropy"] = u.entropy;
    sums["ratio_mean"] = u.ratio_mean, sums["ratio_var"] = u.ratio_var;
    sums["generate_seconds"] = exp.generate_seconds;
    sums.all_reduce(pg);
    const double B = sums["rows"], ranks = static_cast<double>(pg.world_size());
    auto rank_mean = [&](const char* name) { return sums[name] / ranks; };
    const double mean_kl = sums["kl"] / B;
    const double non_score_reward = -kl_coef * mean_kl;
    const double mean_score = sums["scores"] / B;
    if (r.ppo.adaptive_kl) kl_ctl.update(mean_kl, static_cast<int64_t>(B));
    result.last_score = mean_score;
    result.last_kl = mean_kl;
    const int64_t step_tokens = static_cast<int64_t>(sums["tokens"]);
    const Metrics row = {
        {"objective/kl", mean_kl}, {"objective/entropy", sums["neg_logprobs"] / B},
        {"objective/non_score_reward", non_score_reward}, {"objective/rlhf_reward", non_score_reward + mean_score},
        {"objective/scores", mean_score}, {"objective/raw_scores", sums["raw_scores"] / B},
        {"objective/kl_coef", kl_coef}, {"policy/approxkl_avg", rank_mean("approxkl")},
        {"policy/clipfrac_avg", rank_mean("clipfrac")}, {"loss/policy_avg", rank_mean("policy_loss")},
        {"loss/value_avg", rank_mean("value_loss")}, {"val/clipfrac_avg", rank_mean("value_clipfrac")},
        {"policy/entropy_avg", rank_mean("entropy")}, {"val/ratio", rank_mean("ratio_mean")},
        {"val/ratio_var", rank_mean("ratio_var")}, {"val/num_eos_tokens", static_cast<int64_t>(sums["eos_tokens"])},
        {"val/ended_fraction", sums["ended"] / B}, {"val/response_length", sums["generated_tokens"] / B}, {"lr", lr},
        {"grad_norm", u.grad_norm},
        {"episode", (step + 1) * r.ppo.batch_size * r.ppo.samples_per_prompt * pg.world_size()},
        {"generation/tokens_per_second", sums["generated_tokens"] / rank_mean("generate_seconds")},
        {"timing/generate", exp.generate_seconds}, {"timing/score", exp.score_seconds}, {"timing/train", u.seconds}};
    if (session.end_step({next_cursor, step_tokens, true, row, {{"score", mean_score}, {"kl", mean_kl}},
                          stream.epoch_progress(next_cursor)}))
      return session.stopped(result);
  }

  // 6. Final checkpoint, exported policy, generation eval.
  session.finish(result, "eval/accuracy",
                 "score " + std::to_string(result.last_score) + ", KL " + std::to_string(result.last_kl));
  return result;
}

}  // namespace fw::trainer
