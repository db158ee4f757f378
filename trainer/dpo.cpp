// The DPO recipe, as a numbered narrative:
//   1-2. runtime, run folder, resume decision, tokenizer (the session); 3. preference data
//   4. policy (resumed, HF folder or scratch), frozen reference; the session's optimizer,
//      schedule and resumed state
//   5. reference log-probs: precomputed and cached, or computed on the fly
//   6. the loop: chosen and rejected of each pair in one forward (one row per pair with
//      the prompt computed once, or two padded rows: trainer/dpo_batch.h) ->
//      summed completion log-probs -> DPO loss (sum over pairs / pairs in the step) ->
//      clip -> AdamW -> TRL's metrics; checkpoints and exact resume (the session)
//   7. final checkpoint, exported model, held-out reward accuracy
#include "trainer/dpo.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "core/hash.h"
#include "data/collate.h"
#include "data/chat/jinja_chat.h"
#include "data/chat/template_kwargs.h"
#include "data/preference_dataset.h"
#include "losses/dpo.h"
#include "losses/logprobs.h"
#include "model/checkpoint.h"
#include "trainer/dpo_batch.h"
#include "trainer/model_setup.h"
#include "trainer/preference_data.h"
#include "trainer/ref_logps.h"
#include "trainer/step_stream.h"
#include "trainer/step_sums.h"
#include "trainer/training_session.h"

namespace fw::trainer {
namespace fs = std::filesystem;

DpoResult run_dpo(const DpoRecipe& r, const std::string& resolved_config_yaml, const TrainerHooks& hooks) {
  // 1-2. Runtime, run folder, resume decision, chat template, tokenizer.
  RunIdentity id{"dpo", resolved_config_yaml, common_content_keys(r.model, r.tokenizer, r.data.train)};
  id.content.push_back({"dpo.reference_path", {r.dpo.reference_path}});
  TrainingSession session(r, id, r.data.train, hooks.faults);
  const at::Device device = session.device();
  dist::ProcessGroup& pg = session.pg();
  const auto& resume = session.resume();
  const int64_t pad_id = session.pad_id();

  // 3. Data.
  std::optional<StepStream> stream_slot;
  const PreferenceData pairs_data = load_preference_data(r.data, r.train, session.tok(), session.chat_template(),
                                                         r.run.seed, stream_slot, pg.rank(), pg.world_size());
  const data::PreferenceDataset& train = pairs_data.train;
  const std::optional<data::PreferenceDataset>& eval = pairs_data.eval;
  StepStream& stream = *stream_slot;

  // 4. Policy and reference; the session's optimizer and schedule. The reference defaults
  // to the starting policy; a from-scratch start saves it once so a resumed run finds it.
  model::LlamaForCausalLM lm = load_starting_lm(resume, r.model, session.tok(), device);
  std::string reference_dir = !r.dpo.reference_path.empty() ? r.dpo.reference_path : r.model.path;
  session.start_training({*lm, [&](const std::string& dir) {
                            model::save_causal_lm(lm, dir);
                            session.write_tokenizer(dir);
                          }},
                         pairs_data.total_steps);
  if (reference_dir.empty()) {
    reference_dir = (fs::path(r.run.output_dir) / "reference").string();
    if (session.leader() && !fs::exists(fs::path(reference_dir) / "config.json")) {
      if (resume) throw_invalid("the from-scratch reference model is missing", {.file = reference_dir});
      model::save_causal_lm(lm, reference_dir);
      session.write_tokenizer(reference_dir);
    }
    pg.barrier();
  }
  const losses::DpoLossOptions loss_opts{r.dpo.loss_type, r.dpo.beta, r.dpo.label_smoothing, r.dpo.rpo_alpha};
  const bool shared_prompt = shared_prompt_layout(lm->config(), r.dpo.shared_prompt, r.data.max_seq_len);

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
  auto all_logps = [&](model::LlamaForCausalLM& m, const data::PreferenceDataset& ds) {
    return all_pair_logps(m, ds, r.train.micro_batch_size, pad_id, device, r.run.dtype, shared_prompt);
  };
  if (r.dpo.precompute_ref_logps) {
    // A Jinja template enters the key by its text (the built-in ones by name, as before).
    const data::ChatTemplate& tmpl = session.chat_template();
    const std::string settings = (tmpl.is_jinja() ? "jinja:" + sha256_hex(tmpl.jinja().source()) +
                                                        (tmpl.kwargs().empty() ? "" : ":" + data::canonical_kwargs(tmpl.kwargs()))
                                                  : tmpl.name()) + "|" +
                                 std::to_string(r.data.max_seq_len) +
                                 "|" + std::string(name_of(r.data.truncation)) + "|" +
                                 std::to_string(r.data.max_examples) + (shared_prompt ? "|shared_prompt" : "");
    const std::string key = ref_logps_key(reference_dir, r.data.train, session.tok().serialized_model(), settings);
    // Rank 0 computes and caches the table; the other ranks then read the cache.
    auto precompute = [&] {
      return cached_ref_logps(r.data.train.front() + ".ref_logps.safetensors", r.run.output_dir, key,
                              static_cast<int64_t>(train.examples.size()), [&] {
                                log::info_all_ranks("precomputing reference log-probs for " +
                                                    std::to_string(train.examples.size()) + " pairs");
                                auto m = policy_is_reference ? lm : load_ref();
                                return all_logps(m, train);
                              });
    };
    if (session.leader()) ref_table = precompute();
    pg.barrier();
    if (!session.leader()) ref_table = precompute();
    ref = nullptr;  // not needed during training
  } else {
    load_ref();
  }

  // Held-out preference accuracy and margins (rank 0), at step 0 and at the end.
  at::Tensor eval_ref_table;  // [N,2] reference log-probs of the eval pairs, made once
  session.set_evaluation([&]() -> Metrics {
    if (!eval || !session.leader()) return {};
    lm->eval();
    at::Tensor pol = all_logps(lm, *eval);
    if (!eval_ref_table.defined()) {  // the reference never changes: score it once
      if (policy_is_reference && session.state().step == 0) {
        eval_ref_table = pol;
      } else {
        model::LlamaForCausalLM reference = load_ref();
        eval_ref_table = all_logps(reference, *eval);
        if (r.dpo.precompute_ref_logps) ref = nullptr;
      }
    }
    lm->train();
    return dpo_heldout_metrics(pol, eval_ref_table, r.dpo.beta);
  });

  // 6. The loop.
  DpoResult result;
  session.begin();
  while (!session.done()) {
    session.begin_step();
    data::DataCursor next_cursor = session.state().cursor;
    const auto [micro, pairs, last_batch] = next_pair_step(stream, next_cursor, pg);

    StepSums sums({"loss", "chosen_reward", "rejected_reward", "correct", "chosen_logp", "rejected_logp", "tokens",
                   "nll", "timing/data", "timing/reference", "timing/forward_backward"});
    for (size_t i = 0; i < micro.size(); ++i) {
      const data::MicroBatch& mb = micro[i];
      if (mb.empty()) continue;
      session.grad_sync().set_sync(i == last_batch);
      double t0 = session.step_seconds();
      const DpoBatch b = collate_dpo(train.examples, mb, pad_id, shared_prompt);
      sums["tokens"] += static_cast<double>(b.num_tokens);
      const int64_t B = static_cast<int64_t>(mb.size());
      sums["timing/data"] += session.step_seconds() - t0;
      t0 = session.step_seconds();
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
      sums["timing/reference"] += session.step_seconds() - t0;
      t0 = session.step_seconds();
      const PairLogps policy = pair_logps(lm, b, device, r.run.dtype);
      const at::Tensor& lp = policy.logps;         // [2B]
      const at::Tensor& lengths = policy.lengths;  // IPO averages per token
      losses::DpoLossOutput out = losses::dpo_loss(lp.narrow(0, 0, B), lp.narrow(0, B, B), ref_lp.narrow(0, 0, B),
                                                   ref_lp.narrow(0, B, B), loss_opts, lengths.narrow(0, 0, B),
                                                   lengths.narrow(0, B, B));
      // The SFT term is a per-micro-batch token mean (TRL's per-batch mean under gradient
      // accumulation), weighted by the micro-batch's share of the step's pairs.
      at::Tensor total = out.losses.sum();
      if (out.sft_nll.defined()) {
        total = total + r.dpo.rpo_alpha * static_cast<double>(B) * out.sft_nll;
        sums["nll"] += out.sft_nll.item<double>() * static_cast<double>(B);
      }
      (total / static_cast<double>(pairs)).backward();
      sums["loss"] += total.item<double>();
      sums["chosen_reward"] += out.chosen_rewards.sum().item<double>();
      sums["rejected_reward"] += out.rejected_rewards.sum().item<double>();
      sums["correct"] += (out.chosen_rewards > out.rejected_rewards).sum().item<double>();
      sums["chosen_logp"] += lp.narrow(0, 0, B).sum().item<double>();
      sums["rejected_logp"] += lp.narrow(0, B, B).sum().item<double>();
      sums["timing/forward_backward"] += session.step_seconds() - t0;
    }
    session.grad_sync().flush();  // before the next collective, also on a rank with no pairs this step
    sums.all_reduce(pg);
    const double n = static_cast<double>(pairs);
    const double loss = sums["loss"] / n;
    const double lr = session.lr();
    const double t_opt = session.step_seconds();
    const UpdateResult update = session.update(loss, "lower optim.lr or dpo.beta");
    const double t_optimizer = session.step_seconds() - t_opt;
    if (update.applied) result.last_loss = loss;
    const int64_t step_tokens = static_cast<int64_t>(sums["tokens"]);
    const double ranks = static_cast<double>(pg.world_size());
    const Metrics row = {{"loss", loss}, {"lr", lr}, {"grad_norm", update.grad_norm},
                         {"rewards/chosen", sums["chosen_reward"] / n}, {"rewards/rejected", sums["rejected_reward"] / n},
                         {"rewards/accuracies", sums["correct"] / n},
                         {"rewards/margins", (sums["chosen_reward"] - sums["rejected_reward"]) / n},
                         {"logps/chosen", sums["chosen_logp"] / n}, {"logps/rejected", sums["rejected_logp"] / n},
                         {"nll_loss", sums["nll"] / n}, {"timing/data", sums["timing/data"] / ranks},
                         {"timing/reference", sums["timing/reference"] / ranks},
                         {"timing/forward_backward", sums["timing/forward_backward"] / ranks},
                         {"timing/optimizer", t_optimizer}, {"timing/grad_sync", update.sync_seconds}};
    if (session.end_step({next_cursor, step_tokens, update.applied, row, {{"loss", loss}, {"acc", sums["correct"] / n}},
                          stream.epoch_progress(next_cursor)}))
      return session.stopped(result);
  }

  // 7. Final checkpoint, exported model, held-out accuracy.
  session.finish(result, "eval/rewards/accuracies", "final loss " + std::to_string(result.last_loss));
  return result;
}

}  // namespace fw::trainer
