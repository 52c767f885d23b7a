"""The training steps of SeqGAN's Algorithm 1 (Yu et al. 2017) and the paper's baselines.

Pure compute on models and token tensors; no files, no logging (the loop that runs them,
with checkpoints and metrics, is `trainer.loop.Trainer`):
- `mle_epoch`: teacher-forced maximum likelihood (G's pre-training and the MLE baseline);
- `scheduled_sampling_epoch`: Bengio et al. 2015;
- `discriminator_epochs`: k epochs of D on positives (1) and negatives (0) by cross entropy;
- `policy_gradient_step`: one REINFORCE step, loss = -sum_t log G(y_t | Y_1:t-1) * Q(Y_1:t-1,
  y_t) with Q from the roll-outs (paper eq. 8); with a BLEU scorer, the PG-BLEU baseline.

With several processes (`runtime.distributed`) each step works on this process's share of the
batch and reduces gradients and figures; with one process those calls do nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch

from seqgan_music.core.discriminator import Discriminator
from seqgan_music.core.generator import Generator, sample_categorical
from seqgan_music.core.rollout import Rollout, Scorer, use_bfloat16
from seqgan_music.errors import TrainingError
from seqgan_music.runtime import distributed


def minibatches(
    num: int, batch_size: int, rng: torch.Generator, device: torch.device
) -> Iterator[torch.Tensor]:
    """Shuffled index batches (the last may be smaller)."""
    order = distributed.broadcast_order(torch.randperm(num, generator=rng).to(device))
    for lo in range(0, num, batch_size):
        yield order[lo : lo + batch_size]


def check_finite(value: torch.Tensor, phase: str, step: int) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise TrainingError(
            f"non-finite loss ({number}) in phase {phase} at step {step}; lower the learning "
            "rate or check the data."
        )
    return number


def optimise(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    clip: float | None,
    phase: str,
    step: int,
    weight: float = 1.0,
) -> float:
    """Check the loss is finite (before it can touch the weights), back-propagate, clip the
    gradient norm to `clip` and take one optimizer step; returns the loss value.

    With several processes `loss` is this rank's part and `weight` its share of the global
    loss (rows / global rows for a mean, 1 for a sum): gradients and the returned value are
    those of the global loss (`distributed.reduce_step`), checked for finiteness on every rank.
    """
    if distributed.active():
        optimizer.zero_grad(set_to_none=True)
        if weight:
            loss.backward()
        value = check_finite(torch.tensor(distributed.reduce_step(model, loss, weight)), phase,
                             step)
    else:
        value = check_finite(loss.detach(), phase, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return value


def adam(parameters: Iterator[torch.nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam with its fused kernel (one pass over each tensor) where the device has one.

    The default on CPU is a loop of about ten elementwise ops per tensor, each a full pass over
    memory: for the official discriminator's 7.0 M parameters that was half of a D epoch. The
    fused kernel computes the same update (equal to float32 rounding). Checkpoints saved by
    either kind load into either; a loaded state keeps this optimizer's kind.
    """
    params = list(parameters)
    try:
        optimizer = torch.optim.Adam(params, lr=lr, fused=True)
    except RuntimeError:  # pragma: no cover - a device without the fused kernel
        return torch.optim.Adam(params, lr=lr)

    def keep_fused(_: torch.optim.Optimizer, state: dict[str, Any]) -> dict[str, Any]:
        state = dict(state)
        state["param_groups"] = [{**group, "fused": True, "foreach": None}
                                 for group in state["param_groups"]]
        return state

    optimizer.register_load_state_dict_pre_hook(keep_fused)
    optimizer.register_step_post_hook(count_update)
    return optimizer


def count_update(optimizer: torch.optim.Optimizer, *_: Any) -> None:
    """Mark every parameter a step updated (`parameter_versions`): the fused kernel writes the
    weights without bumping PyTorch's version counters, which caches of the weights (the
    roll-out's bf16 copy of D) rely on to notice a change."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            parameter._seqgan_updates = getattr(parameter, "_seqgan_updates", 0) + 1

def bucketed(lengths: torch.Tensor, batch_size: int, rng: torch.Generator
             ) -> Iterator[torch.Tensor]:
    """Shuffled index batches of rows of similar length: chunks of 16 batches are sorted by
    length and cut into batches, served in a shuffled order (whole tunes padded to one length
    cost their own length, not the longest tune's)."""
    order = torch.randperm(len(lengths), generator=rng)
    batches = []
    span = batch_size * 16
    for lo in range(0, len(order), span):
        chunk = order[lo : lo + span]
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    for pick in torch.randperm(len(batches), generator=rng).tolist():
        yield batches[pick]


def mle_epoch(
    generator: Generator,
    optimizer: torch.optim.Optimizer,
    data: torch.Tensor,
    batch_size: int,
    grad_clip: float,
    rng: torch.Generator,
    pad_token: int | None = None,
) -> float:
    """One epoch of teacher-forced maximum likelihood; returns the mean per-token NLL.

    With `pad_token` (whole tunes filled up with end tokens) batches hold tunes of similar
    length, cut after their longest tune's first end token (one process only)."""
    generator.train()
    total, count = 0.0, 0
    if pad_token is not None and not distributed.active():
        lengths = (data != pad_token).sum(dim=1) + 1
        for index in bucketed(lengths.cpu(), batch_size, rng):
            index = index.to(data.device)
            width = min(int(lengths[index].max()), data.shape[1])
            loss = generator.nll(data[index][:, :width])
            total += optimise(generator, optimizer, loss, grad_clip, "mle", count) * len(index)
            count += len(index)
        return total / max(count, 1)
    for index in minibatches(len(data), batch_size, rng, data.device):
        local = distributed.local_share(index)  # this process's rows (all of them with one)
        loss = generator.nll(data[local])
        total += optimise(generator, optimizer, loss, grad_clip, "mle", count,
                          len(local) / len(index)) * len(index)
        count += len(index)
    return total / max(count, 1)


def scheduled_sampling_epoch(
    generator: Generator,
    optimizer: torch.optim.Optimizer,
    data: torch.Tensor,
    batch_size: int,
    grad_clip: float,
    rng: torch.Generator,
    teacher_rate: float,
    sample_rng: torch.Generator | None = None,
) -> float:
    """One epoch of scheduled sampling: each input is the true previous token with probability
    `teacher_rate`, else a token sampled from the model's own previous prediction.

    `rng` (CPU) shuffles and flips the coins; `sample_rng` (on the data's device, default `rng`)
    draws the model's tokens."""
    sample_rng = sample_rng or rng
    generator.train()
    total, count = 0.0, 0
    for index in minibatches(len(data), batch_size, rng, data.device):
        targets = data[distributed.local_share(index)]  # (B, T): this process's rows
        batch, length = targets.shape
        token = targets.new_full((batch,), generator.config.start_token)
        state = None
        losses = []
        for t in range(length):
            logits, state = generator(token.unsqueeze(1), state)  # (B, 1, V)
            logits = logits.squeeze(1)
            losses.append(torch.nn.functional.cross_entropy(logits, targets[:, t]))
            with torch.no_grad():
                sampled = sample_categorical(logits.detach(), generator=sample_rng)
                keep = torch.rand(batch, generator=rng).to(targets.device) < teacher_rate
                token = torch.where(keep, targets[:, t], sampled)
        loss = torch.stack(losses).mean()
        total += optimise(generator, optimizer, loss, grad_clip, "scheduled_sampling",
                          count, batch / len(index)) * len(index)
        count += len(index)
    return total / max(count, 1)


def discriminator_epochs(
    discriminator: Discriminator,
    optimizer: torch.optim.Optimizer,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    epochs: int,
    batch_size: int,
    rng: torch.Generator,
    precision: str = "float32",
) -> tuple[float, float]:
    """Train D for `epochs` passes over positives (label 1) and negatives (label 0).

    Returns the mean loss and accuracy of the last epoch. With bf16 `precision` the forward and
    backward matmuls run in bf16 autocast; parameters, optimizer and loss stay float32.
    """
    discriminator.train()
    device = positives.device
    bf16 = use_bfloat16(precision, device)
    tokens = torch.cat([positives, negatives])
    labels = torch.cat([torch.ones(len(positives)), torch.zeros(len(negatives))]).to(tokens.device)
    loss_sum, correct, count = 0.0, 0, 0
    for _ in range(epochs):
        loss_sum, correct, count = 0.0, 0, 0
        for index in minibatches(len(tokens), batch_size, rng, tokens.device):
            local = distributed.local_share(index)  # this process's rows
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = discriminator(tokens[local]).float()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels[local])
            loss = loss + discriminator.l2_penalty()
            loss_sum += optimise(discriminator, optimizer, loss, None, "discriminator",
                                 count, len(local) / len(index)) * len(index)
            correct += int(((logits.detach() > 0).float() == labels[local]).sum())
            count += len(index)
        if distributed.active():
            correct = int(distributed.sum_values(correct)[0])
    return loss_sum / max(count, 1), correct / max(count, 1)


def policy_gradient_step(
    generator: Generator,
    optimizer: torch.optim.Optimizer,
    rollout: Rollout,
    scorer: Scorer,
    batch_size: int,
    length: int,
    grad_clip: float,
    rng: torch.Generator,
    reward_baseline: bool = False,
) -> dict[str, float]:
    """Sample a batch from G, estimate Q by rollouts and take one REINFORCE step (eq. 8)."""
    # With several processes each samples and rolls out its share of the batch.
    samples = generator.sample(distributed.local_count(batch_size), length, generator=rng)
    rewards = rollout.rewards(samples, scorer, generator=rng)  # (B, T)
    advantages = rewards - distributed.batch_mean(rewards) if reward_baseline else rewards
    generator.train()
    # -(log G(y_t | Y_1:t-1) * advantages).sum(), fused with the output layer
    if generator.metrical is not None:  # the constrained policy's own probabilities
        loss = generator.constrained_weighted_nll(samples, advantages)
    else:
        loss = generator.weighted_nll(samples, advantages)
    value = optimise(generator, optimizer, loss, grad_clip, "adversarial", 0)
    rollout.update()
    if distributed.active():
        total, final, rows = distributed.sum_values(float(rewards.sum()),
                                                    float(rewards[:, -1].sum()), len(rewards))
        return {"g_loss": value, "reward": total / (rows * length), "reward_final": final / rows}
    return {
        "g_loss": value,
        "reward": float(rewards.mean()),
        "reward_final": float(rewards[:, -1].mean()),
    }
