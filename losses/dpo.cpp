#include "losses/dpo.h"

#include <ATen/ATen.h>

#include <vector>

#include "core/error.h"
#include "core/strings.h"

namespace fw::losses {
namespace {

void check_same_shape(const at::Tensor& ref, const at::Tensor& t, const char* name) {
  if (!t.defined() || t.dim() != 1 || !t.sizes().equals(ref.sizes()))
    throw_invalid(std::string("dpo_loss: ") + name + " must be a [B] tensor like policy_chosen_logps",
                  {.key = name});
}

}  // namespace

DpoLossType dpo_loss_type_from_name(const std::string& name) { return enum_from_name_or_throw<DpoLossType>(name, "loss_type"); }

std::string dpo_loss_type_name(DpoLossType type) { return std::string(name_of(type)); }

DpoLossOutput dpo_loss(const at::Tensor& policy_chosen_logps, const at::Tensor& policy_rejected_logps,
                       const at::Tensor& ref_chosen_logps, const at::Tensor& ref_rejected_logps,
                       const DpoLossOptions& opts, const at::Tensor& chosen_lengths,
                       const at::Tensor& rejected_lengths) {
  const at::Tensor& pc = policy_chosen_logps;
  if (!pc.defined() || pc.dim() != 1)
    throw_invalid("dpo_loss: policy_chosen_logps must be a [B] tensor", {.key = "policy_chosen_logps"});
  check_same_shape(pc, policy_rejected_logps, "policy_rejected_logps");
  check_same_shape(pc, ref_chosen_logps, "ref_chosen_logps");
  check_same_shape(pc, ref_rejected_logps, "ref_rejected_logps");
  if (!(opts.beta > 0)) throw_invalid("dpo_loss: beta must be > 0", {.key = "beta"});
  if (!(opts.rpo_alpha >= 0)) throw_invalid("dpo_loss: rpo_alpha must be >= 0", {.key = "rpo_alpha"});
  const double ls = opts.label_smoothing;
  if (opts.type == DpoLossType::Robust) {
    if (!(ls >= 0.0 && ls < 0.5))
      throw_invalid("label_smoothing must lie in [0, 0.5) for the robust loss", {.key = "label_smoothing"});
  } else if (ls != 0.0) {
    throw_invalid("label_smoothing is only used by the robust DPO loss (as in TRL 1.16), not by " +
                      dpo_loss_type_name(opts.type),
                  {.key = "label_smoothing", .hint = "set loss_type: robust, or label_smoothing: 0"});
  }

  const double beta = opts.beta;
  at::Tensor chosen_logratio = pc - ref_chosen_logps.detach();
  at::Tensor rejected_logratio = policy_rejected_logps - ref_rejected_logps.detach();
  at::Tensor z = chosen_logratio - rejected_logratio;

  DpoLossOutput out;
  switch (opts.type) {
    case DpoLossType::Sigmoid:
      out.losses = -at::log_sigmoid(beta * z);
      break;
    case DpoLossType::Ipo: {
      if (!chosen_lengths.defined() || !rejected_lengths.defined())
        throw_invalid("dpo_loss: the ipo loss needs chosen_lengths and rejected_lengths (completion token counts)",
                      {.key = "chosen_lengths", .hint = "pass scored_lengths(labels) of each half"});
      check_same_shape(pc, chosen_lengths, "chosen_lengths");
      check_same_shape(pc, rejected_lengths, "rejected_lengths");
      at::Tensor nc = chosen_lengths.to(z.scalar_type()).clamp_min(1.0);
      at::Tensor nr = rejected_lengths.to(z.scalar_type()).clamp_min(1.0);
      at::Tensor delta = chosen_logratio / nc - rejected_logratio / nr;
      out.losses = (delta - 1.0 / (2.0 * beta)).pow(2);
      break;
    }
    case DpoLossType::Hinge:
      out.losses = at::relu(1.0 - beta * z);
      break;
    case DpoLossType::Robust: {
      at::Tensor clean = -(1.0 - ls) * at::log_sigmoid(beta * z);
      at::Tensor flipped = -ls * at::log_sigmoid(-beta * z);
      out.losses = (clean - flipped) / (1.0 - 2.0 * ls);
      break;
    }
  }
  out.loss = out.losses.mean();
  if (opts.rpo_alpha > 0) {
    if (!chosen_lengths.defined())
      throw_invalid("dpo_loss: rpo_alpha needs chosen_lengths (completion token counts)",
                    {.key = "chosen_lengths", .hint = "pass scored_lengths(labels) of the chosen half"});
    check_same_shape(pc, chosen_lengths, "chosen_lengths");
    out.sft_nll = -pc.sum() / chosen_lengths.to(pc.scalar_type()).sum().clamp_min(1.0);
    out.loss = out.loss + opts.rpo_alpha * out.sft_nll;
  }
  out.chosen_rewards = beta * chosen_logratio.detach();
  out.rejected_rewards = beta * rejected_logratio.detach();
  return out;
}

}  // namespace fw::losses
