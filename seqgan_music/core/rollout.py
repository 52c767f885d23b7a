"""Monte Carlo rewards for SeqGAN's policy gradient (Yu et al. 2017, eq. 4).

For a batch of sampled sequences Y (B, T) and every t < T, Q(Y_1:t-1, y_t) is the mean score of N
completions of Y_1:t drawn by the roll-out policy G_beta; at t = T it is the score of Y itself.

`Rollout` holds G_beta, a lagged copy of G moved by
    beta <- rollout_update_rate * beta + (1 - rollout_update_rate) * theta
after each generator update (the official code meant 0.8 but its update never reached the sampler);
a rate of 0 rolls out with G itself.

Vectorised: the LSTM runs once over Y to get the state after every prefix; then all N * (T - 1)
completions of the whole batch advance together, one time step at a time. Rows are ordered by
prefix length, so the rows still sampling at step s are a leading slice of the row array; each step
is processed in chunks of at most `chunk_size` rows to bound memory. The scorer (the
discriminator, or BLEU for PG-BLEU) sees the completed sequences in large batches.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch

from seqgan_music.config import RolloutConfig
from seqgan_music.core.conv_pool import cpu_has_native_bf16
from seqgan_music.core.discriminator import Discriminator
from seqgan_music.core.generator import Generator, sample_next

Scorer = Callable[[torch.Tensor], torch.Tensor]
"""Maps sequences (R, T) int64 to rewards (R,) float32."""


def use_bfloat16(precision: str, device: torch.device) -> bool:
    """Whether `precision` ("auto", "float32", "bfloat16") means bf16 matmuls on `device`.

    "auto" means bf16 on CUDA GPUs that support it and on CPUs with native bf16 instructions
    (AVX512-BF16 or AMX); elsewhere oneDNN would emulate bf16, slower than float32.
    """
    if precision != "auto":
        return precision == "bfloat16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16()


def parameter_versions(parameters: list[torch.nn.Parameter]) -> tuple[tuple[int, int], ...]:
    """Changes whenever a parameter is written in place (version counter) or by an optimizer
    step of `core.steps.adam` (its update count; the fused kernel bumps no version counter)."""
    return tuple((p._version, getattr(p, "_seqgan_updates", 0)) for p in parameters)


class DiscriminatorScorer:
    """D_phi(Y) = sigmoid(logit) in eval mode (no dropout), scored in large chunks.

    In bf16 it runs a bf16 copy of D, which is faster than autocast's per-op casts. The copy is
    made once and its weights are refreshed only when D's have changed since the last call
    (`parameter_versions`: PyTorch's version counter, bumped by in-place updates such as
    `load_state_dict` and unfused optimizer steps, plus the update count `core.steps.adam`'s step
    hook keeps, since the fused Adam kernel leaves the version counter alone). Roll-out
    completions go through `Discriminator.score_completions`,
    which shares the prefix convolutions.
    """

    def __init__(self, discriminator: Discriminator, precision: str = "auto",
                 chunk_size: int = 2048) -> None:
        self.discriminator = discriminator
        self.precision = precision
        self.chunk_size = chunk_size
        self._copy: Discriminator | None = None
        self._versions: tuple[tuple[int, int], ...] = ()

    def _model(self, device: torch.device) -> Discriminator:
        if not use_bfloat16(self.precision, device):
            return self.discriminator
        source = list(self.discriminator.parameters())
        versions = parameter_versions(source)
        if self._copy is None:
            self._copy = copy.deepcopy(self.discriminator).to(torch.bfloat16).eval()
        elif versions != self._versions:
            with torch.no_grad():
                for mine, theirs in zip(self._copy.parameters(), source, strict=True):
                    mine.copy_(theirs)
        self._versions = versions
        return self._copy

    def _run(self, fn: Callable[[Discriminator], torch.Tensor], device: torch.device
             ) -> torch.Tensor:
        with torch.inference_mode():
            model = self._model(device)
            was_training = model.training
            model.eval()
            try:
                return torch.sigmoid(fn(model).float())
            finally:
                model.train(was_training)

    def __call__(self, sequences: torch.Tensor) -> torch.Tensor:
        """Rewards (R,) for sequences (R, T)."""
        size = self.chunk_size
        return self._run(lambda model: torch.cat(
            [model(sequences[lo : lo + size]) for lo in range(0, len(sequences), size)]),
            sequences.device)

    def score_completions(self, completions: torch.Tensor, sequences: torch.Tensor
                          ) -> torch.Tensor:
        """Rewards (T-1, B, N) for completions (T-1, B, N, T) of sequences (B, T)."""
        return self._run(lambda model: model.score_completions(completions, sequences),
                         sequences.device)


class Rollout:
    """Roll-out policy G_beta and the Monte Carlo estimate of Q(Y_1:t-1, y_t)."""

    def __init__(self, generator: Generator, config: RolloutConfig) -> None:
        self.config = config
        self.generator = generator
        self.policy: Generator = (
            generator if config.rollout_update_rate == 0 else self._frozen_copy(generator)
        )

    @staticmethod
    def _frozen_copy(generator: Generator) -> Generator:
        policy = copy.deepcopy(generator)
        for parameter in policy.parameters():
            parameter.requires_grad_(False)
        return policy

    @torch.no_grad()
    def sync(self) -> None:
        """beta <- theta: Algorithm 1, line 3, when the policy-gradient phase starts from the
        pre-trained generator."""
        if self.policy is not self.generator:
            self.policy.load_state_dict(self.generator.state_dict())

    @torch.no_grad()
    def update(self) -> None:
        """Move G_beta toward G: beta <- rate * beta + (1 - rate) * theta."""
        rate = self.config.rollout_update_rate
        if self.policy is self.generator:
            return
        for beta, theta in zip(self.policy.parameters(), self.generator.parameters(), strict=True):
            beta.mul_(rate).add_(theta.detach(), alpha=1.0 - rate)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {} if self.policy is self.generator else self.policy.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if self.policy is not self.generator and state:
            self.policy.load_state_dict(state)

    @torch.inference_mode()
    def complete(
        self, sequences: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """All Monte Carlo completions (T - 1, B, N, T) int64 of sequences (B, T).

        Entry [t - 1, b, n] keeps sequences[b, :t] and continues it with G_beta up to T.
        """
        policy, n_roll = self.policy, self.config.num_rollouts
        batch, length = sequences.shape
        device = sequences.device
        table, w_hh = policy.cell_tables()
        # State after each prefix Y_1:t, t = 1 .. T-1: one pass of the cell over the batch.
        state = policy.initial_state(batch, device)
        state = Generator.cell(table[torch.full((batch,), policy.config.start_token,
                                                device=device)], w_hh, state)
        prefix_h, prefix_c = [], []
        for t in range(length - 1):
            state = Generator.cell(table[sequences[:, t]], w_hh, state)
            prefix_h.append(state[0])
            prefix_c.append(state[1])
        group = batch * n_roll  # rows per prefix length
        rows = (length - 1) * group
        # Row r = ((t - 1) * B + b) * N + n; every row starts as a copy of its sequence.
        h = torch.stack(prefix_h).repeat_interleave(n_roll, dim=1).reshape(rows, -1)  # (R, H)
        c = torch.stack(prefix_c).repeat_interleave(n_roll, dim=1).reshape(rows, -1)  # (R, H)
        out = sequences.repeat_interleave(n_roll, dim=0).repeat(length - 1, 1)  # (R, T)
        weight, bias = policy.head.weight, policy.head.bias
        buffer = torch.empty(256, weight.shape[0], device=device)  # reused logits block
        chunk = self.config.chunk_size
        for s in range(1, length):  # position being sampled (0-based); prefixes t <= s sample
            joined = (s - 1) * group  # rows [joined, s * group) start at this step (t = s)
            # The N completions of a prefix share their first distribution: one softmax per
            # prefix, N draws from it.
            first = sample_next(prefix_h[s - 1], weight, bias, generator=generator,
                                num_samples=n_roll)  # (B, N)
            out[joined : s * group, s] = first.reshape(-1)
            for lo in range(0, joined, chunk):
                hi = min(joined, lo + chunk)
                out[lo:hi, s] = sample_next(h[lo:hi], weight, bias, generator=generator,
                                            buffer=buffer)
            if s < length - 1:
                for lo in range(0, s * group, chunk):
                    hi = min(s * group, lo + chunk)
                    h[lo:hi], c[lo:hi] = Generator.cell(table[out[lo:hi, s]], w_hh,
                                                        (h[lo:hi], c[lo:hi]))
        return out.reshape(length - 1, batch, n_roll, length)

    @torch.inference_mode()
    def complete_at_bars(
        self, sequences: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """Monte Carlo completions (P, N, T) of the prefixes of `sequences` (B, T) that end on
        a bar line (the policy's constraint says which tokens are bar lines), drawn by G_beta
        under the constraint, and the (row, prefix length) of each of the P prefixes.

        Rows are ordered by prefix length, so the rows still sampling at a step are a leading
        slice; rows whose completion has ended stop being advanced."""
        policy, n_roll = self.policy, self.config.num_rollouts
        rules = policy.metrical
        batch, length = sequences.shape
        device = sequences.device
        tokens = sequences.cpu().numpy()
        ended = (tokens == rules.codec.END).cumsum(axis=1) > 0
        lines = rules.is_line[tokens] & ~ended
        points = sorted(((t + 1, b) for b, t in zip(*lines[:, : length - 1].nonzero(),
                                                     strict=True)), key=lambda p: p[0])
        if not points:
            return sequences.new_zeros((0, n_roll, length)), []
        table, w_hh = policy.cell_tables()
        positions = policy.position_table()
        # LSTM state and constraint state after every prefix, one pass over the batch
        state = policy.initial_state(batch, device)
        track = rules.start(batch)
        token = torch.full((batch,), policy.config.start_token, device=device)
        hs, cs, tracks = [], [], []
        for t in range(length):
            state = Generator.cell(Generator.gates_input(table, token, positions,
                                                         rules.ids(track)), w_hh, state)
            token = sequences[:, t]
            rules.advance(track, tokens[:, t])
            hs.append(state[0])
            cs.append(state[1])
            tracks.append({k: v.copy() for k, v in track.items()})
        # prefix length t keeps tokens 0..t-1: the state after input t-1 predicts token t
        rows_b = [b for _, b in points for _ in range(n_roll)]
        rows_t = [t for t, _ in points for _ in range(n_roll)]
        h = torch.stack([hs[t - 1][b] for t, b in zip(rows_t, rows_b, strict=True)])
        c = torch.stack([cs[t - 1][b] for t, b in zip(rows_t, rows_b, strict=True)])
        state_rows = {k: np.stack([tracks[t - 1][k][b] for t, b in zip(rows_t, rows_b,
                                                                        strict=True)])
                      for k in tracks[0]}
        out = sequences[torch.tensor(rows_b, device=device)].clone()  # (R, T)
        done = np.zeros(len(rows_b), dtype=bool)
        weight, bias = policy.head.weight, policy.head.bias
        rows_t_np = np.array(rows_t)
        for s in range(int(rows_t_np.min()), length):
            live = np.flatnonzero((rows_t_np <= s) & ~done)
            if not len(live):
                if (rows_t_np <= s).all():
                    break
                continue
            index = torch.from_numpy(live).to(device)
            sub = {k: v[live] for k, v in state_rows.items()}
            allowed = torch.from_numpy(rules.allowed(sub)).to(device)
            drawn = sample_next(h[index], weight, bias, generator=generator, allowed=allowed)
            out[index, s] = drawn
            drawn_np = drawn.cpu().numpy()
            rules.advance(sub, drawn_np)
            for k in state_rows:
                state_rows[k][live] = sub[k]
            done[live] = drawn_np == rules.codec.END
            if s < length - 1:
                gates = Generator.gates_input(table, drawn, positions, rules.ids(sub))
                h_new, c_new = Generator.cell(gates, w_hh, (h[index], c[index]))
                h[index], c[index] = h_new, c_new
        finished = np.flatnonzero(done)
        for r in finished:  # an ended completion is END to the last column
            stop = int((out[r] == rules.codec.END).nonzero()[0, 0])
            out[r, stop:] = rules.codec.END
        return out.reshape(len(points), n_roll, length), [(b, t) for t, b in points]

    def bar_rewards(self, sequences: torch.Tensor, scorer: Scorer,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """Q (B, T) with roll-outs at bar lines only: token j gets the mean score of the
        completions of the shortest bar-line prefix that contains it (D(Y) after the last)."""
        batch, length = sequences.shape
        completions, points = self.complete_at_bars(sequences, generator)
        final = scorer(sequences).reshape(batch)
        q = final[:, None].expand(batch, length).clone()
        if points:
            scores = scorer(completions.reshape(-1, length)).reshape(len(points), -1).mean(1)
            by_row: dict[int, list[tuple[int, float]]] = {}
            for (b, t), value in zip(points, scores.tolist(), strict=True):
                by_row.setdefault(b, []).append((t, value))
            for b, found in by_row.items():
                previous = 0
                for t, value in sorted(found):
                    q[b, previous:t] = value
                    previous = t
        return q

    def rewards(
        self,
        sequences: torch.Tensor,
        scorer: Scorer,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Q(Y_1:t-1, y_t) (B, T) float32 for sampled sequences (B, T) int64.

        Columns t < T hold the mean of `scorer` over N completions; column T holds scorer(Y).
        With `reward_at = "bar"` (a policy with a constraint) see `bar_rewards`.
        """
        if self.config.reward_at == "bar" and getattr(self.policy, "metrical", None) is not None:
            return self.bar_rewards(sequences, scorer, generator)
        batch, length = sequences.shape
        completions = self.complete(sequences, generator)  # (T-1, B, N, T)
        shared = getattr(scorer, "score_completions", None)
        if shared is not None:
            scores = shared(completions, sequences)  # (T-1, B, N)
        else:
            scores = scorer(completions.reshape(-1, length))  # (R,)
        q = scores.reshape(length - 1, batch, -1).mean(dim=2).t()  # (B, T-1)
        return torch.cat([q, scorer(sequences).reshape(batch, 1)], dim=1)  # (B, T)
