"""Reference values for flywheel's DPO and reward-model losses, computed by the installed TRL.

    python trl_losses.py OUT.json

Harness. TRL 1.16 has no standalone loss function: the DPO loss is computed inside
``DPOTrainer._compute_loss`` (after a model forward) and the reward-model loss inside
``RewardTrainer.compute_loss``. Building full trainers would need a tokenizer, datasets and
a real model, and the log-probs would then come from that model, not from fixed numbers.
So this script calls TRL's own methods on trainer objects made without ``__init__``
(``object.__new__(DPOTrainer)``), carrying only the attributes those methods read:

* DPO: the attributes ``DPOTrainer.__init__`` sets from a real ``DPOConfig`` (``beta``,
  ``loss_types``, ``loss_weights``, ``label_smoothing``, ``ld_alpha``,
  ``f_divergence_type``, ...), a real ``accelerate.Accelerator`` on CPU (one process), and
  ``precompute_ref_log_probs=True`` so the reference log-probs are read from the batch
  (``ref_chosen_logps`` / ``ref_rejected_logps``), as with TRL's precomputed reference.
  The model is a stub that returns what TRL's fused LM head returns: per-token log-probs
  ``log_probs`` [2B, T-1] that are 0 where the label is -100 (it checks that the labels TRL
  passes are -100 exactly off the completion) and, on the completion positions of a row,
  the row's fixed sequence log-prob divided evenly over its completion tokens, so TRL's
  ``per_token_logps.sum(dim=1)`` gives back the fixed value (to float64 rounding). ``completion_mask``
  has different prompt and completion lengths per row, which the IPO loss reads (TRL 1.16
  divides the IPO log-ratios by the number of completion tokens).
* Reward: ``RewardTrainer.compute_loss`` with a real ``RewardConfig``
  (``center_rewards_coefficient``) and a stub model whose ``logits`` [2B, 1] are fixed
  rewards (chosen rows first), with and without a ``margin`` in the batch.

Everything after the stub forward — log-ratios, each loss variant, the mean over the batch,
the reward and accuracy metrics, and autograd through it all — is TRL's code. The script
records the loss of each batch, the loss of each row on its own (a batch of one), TRL's
logged metrics, and the gradient of the loss with respect to the policy log-probs (or the
rewards), all in float64. tests/parity/test_trl_losses.cpp compares flywheel to them
at 1e-6. It also asserts that TRL's sigmoid, ipo and hinge losses ignore label_smoothing
(flywheel rejects a non-zero value there rather than ignoring it).
"""

import json
import math
import os
import sys
import tempfile
import warnings
from collections import defaultdict
from types import SimpleNamespace

import torch
from torch import nn

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded; make sure of it

import trl  # noqa: E402
from accelerate import Accelerator  # noqa: E402
from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer  # noqa: E402

torch.set_default_dtype(torch.float64)
OUT_DIR = tempfile.mkdtemp(prefix="trl_losses_")


class StubLM(nn.Module):
    """Stands in for a causal LM under TRL's fused LM head (``fused_lm_head=True``)."""

    def __init__(self, logps, completion_mask):
        super().__init__()
        self.logps = logps  # [2B]: chosen rows, then rejected rows
        self.completion_mask = completion_mask  # [2B, T]

    def forward(self, input_ids, attention_mask=None, labels=None, fused_lm_head=False, **kwargs):
        assert fused_lm_head and labels is not None
        expected = input_ids.masked_fill(self.completion_mask == 0, -100)
        assert torch.equal(labels, expected), "TRL passed unexpected labels"
        shift_mask = self.completion_mask[:, 1:].to(torch.float64)  # which labels are predicted
        n = shift_mask.sum(dim=1, keepdim=True)
        log_probs = shift_mask * (self.logps[:, None] / n)  # 0 where the label is -100
        zeros = torch.zeros_like(shift_mask)
        return SimpleNamespace(
            log_probs=log_probs,
            entropy=zeros,
            mean_logits=zeros,
            is_top1=torch.zeros_like(shift_mask, dtype=torch.bool),
        )


def dpo_trainer(loss_type, beta, label_smoothing, model, loss_weights=None):
    args = DPOConfig(
        output_dir=OUT_DIR,
        loss_type=loss_type if isinstance(loss_type, list) else [loss_type],
        loss_weights=loss_weights,
        beta=beta,
        label_smoothing=label_smoothing,
        precompute_ref_log_probs=True,
        report_to=[],
        use_cpu=True,
    )
    t = object.__new__(DPOTrainer)
    t.args = args
    t.model = model
    t.ref_model = None
    t.accelerator = Accelerator(cpu=True)  # after the config: TrainingArguments resets the state
    t.aux_loss_enabled = False
    t._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    t._total_train_tokens = 0
    t._tp_size = 1
    # As DPOTrainer.__init__ ("Training arguments"):
    t.beta = args.beta
    t.precompute_ref_logps = args.precompute_ref_log_probs
    t.loss_types = args.loss_type
    t.loss_weights = args.loss_weights or [1.0] * len(t.loss_types)
    t.ld_alpha = args.ld_alpha
    t.f_divergence_type = args.f_divergence_type
    t.f_alpha_divergence_coef = args.f_alpha_divergence_coef
    t.label_smoothing = args.label_smoothing
    t.use_weighting = args.use_weighting
    return t


def dpo_batch(prompt_lens, chosen_lens, rejected_lens):
    """input_ids / attention_mask / completion_mask as TRL's DataCollatorForPreference lays them out."""
    rows = [(p, c) for p, c in zip(prompt_lens, chosen_lens)] + [(p, r) for p, r in zip(prompt_lens, rejected_lens)]
    T = max(p + c for p, c in rows)
    input_ids = torch.zeros(len(rows), T, dtype=torch.long)
    attention = torch.zeros(len(rows), T, dtype=torch.long)
    completion = torch.zeros(len(rows), T, dtype=torch.long)
    for i, (p, c) in enumerate(rows):
        input_ids[i, : p + c] = torch.arange(5, 5 + p + c) + i
        attention[i, : p + c] = 1
        completion[i, p : p + c] = 1
    return input_ids, attention, completion


def run_dpo(loss_type, beta, ls, pc, pr, rc, rr, prompt_lens, chosen_lens, rejected_lens, loss_weights=None):
    """TRL's loss, metrics and d loss / d policy logps for one batch."""
    input_ids, attention, completion = dpo_batch(prompt_lens, chosen_lens, rejected_lens)
    pc = torch.tensor(pc, requires_grad=True)
    pr = torch.tensor(pr, requires_grad=True)
    model = StubLM(torch.cat([pc, pr]), completion)
    model.train()
    t = dpo_trainer(loss_type, beta, ls, model, loss_weights)
    inputs = {
        "input_ids": input_ids,
        "attention_mask": attention,
        "completion_mask": completion,
        "ref_chosen_logps": torch.tensor(rc),
        "ref_rejected_logps": torch.tensor(rr),
    }
    loss = DPOTrainer.compute_loss(t, model, inputs)
    loss.backward()
    m = t._metrics["train"]
    return {
        "loss": loss.item(),
        "grad_policy_chosen": pc.grad.tolist(),
        "grad_policy_rejected": pr.grad.tolist(),
        "rewards_chosen_mean": m["rewards/chosen"][-1],
        "rewards_rejected_mean": m["rewards/rejected"][-1],
        "rewards_margins_mean": m["rewards/margins"][-1],
        "rewards_accuracies": m["rewards/accuracies"][-1],
    }


def dpo_cases():
    g = torch.Generator().manual_seed(1234)
    B = 8
    # Sequence log-probs (sums over completion tokens): a spread of realistic values plus
    # rows with large |beta * delta| to exercise the numerically delicate tails.
    pc = (-40 * torch.rand(B, generator=g) - 5).tolist()
    pr = (-40 * torch.rand(B, generator=g) - 5).tolist()
    rc = (-40 * torch.rand(B, generator=g) - 5).tolist()
    rr = (-40 * torch.rand(B, generator=g) - 5).tolist()
    pc[0], pr[0], rc[0], rr[0] = -10.0, -12.0, -11.0, -11.0  # policy prefers chosen
    pc[1], pr[1], rc[1], rr[1] = -30.0, -5.0, -10.0, -10.0  # strongly prefers rejected
    pc[2], pr[2], rc[2], rr[2] = -3.0, -300.0, -20.0, -20.0  # huge margin
    pc[3], pr[3], rc[3], rr[3] = -7.5, -7.5, -7.5, -7.5  # all equal: delta 0
    prompt_lens = torch.randint(1, 6, (B,), generator=g).tolist()
    chosen_lens = torch.randint(1, 9, (B,), generator=g).tolist()
    rejected_lens = torch.randint(1, 9, (B,), generator=g).tolist()
    chosen_lens[3], rejected_lens[3] = 4, 4
    configs = [
        ("sigmoid", 0.1, 0.0),
        ("sigmoid", 0.5, 0.0),
        ("ipo", 0.1, 0.0),
        ("ipo", 0.5, 0.0),
        ("hinge", 0.1, 0.0),
        ("hinge", 0.5, 0.0),
        ("robust", 0.1, 0.0),
        ("robust", 0.1, 0.1),
        ("robust", 0.5, 0.3),
    ]
    # TRL 1.16 applies label_smoothing to "robust" (and exo_pair/aot) only: check that
    # sigmoid, ipo and hinge ignore it, which is why flywheel rejects it there.
    args = (pc, pr, rc, rr, prompt_lens, chosen_lens, rejected_lens)
    for loss_type in ("sigmoid", "ipo", "hinge"):
        assert run_dpo(loss_type, 0.1, 0.2, *args)["loss"] == run_dpo(loss_type, 0.1, 0.0, *args)["loss"], loss_type
    cases = []
    for loss_type, beta, ls in configs:
        whole = run_dpo(loss_type, beta, ls, pc, pr, rc, rr, prompt_lens, chosen_lens, rejected_lens)
        per_row = [
            run_dpo(loss_type, beta, ls, [pc[i]], [pr[i]], [rc[i]], [rr[i]], [prompt_lens[i]], [chosen_lens[i]],
                    [rejected_lens[i]])["loss"]
            for i in range(B)
        ]
        cases.append({
            "loss_type": loss_type,
            "beta": beta,
            "label_smoothing": ls,
            "policy_chosen_logps": pc,
            "policy_rejected_logps": pr,
            "ref_chosen_logps": rc,
            "ref_rejected_logps": rr,
            "chosen_lengths": chosen_lens,
            "rejected_lengths": rejected_lens,
            "losses": per_row,
            **whole,
        })
    return cases


def rpo_cases():
    """RPO: TRL 1.16's loss_type ["sigmoid", "sft"] with loss_weights [1, alpha] (the old rpo_alpha)."""
    g = torch.Generator().manual_seed(77)
    B = 6
    pc = (-30 * torch.rand(B, generator=g) - 2).tolist()
    pr = (-30 * torch.rand(B, generator=g) - 2).tolist()
    rc = (-30 * torch.rand(B, generator=g) - 2).tolist()
    rr = (-30 * torch.rand(B, generator=g) - 2).tolist()
    prompt_lens = torch.randint(1, 6, (B,), generator=g).tolist()
    chosen_lens = torch.randint(1, 12, (B,), generator=g).tolist()
    rejected_lens = torch.randint(1, 12, (B,), generator=g).tolist()
    cases = []
    for beta, alpha in [(0.1, 1.0), (0.5, 0.2)]:
        whole = run_dpo(["sigmoid", "sft"], beta, 0.0, pc, pr, rc, rr, prompt_lens, chosen_lens, rejected_lens,
                        loss_weights=[1.0, alpha])
        cases.append({
            "beta": beta,
            "rpo_alpha": alpha,
            "policy_chosen_logps": pc,
            "policy_rejected_logps": pr,
            "ref_chosen_logps": rc,
            "ref_rejected_logps": rr,
            "chosen_lengths": chosen_lens,
            "rejected_lengths": rejected_lens,
            **whole,
        })
    return cases


class StubRewardModel(nn.Module):
    """A sequence-classification model whose scores are fixed: logits [2B, 1]."""

    def __init__(self, rewards):
        super().__init__()
        self.rewards = rewards

    def forward(self, input_ids, attention_mask=None, **kwargs):
        return SimpleNamespace(logits=self.rewards[:, None])


def run_reward(chosen, rejected, margin, center):
    rc = torch.tensor(chosen, requires_grad=True)
    rr = torch.tensor(rejected, requires_grad=True)
    model = StubRewardModel(torch.cat([rc, rr]))
    model.train()
    t = object.__new__(RewardTrainer)
    t.args = RewardConfig(output_dir=OUT_DIR, center_rewards_coefficient=center, report_to=[], use_cpu=True)
    t.model = model
    t.accelerator = Accelerator(cpu=True)  # after the config: TrainingArguments resets the state
    t._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    t._total_train_tokens = 0
    t._tp_size = 1
    B = len(chosen)
    inputs = {"input_ids": torch.ones(2 * B, 4, dtype=torch.long), "attention_mask": torch.ones(2 * B, 4, dtype=torch.long)}
    if margin is not None:
        inputs["margin"] = torch.tensor(margin)
    loss = RewardTrainer.compute_loss(t, model, inputs)
    loss.backward()
    m = t._metrics["train"]
    return {
        "loss": loss.item(),
        "accuracy": m["accuracy"][-1],
        "margin_mean": m["margin"][-1],
        "grad_chosen": rc.grad.tolist(),
        "grad_rejected": rr.grad.tolist(),
    }


def reward_cases():
    g = torch.Generator().manual_seed(99)
    B = 6
    chosen = (3 * torch.randn(B, generator=g)).tolist()
    rejected = (3 * torch.randn(B, generator=g)).tolist()
    chosen[0], rejected[0] = 40.0, -40.0  # saturated
    chosen[1], rejected[1] = -25.0, 25.0
    margin = [0.0, 1.0, 2.5, 0.5, 3.0, 1.5]
    cases = []
    for m, center in [(None, None), (margin, None), (None, 0.01), (margin, 0.01), (margin, 0.5)]:
        cases.append({
            "rewards_chosen": chosen,
            "rewards_rejected": rejected,
            "margin": m,
            "center_rewards_coefficient": center,
            **run_reward(chosen, rejected, m, center),
        })
    return cases


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = {
        "trl_version": trl.__version__,
        "torch_version": torch.__version__,
        "dpo": dpo_cases(),
        "rpo": rpo_cases(),
        "reward": reward_cases(),
    }
    for case in out["dpo"] + out["reward"]:
        assert math.isfinite(case["loss"]), case
    os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
    print(f"trl {trl.__version__}: {len(out['dpo'])} DPO cases, {len(out['reward'])} reward cases -> {sys.argv[1]}")


if __name__ == "__main__":
    main()
