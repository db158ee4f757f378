// The DPO recipe, as a numbered narrative:
//   1. runtime and run folder; 2. tokenizer; 3. preference data
//   4. policy (resumed, HF folder or scratch), frozen reference, optimizer, schedule
//   5. reference log-probs: precomputed and cached, or computed on the fly
//   6. the loop: chosen and rejected of each pair in one forward (one row per pair with
//      the prompt computed once, or two padded rows: trainer/dpo_batch.h) ->
//      summed completion log-probs -> DPO loss (sum over pairs / pairs in the step) ->
//      clip -> AdamW -> TRL's metrics; checkpoints and exact resume as SFT
//   7. final checkpoint, exported model, held-out reward accuracy
#include "trainer/dpo.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "data/collate.h"
#include "data/preference_dataset.h"
#include "losses/dpo.h"
#include "losses/logprobs.h"
#include "model/checkpoint.h"
#include "trainer/dpo_batch.h"
#include "trainer/metrics_log.h"
#include "trainer/model_setup.h"
#include "trainer/optim.h"
#include "trainer/preference_data.h"
#include "trainer/progress.h"
#include "trainer/recipe_start.h"
#include "trainer/ref_logps.h"
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

// Reference log-probs of every example, in order: [N,2].
at::Tensor all_pair_logps(model::LlamaForCausalLM& ref, const data::PreferenceDataset& ds, int64_t batch_size,
                          int64_t pad_id, at::Device device, const std::string& dtype, bool shared_prompt) {
  at::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(ds.examples.size());
  // Batches of similar lengths (longest first) waste less compute on padding.
  auto longest = [&](int64_t i) {
    const auto& e = ds.examples[static_cast<size_t>(i)];
    return e.prompt_ids.size() + std::max(e.chosen_ids.size(), e.rejected_ids.size());
  };
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return longest(a) > longest(b); });
  at::Tensor out = at::empty({n, 2}, at::kFloat);
  for (int64_t start = 0; start < n; start += batch_size) {
    data::MicroBatch mb;
    for (int64_t k = start; k < std::min(n, start + batch_size); ++k) mb.push_back({order[static_cast<size_t>(k)]});
    at::Tensor lp =
        pair_logps(ref, collate_dpo(ds.examples, mb, pad_id, shared_prompt), device, dtype).logps.to(at::kCPU, at::kFloat);
    const int64_t B = static_cast<int64_t>(mb.size());
    const at::Tensor rows = at::tensor(std::vector<int64_t>(order.begin() + start, order.begin() + start + B), at::kLong);
    out.index_copy_(0, rows, at::stack({lp.narrow(0, 0, B), lp.narrow(0, B, B)}, 1));
  }
  return out;
}

}  // namespace

DpoResult run_dpo(const DpoRecipe& r, const std::string& resolved_config_yaml) {
  // 1-2. Runtime, run folder, resume decision, chat template, tokenizer.
  RunIdentity id{"dpo", resolved_config_yaml, common_content_keys(r.model, r.tokenizer, r.data.train)};
  id.content.push_back({"dpo.reference_path", {r.dpo.reference_path}});
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

  // 4. Policy, reference, optimizer, schedule. The reference defaults to the starting
  // policy; a from-scratch start saves it once so a resumed run finds the same one.
  model::LlamaForCausalLM lm = load_starting_lm(resume, r.model, tok, device);
  dist::broadcast_parameters(pg, *lm);
  std::string reference_dir = !r.dpo.reference_path.empty() ? r.dpo.reference_path : r.model.path;
  if (reference_dir.empty()) {
    reference_dir = (fs::path(r.run.output_dir) / "reference").string();
    if (pg.rank() == 0 && !fs::exists(fs::path(reference_dir) / "config.json")) {
      if (resume) throw_invalid("the from-scratch reference model is missing", {.file = reference_dir});
      model::save_causal_lm(lm, reference_dir);
      write_tokenizer(reference_dir);
    }
    pg.barrier();
  }
  lm->train();
  dist::GradientSync grad_sync(start.pg, *lm);  // sums the ranks' gradients (a no-op on one rank)
  auto optimizer = make_adamw(*lm, {r.optim.lr, r.optim.weight_decay, r.optim.beta1, r.optim.beta2, r.optim.eps,
                                    r.optim.decay_norms_and_biases, r.optim.decay_embeddings});
  ScheduleOptions schedule{schedule_from_name(r.schedule.kind), r.optim.lr, r.schedule.warmup_steps, total_steps,
                           r.schedule.min_lr_ratio};
  losses::DpoLossOptions loss_opts{losses::dpo_loss_type_from_name(r.dpo.loss_type), r.dpo.beta, r.dpo.label_smoothing,
                                   r.dpo.rpo_alpha};
  // The shared-prompt layout measures a sliding window on slots, not positions: only when
  // no window can bite.
  const model::LlamaConfig& mc = lm->config();
  const bool window_bites = mc.sliding_window > 0 && !mc.sliding_window_layers.empty() &&
                            mc.sliding_window < 2 * r.data.max_seq_len;
  const bool shared_prompt = r.dpo.shared_prompt && !window_bites;
  if (r.dpo.shared_prompt && window_bites)
    log::info("dpo.shared_prompt: off for this model (sliding window of " + std::to_string(mc.sliding_window) +
              " tokens); two padded rows per pair");

  // 5. Reference log-probs: a cached table, or a frozen model kept in memory. Before the
  // first update of a fresh run the policy *is* the default reference, so the one-off
  // passes (the precompute, the step-0 eval) use it instead of loading a second copy.
  const bool policy_is_reference = !resume && r.dpo.reference_path.empty();
  model::LlamaForCausalLM ref{nullptr};
  at::Tensor ref_table;  // [N,2] when precomputed
  auto load_ref = [&] {
    if (!ref) {
      ref = model::load_causal_lm(reference_dir, {.dtype = at::kFloat, .device = device});
      ref->eval();
    }
    return ref;
  };
  if (r.dpo.precompute_ref_logps) {
    const std::string settings = data::template_name(chat_template) + "|" + std::to_string(r.data.max_seq_len) + "|" +
                                 r.data.truncation + "|" + std::to_string(r.data.max_examples) +
                                 (shared_prompt ? "|shared_prompt" : "");
    const std::string key = ref_logps_key(reference_dir, r.data.train, tok.serialized_model(), settings);
    // Rank 0 computes and caches the table; the other ranks then read the cache.
    auto precompute = [&] {
      return cached_ref_logps(r.data.train.front() + ".ref_logps.safetensors", r.run.output_dir, key,
                              static_cast<int64_t>(train.examples.size()), [&] {
                                log::info_all_ranks("precomputing reference log-probs for " +
                                                    std::to_string(train.examples.size()) + " pairs");
                                auto m = policy_is_reference ? lm : load_ref();
                                return all_pair_logps(m, train, r.train.micro_batch_size, pad_id, device, r.run.dtype, shared_prompt);
                              });
    };
    if (pg.rank() == 0) ref_table = precompute();
    pg.barrier();
    if (pg.rank() != 0) ref_table = precompute();
    ref = nullptr;  // not needed during training
  } else {
    load_ref();
  }

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

  // Held-out preference accuracy: does the policy's implicit reward rank chosen first?
  at::Tensor eval_ref_table;  // [N,2] reference log-probs of the eval pairs, made once
  // Also the held-out implicit rewards (β · log-ratio) and their margin, TRL's eval/ names.
  auto evaluate = [&]() -> Metrics {
    if (!eval || pg.rank() != 0) return {};  // rank 0 evaluates
    lm->eval();
    at::Tensor pol = all_pair_logps(lm, *eval, r.train.micro_batch_size, pad_id, device, r.run.dtype, shared_prompt);
    if (!eval_ref_table.defined()) {  // the reference never changes: score it once
      if (policy_is_reference && st.step == 0) {
        eval_ref_table = pol;
      } else {
        model::LlamaForCausalLM reference = load_ref();
        eval_ref_table = all_pair_logps(reference, *eval, r.train.micro_batch_size, pad_id, device, r.run.dtype,
                                        shared_prompt);
        if (r.dpo.precompute_ref_logps) ref = nullptr;
      }
    }
    const at::Tensor& refl = eval_ref_table;
    lm->train();
    const at::Tensor chosen = r.dpo.beta * (pol.select(1, 0) - refl.select(1, 0));
    const at::Tensor rejected = r.dpo.beta * (pol.select(1, 1) - refl.select(1, 1));
    const at::Tensor margin = chosen - rejected;
    const double acc = (margin > 0).to(at::kFloat).mean().item<double>();
    log::info("eval: rewards/accuracies " + std::to_string(acc) + ", margin " +
              std::to_string(margin.mean().item<double>()) + " on " + std::to_string(eval->examples.size()) +
              " held-out pairs");
    return {{"eval/rewards/accuracies", acc}, {"eval/rewards/margins", margin.mean().item<double>()},
            {"eval/rewards/chosen", chosen.mean().item<double>()}, {"eval/rewards/rejected", rejected.mean().item<double>()},
            {"eval/logps/chosen", pol.select(1, 0).mean().item<double>()},
            {"eval/logps/rejected", pol.select(1, 1).mean().item<double>()}};
  };

  // 6. The loop.
  MetricsLog metrics((fs::path(r.run.output_dir) / "metrics.jsonl").string(),
                     resume ? std::optional<int64_t>(st.step) : std::nullopt, log::rank() == 0);
  Progress progress(total_steps, st.step);
  DpoResult result;
  if (!resume) {
    if (Metrics e = evaluate(); !e.empty()) metrics.log(0, e);
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

    double loss_sum = 0, chosen_reward = 0, rejected_reward = 0, correct = 0, chosen_logp = 0, rejected_logp = 0,
           nll_sum = 0;
    double t_data = 0, t_reference = 0, t_forward_backward = 0;
    for (size_t i = 0; i < micro.size(); ++i) {
      const data::MicroBatch& mb = micro[i];
      if (mb.empty()) continue;
      grad_sync.set_sync(i == last_batch);
      auto t0 = Clock::now();
      const DpoBatch b = collate_dpo(train.examples, mb, pad_id, shared_prompt);
      step_tokens += b.num_tokens;
      const int64_t B = static_cast<int64_t>(mb.size());
      t_data += seconds_since(t0);
      t0 = Clock::now();
      at::Tensor ref_lp;
      if (ref_table.defined()) {
        std::vector<int64_t> idx;
        for (const auto& row : mb) idx.push_back(row[0]);
        at::Tensor rows = ref_table.index_select(0, at::tensor(idx, at::kLong));
        ref_lp = at::cat({rows.select(1, 0), rows.select(1, 1)}).to(device);
      } else {
        at::NoGradGuard no_grad;
        ref_lp = pair_logps(ref, b, device, r.run.dtype).logps;
      }
      t_reference += seconds_since(t0);
      t0 = Clock::now();
      const PairLogps policy = pair_logps(lm, b, device, r.run.dtype);
      const at::Tensor& lp = policy.logps;                  // [2B]
      const at::Tensor& lengths = policy.lengths;           // IPO averages per token
      losses::DpoLossOutput out = losses::dpo_loss(lp.narrow(0, 0, B), lp.narrow(0, B, B), ref_lp.narrow(0, 0, B),
                                                   ref_lp.narrow(0, B, B), loss_opts, lengths.narrow(0, 0, B),
                                                   lengths.narrow(0, B, B));
      // The SFT term is a per-micro-batch token mean (TRL's per-batch mean under gradient
      // accumulation), weighted by the micro-batch's share of the step's pairs.
      at::Tensor total = out.losses.sum();
      if (out.sft_nll.defined()) {
        total = total + r.dpo.rpo_alpha * static_cast<double>(B) * out.sft_nll;
        nll_sum += out.sft_nll.item<double>() * static_cast<double>(B);
      }
      (total / static_cast<double>(pairs)).backward();
      loss_sum += total.item<double>();
      chosen_reward += out.chosen_rewards.sum().item<double>();
      rejected_reward += out.rejected_rewards.sum().item<double>();
      correct += (out.chosen_rewards > out.rejected_rewards).sum().item<double>();
      chosen_logp += lp.narrow(0, 0, B).sum().item<double>();
      rejected_logp += lp.narrow(0, B, B).sum().item<double>();
      t_forward_backward += seconds_since(t0);
    }
    grad_sync.flush();  // before the next collective, also on a rank with no pairs this step
    {  // the step's statistics over every rank
      const auto sums = dist::all_reduce_sum(pg, {loss_sum, chosen_reward, rejected_reward, correct, chosen_logp,
                                                  rejected_logp, static_cast<double>(step_tokens), nll_sum});
      loss_sum = sums[0], chosen_reward = sums[1], rejected_reward = sums[2], correct = sums[3];
      chosen_logp = sums[4], rejected_logp = sums[5], step_tokens = static_cast<int64_t>(sums[6]), nll_sum = sums[7];
    }
    const double n = static_cast<double>(pairs);
    const double loss = loss_sum / n;
    const double lr = lr_at(st.step, schedule);
    const auto t_opt = Clock::now();
    const UpdateResult update = apply_update(*optimizer, *lm, loss, r.optim.grad_clip, lr, &grad_sync);
    const double t_optimizer = seconds_since(t_opt);
    if (!update.applied)
      handle_non_finite_step(r.train.on_nan, loss, st, progress, save, "lower optim.lr or dpo.beta");
    st.cursor = next_cursor;
    st.tokens_seen += step_tokens;
    ++st.step;
    result.last_loss = loss;
    const double step_seconds = seconds_since(t_step);
    if (update.applied && (st.step % r.run.log_every_steps == 0 || st.step == total_steps)) {
      metrics.log(st.step, {{"loss", loss}, {"lr", lr}, {"grad_norm", update.grad_norm},
                            {"rewards/chosen", chosen_reward / n}, {"rewards/rejected", rejected_reward / n},
                            {"rewards/accuracies", correct / n}, {"rewards/margins", (chosen_reward - rejected_reward) / n},
                            {"logps/chosen", chosen_logp / n}, {"logps/rejected", rejected_logp / n},
                            {"nll_loss", nll_sum / n},
                            {"epoch", stream.epoch_progress(st.cursor)}, {"num_tokens", st.tokens_seen},
                            {"tokens_per_second", step_tokens / step_seconds}, {"timing/step", step_seconds},
                            {"timing/data", t_data}, {"timing/reference", t_reference},
                            {"timing/forward_backward", t_forward_backward}, {"timing/optimizer", t_optimizer},
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

  // 7. Final checkpoint, exported model, held-out accuracy.
  save(st);
  result.final_dir = export_final(r.run.output_dir, pg, write_model);
  result.steps = st.step;
  if (Metrics e = evaluate(); !e.empty()) {
    metrics.log(st.step, e);
    result.eval_accuracy = std::get<double>(e.front().second);
  }
  log::info("done: " + std::to_string(st.step) + " steps, final loss " + std::to_string(result.last_loss) +
            "; model in " + result.final_dir);
  return result;
}

}  // namespace fw::trainer
