// Direct preference optimisation losses on sequence log-probabilities, as TRL 1.16 computes
// them (trl/trainer/dpo_trainer.py, DPOTrainer._compute_loss, f_divergence_type
// "reverse_kl", no ld_alpha, no WPO weighting, one loss type). tests/parity checks every
// variant against the installed TRL at 1e-6.
//
// Inputs are [B] summed log-probs over the completion tokens (losses/logprobs.h,
// sequence_logps): the policy's and the reference model's, for the chosen and the rejected
// completion of each pair. With
//
//   chosen_logratio   = policy_chosen   - ref_chosen
//   rejected_logratio = policy_rejected - ref_rejected
//   z                 = chosen_logratio - rejected_logratio
//
// the per-pair losses are:
//
//   sigmoid  -log σ(β z)
//            DPO: Rafailov et al. 2023, "Direct Preference Optimization: Your Language Model
//            is Secretly a Reward Model", Eq. 7. TRL "sigmoid". TRL 1.16 does not apply
//            label smoothing here (older TRL had the conservative-DPO mix
//            -(1-ε) log σ(βz) - ε log σ(-βz); in 1.16 that lives in "robust"/"exo_pair"), so a
//            non-zero label_smoothing is rejected instead of being silently ignored.
//   ipo      (z_avg - 1/(2β))²,  z_avg = chosen_logratio / n_c - rejected_logratio / n_r
//            IPO: Azar et al. 2023, "A General Theoretical Paradigm to Understand Learning
//            from Human Preferences", Eq. 17 (β is the paper's τ). TRL 1.16 divides each
//            log-ratio by its completion's token count n (clamped to >= 1): the per-token
//            average, "confirmed with the IPO authors". So ipo needs chosen_lengths and
//            rejected_lengths (losses/logprobs.h, scored_lengths(labels)).
//   hinge    max(0, 1 - β z)
//            SLiC-HF: Zhao et al. 2023, "SLiC-HF: Sequence Likelihood Calibration with Human
//            Feedback" (hinge on the log-ratio margin, δ = 1). TRL "hinge".
//   robust   (-(1-ε) log σ(β z) + ε log σ(-β z)) / (1 - 2ε),  ε = label_smoothing in [0, 0.5)
//            rDPO: Chowdhury et al. 2024, "Provably Robust DPO: Aligning Language Models with
//            Noisy Feedback" (ε = the probability that a label is flipped). TRL "robust".
//            ε = 0 gives sigmoid.
//
// RPO (Pang et al. 2024, "Iterative Reasoning Preference Optimization"; TRL's rpo_alpha,
// in TRL 1.16 loss_type ["sigmoid", "sft"] with loss_weights [1, α]) adds an SFT term on
// the chosen completions against the displacement of the chosen response (both
// log-probs falling while their difference grows):
//
//   sft_nll = -Σ_b policy_chosen[b] / Σ_b n_c[b]     (the batch's mean per-token NLL)
//   loss    = mean_b losses[b] + α · sft_nll
//
// It needs chosen_lengths (as ipo does).
//
// loss = mean over the batch (TRL: per_sequence_loss.mean()), plus α · sft_nll. Rewards, logged as TRL's
// rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies, are
// β · chosen_logratio and β · rejected_logratio, detached.
//
// The reference log-probs are treated as constants (detached). All arithmetic is in the
// inputs' dtype (float32 from sequence_logps).
#pragma once

#include <array>
#include <ATen/Tensor.h>

#include <string>

#include "core/enum_names.h"

namespace fw::losses {

enum class DpoLossType { Sigmoid, Ipo, Hinge, Robust };
constexpr std::array<EnumName<DpoLossType>, 4> enum_names(DpoLossType) {
  return {{{DpoLossType::Sigmoid, "sigmoid"}, {DpoLossType::Ipo, "ipo"}, {DpoLossType::Hinge, "hinge"},
           {DpoLossType::Robust, "robust"}}};
}

// "sigmoid" | "ipo" | "hinge" | "robust"; anything else throws fw::Error (InvalidInput,
// key "loss_type") with a did-you-mean hint.
DpoLossType dpo_loss_type_from_name(const std::string& name);
std::string dpo_loss_type_name(DpoLossType type);

struct DpoLossOptions {
  DpoLossType type = DpoLossType::Sigmoid;  // which loss (see above)
  double beta = 0.1;             // > 0: strength of the implicit KL to the reference (IPO: τ)
  double label_smoothing = 0.0;  // robust only: the label-flip probability ε in [0, 0.5)
  double rpo_alpha = 0.0;        // >= 0: weight of the SFT (NLL) term on the chosen completions
};

struct DpoLossOutput {
  at::Tensor loss;              // scalar: mean of `losses` (differentiable)
  at::Tensor losses;            // [B] per-pair losses (differentiable)
  at::Tensor chosen_rewards;    // [B] β (policy_chosen - ref_chosen), detached
  at::Tensor rejected_rewards;  // [B] β (policy_rejected - ref_rejected), detached
  at::Tensor sft_nll;           // scalar: the chosen side's mean per-token NLL (differentiable);
                                // defined only when rpo_alpha > 0
};

// All log-prob inputs are [B] and of one shape. chosen_lengths / rejected_lengths are [B]
// completion token counts, required for ipo (undefined is an error there) and unused by the
// other losses. Bad options or shapes throw fw::Error (InvalidInput).
DpoLossOutput dpo_loss(const at::Tensor& policy_chosen_logps, const at::Tensor& policy_rejected_logps,
                       const at::Tensor& ref_chosen_logps, const at::Tensor& ref_rejected_logps,
                       const DpoLossOptions& opts, const at::Tensor& chosen_lengths = {},
                       const at::Tensor& rejected_lengths = {});

}  // namespace fw::losses
