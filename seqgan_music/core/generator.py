"""The generator of SeqGAN (Yu et al. 2017, section 4): G_theta, a stochastic policy.

`Generator` G_theta: embedding -> LSTM -> logits over V, a stochastic policy over next tokens.
`sample_categorical` draws one token per row by inverse CDF, which needs one uniform number per
row instead of the V exponential draws behind `torch.multinomial` on CPU; `sample_next` applies
a representation's constraint (`metrical`) before drawing. `linear_cross_entropy` fuses the
output layer with the (weighted) negative log-likelihood that MLE and REINFORCE minimise.

Shapes: B batch, T time steps, V vocabulary, E embedding, H hidden.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from seqgan_music.config import GeneratorConfig

LSTMState = tuple[torch.Tensor, torch.Tensor]


BLOCK = 64  # columns per block of the two-level inverse CDF


def probabilities(logits: torch.Tensor, temperature: float = 1.0, inplace: bool = False
                  ) -> torch.Tensor:
    """softmax(logits / temperature) over the last axis, float32 (R, V).

    With `inplace` the division reuses `logits` (a scratch buffer of the caller's).
    """
    if temperature != 1.0:
        logits = logits.div_(temperature) if inplace else logits / temperature
    # softmax's fused kernel is faster on CPU than a separate max, subtract and exp
    return torch.softmax(logits.float(), dim=-1)


def sample_categorical(
    logits: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw one index per row of `logits` (B, V) -> (B,) int64, from softmax(logits / temperature).

    `logits` is left unchanged; see `sample_weights` for the sampler itself.
    """
    return sample_weights(probabilities(logits, temperature), generator)


def sample_weights(
    weights: torch.Tensor, generator: torch.Generator | None = None, num_samples: int = 0
) -> torch.Tensor:
    """Indices drawn with probability proportional to `weights` (B, V) >= 0, with replacement.

    Returns (B,) int64, or (B, num_samples) when `num_samples` >= 1.

    Two-level inverse CDF with one uniform number per draw: block sums of `BLOCK` columns
    (a vectorised reduction), their running sum (V / BLOCK long) locates the block, and a running
    sum inside that one block locates the column. A full-row cumulative sum, a serial chain of V
    additions, costs about as much as the matmul before it; `torch.multinomial` on CPU draws V
    exponential numbers per row.
    """
    rows, vocab = weights.shape
    draws = max(num_samples, 1)
    full = (vocab // BLOCK) * BLOCK
    sums = weights[:, :full].reshape(rows, -1, BLOCK).sum(dim=2)  # (B, V // BLOCK)
    if full < vocab:
        sums = torch.cat([sums, weights[:, full:].sum(dim=1, keepdim=True)], dim=1)
    cum = sums.cumsum_(dim=1)  # (B, nb)
    u = torch.rand(rows, draws, device=weights.device, generator=generator) * cum[:, -1:]
    block = torch.searchsorted(cum, u, right=True).clamp_(max=cum.shape[1] - 1)  # (B, n)
    before = cum.gather(1, (block - 1).clamp_(min=0)).masked_fill_(block == 0, 0.0)  # (B, n)
    offsets = torch.arange(BLOCK, device=weights.device)
    columns = block.unsqueeze(2) * BLOCK + offsets  # (B, n, BLOCK)
    inside = weights.gather(1, columns.reshape(rows, -1).clamp(max=vocab - 1))  # (B, n*BLOCK)
    inside = inside.reshape(rows, draws, BLOCK)  # (B, n, BLOCK)
    if full < vocab:
        inside.mul_(columns < vocab)  # the last block is short
    index = torch.searchsorted(inside.cumsum_(dim=2), (u - before).unsqueeze(2), right=True)
    picked = columns.gather(2, index.clamp_(max=BLOCK - 1)).squeeze(2)  # (B, n)
    picked.clamp_(max=vocab - 1)
    return picked if num_samples else picked.squeeze(1)


def sample_next(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    chunk_rows: int = 256,
    num_samples: int = 0,
    buffer: torch.Tensor | None = None,
    allowed: torch.Tensor | None = None,
) -> torch.Tensor:
    """Next tokens (R,) int64 from hidden states (R, H) through the output layer (V, H), (V,);
    (R, num_samples) draws per row when `num_samples` >= 1.

    On CPU works in chunks of `chunk_rows` through one reused buffer (pass `buffer`, at least
    (chunk_rows, V) float32, to reuse it across calls), so each (rows, V) block of logits stays
    in cache between the matmul and the sampling and no large tensor is allocated per step.
    `allowed` (R, V) bool limits each row's draw to its True columns (a decoding constraint).
    """
    rows = hidden.shape[0]
    if hidden.device.type != "cpu" or rows <= chunk_rows:
        logits = F.linear(hidden, weight, bias).float()
        if allowed is not None:
            logits = logits.masked_fill_(~allowed, float("-inf"))
        return sample_weights(probabilities(logits, temperature, inplace=True), generator,
                              num_samples)
    shape = (rows, num_samples) if num_samples else (rows,)
    out = torch.empty(shape, dtype=torch.long, device=hidden.device)
    if buffer is None or buffer.shape[0] < chunk_rows or buffer.dtype != hidden.dtype:
        buffer = torch.empty(chunk_rows, weight.shape[0], dtype=hidden.dtype)
    weight_t = weight.t()
    for lo in range(0, rows, chunk_rows):
        h = hidden[lo : lo + chunk_rows]
        logits = torch.addmm(bias, h, weight_t, out=buffer[: h.shape[0]])  # (r, V)
        if allowed is not None:
            logits.masked_fill_(~allowed[lo : lo + chunk_rows], float("-inf"))
        out[lo : lo + h.shape[0]] = sample_weights(
            probabilities(logits, temperature, inplace=True), generator, num_samples)
    return out


class _LinearCrossEntropy(torch.autograd.Function):
    """sum_r c_r * cross_entropy(hidden[r] @ weight^T + bias, targets[r]) with its gradients,
    c_r = row_weights[r], or 1 / R for the mean when `row_weights` is None.

    The forward pass works through `chunk` rows at a time: logits, softmax in place, the loss
    terms -log p(target) (from the logits where p underflows), and right away the gradient of
    the loss c_r * (softmax - one-hot) and its three products (hidden, weight, bias), while
    the (chunk, V) block is still in cache. The full (R, V) logits never exist, and the
    separate log-softmax backward pass (a third of an MLE epoch) is gone.
    `backward` only scales the stored gradients by the incoming one (the loss is a scalar).
    """

    @staticmethod
    def forward(ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                targets: torch.Tensor, row_weights: torch.Tensor | None, chunk: int
                ) -> torch.Tensor:
        rows, vocab = hidden.shape[0], weight.shape[0]
        grad_hidden = torch.empty_like(hidden)
        grad_weight = torch.zeros_like(weight)
        grad_bias = torch.zeros_like(bias)
        buffer = torch.empty(min(chunk, rows), vocab, dtype=hidden.dtype, device=hidden.device)
        total = hidden.new_zeros(())
        weight_t = weight.t()
        for lo in range(0, rows, chunk):
            h, t = hidden[lo : lo + chunk], targets[lo : lo + chunk, None]
            c = (1.0 / rows if row_weights is None
                 else row_weights[lo : lo + chunk, None].to(hidden.dtype))
            block = buffer[: h.shape[0]]
            torch.addmm(bias, h, weight_t, out=block)  # logits (r, V)
            picked = block.gather(1, t)  # (r, 1)
            torch.softmax(block, dim=1, out=block)  # in place: one exp pass, no log-softmax
            p = block.gather(1, t)
            tiny = p < 1e-30  # -log(p) loses precision (subnormal or 0): use the logits
            if bool(tiny.any()):
                rows_lse = torch.logsumexp(torch.addmm(bias, h[tiny[:, 0]], weight_t), dim=1)
                p = p.log().neg_()
                p[tiny] = rows_lse - picked[tiny]
            else:
                p = p.log().neg_()
            total += (p * c).sum()
            block.scatter_add_(1, t, block.new_full(t.shape, -1.0))  # softmax - one-hot
            block.mul_(c)
            torch.mm(block, weight, out=grad_hidden[lo : lo + chunk])
            grad_weight.addmm_(block.t(), h)
            grad_bias += block.sum(dim=0)
        ctx.save_for_backward(grad_hidden, grad_weight, grad_bias)
        return total

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad_hidden, grad_weight, grad_bias = ctx.saved_tensors
        return grad_hidden * grad, grad_weight * grad, grad_bias * grad, None, None, None


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                         targets: torch.Tensor, row_weights: torch.Tensor | None = None,
                         chunk: int = 256) -> torch.Tensor:
    """F.cross_entropy(F.linear(hidden, weight, bias), targets) for hidden (R, H), weight
    (V, H), bias (V,), targets (R,) int64: the mean over rows, or with `row_weights` (R,) (no
    gradient flows into them) the sum of row_weights[r] * loss[r]. Fused and chunked on CPU
    when a gradient is wanted (see `_LinearCrossEntropy`), the plain expression otherwise."""
    wants_grad = torch.is_grad_enabled() and any(
        x.requires_grad for x in (hidden, weight, bias))
    if not wants_grad or hidden.device.type != "cpu" or hidden.dtype != torch.float32:
        logits = F.linear(hidden, weight, bias)
        if row_weights is None:
            return F.cross_entropy(logits, targets)
        return (F.cross_entropy(logits, targets, reduction="none") * row_weights).sum()
    if row_weights is not None:
        row_weights = row_weights.detach()
    return cast(torch.Tensor, _LinearCrossEntropy.apply(hidden, weight, bias, targets,
                                                        row_weights, chunk))


class Generator(nn.Module):
    """LSTM language model over `vocab_size` tokens.

    The input at step 0 is the start token (`config.start_token`), then the previous token,
    as in the official code. With `metrical` (a representation's constraint object, such as
    `music.constraint.FormConstraint`; `metrical.num_ids` says how many ids it gives) each
    input also gets the embeddings of its metrical ids (position in the bar, bar in the
    strain; `position`), and sampling applies the constraint's masks; without it (the paper,
    the oracle) the model is the paper's.
    """

    def __init__(self, config: GeneratorConfig, vocab_size: int, metrical: Any = None) -> None:
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        self.metrical = metrical
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim)
        if metrical is not None:  # ids 0..metrical.num_ids - 1
            self.position = nn.Embedding(metrical.num_ids, config.embedding_dim)
        self.lstm = nn.LSTM(config.embedding_dim, config.hidden_dim, batch_first=True)
        self.head = nn.Linear(config.hidden_dim, vocab_size)
        for parameter in self.parameters():
            nn.init.normal_(parameter, std=config.init_std)

    def forward(
        self, inputs: torch.Tensor, state: LSTMState | None = None,
        ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, LSTMState]:
        """Logits (B, T, V) float32 for input tokens (B, T) int64, and the final LSTM state;
        `ids` (B, T, 2): the metrical ids of a metrical generator's inputs."""
        hidden, state = self.lstm(self.embed(inputs, ids), state)  # (B, T, H)
        return self.head(hidden), state

    def embed(self, inputs: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """The LSTM's inputs (B, T, E): token embeddings, plus metrical ones when given."""
        x = self.embedding(inputs)
        if ids is not None and self.metrical is not None:
            x = x + self.position(ids).sum(dim=2)
        return x

    def metrical_ids(self, targets: torch.Tensor) -> torch.Tensor | None:
        """Metrical ids (B, T, 2) of the teacher-forced inputs for `targets` (None: none)."""
        if self.metrical is None:
            return None
        ids = self.metrical.track(targets.detach().cpu().numpy())
        return torch.from_numpy(ids).to(targets.device)

    def hidden_states(self, targets: torch.Tensor) -> torch.Tensor:
        """LSTM outputs (B, T, H) with teacher forcing on `targets`."""
        inputs = self.shift_right(targets)
        hidden, _ = self.lstm(self.embed(inputs, self.metrical_ids(targets)))
        return hidden

    def shift_right(self, targets: torch.Tensor) -> torch.Tensor:
        """Teacher-forcing inputs [start, y_1 .. y_T-1] (B, T) for targets (B, T)."""
        start = targets.new_full((targets.shape[0], 1), self.config.start_token)
        return torch.cat([start, targets[:, :-1]], dim=1)

    def log_probs(self, targets: torch.Tensor) -> torch.Tensor:
        """log G(y_t | Y_1:t-1) (B, T) float32 for sequences (B, T), teacher-forced."""
        logits, _ = self(self.shift_right(targets), ids=self.metrical_ids(targets))
        return torch.log_softmax(logits, dim=-1).gather(2, targets.unsqueeze(2)).squeeze(2)

    def nll(self, targets: torch.Tensor) -> torch.Tensor:
        """Mean per-token negative log-likelihood (scalar), the MLE loss."""
        hidden = self.hidden_states(targets)  # (B, T, H)
        return linear_cross_entropy(hidden.reshape(-1, hidden.shape[-1]), self.head.weight,
                                    self.head.bias, targets.reshape(-1))

    def weighted_nll(self, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """sum_b,t weights[b, t] * -log G(y_t | Y_1:t-1) (scalar) for sequences (B, T) and
        weights (B, T) (no gradient flows into them): the REINFORCE loss with weights = Q."""
        hidden = self.hidden_states(targets)  # (B, T, H)
        return linear_cross_entropy(hidden.reshape(-1, hidden.shape[-1]), self.head.weight,
                                    self.head.bias, targets.reshape(-1), weights.reshape(-1))

    def constrained_weighted_nll(self, targets: torch.Tensor, weights: torch.Tensor
                                 ) -> torch.Tensor:
        """`weighted_nll` under the generator's constraint: -log of the probability the
        constrained sampler gave each token (the masked softmax), so REINFORCE updates the
        policy that samples; a token the constraint forced contributes nothing."""
        allowed = self.metrical.allowed_path(targets.detach().cpu().numpy())
        hidden = self.hidden_states(targets)  # (B, T, H)
        logits = self.head(hidden).masked_fill(~torch.from_numpy(allowed).to(targets.device),
                                               float("-inf"))
        picked = torch.log_softmax(logits, dim=-1).gather(2, targets.unsqueeze(2)).squeeze(2)
        return -(picked * weights.detach()).sum()

    def cell_tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Input-gate table (V, 4H) = embedding @ W_ih^T + b_ih + b_hh, and W_hh^T (H, 4H).

        One table lookup replaces the input matmul at every sampling step.
        """
        lstm = self.lstm
        bias: torch.Tensor = lstm.bias_ih_l0 + lstm.bias_hh_l0  # type: ignore[operator]
        w_ih: torch.Tensor = lstm.weight_ih_l0  # type: ignore[assignment]
        w_hh: torch.Tensor = lstm.weight_hh_l0  # type: ignore[assignment]
        table = torch.addmm(bias, self.embedding.weight, w_ih.t())  # (V, 4H)
        return table, w_hh.t()

    def position_table(self) -> torch.Tensor | None:
        """Input-gate rows (NUM_IDS, 4H) of the metrical ids (None: not metrical)."""
        if self.metrical is None:
            return None
        w_ih: torch.Tensor = self.lstm.weight_ih_l0  # type: ignore[assignment]
        return self.position.weight @ w_ih.t()

    @staticmethod
    def gates_input(table: torch.Tensor, token: torch.Tensor, positions: torch.Tensor | None,
                    ids: Any) -> torch.Tensor:
        """Input-gate rows (B, 4H) of tokens (B,) and, when metrical, their ids (B, 2)."""
        if positions is None:
            return table[token]
        index = torch.from_numpy(ids).to(token.device)
        return table[token] + positions[index[:, 0]] + positions[index[:, 1]]

    @staticmethod
    def cell(gates_in: torch.Tensor, w_hh: torch.Tensor, state: LSTMState) -> LSTMState:
        """One LSTM step given input-gate rows (B, 4H); PyTorch gate order i, f, g, o."""
        h, c = state
        gates = torch.addmm(gates_in, h, w_hh)  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c

    def initial_state(self, batch: int, device: torch.device) -> LSTMState:
        zeros = torch.zeros(batch, self.config.hidden_dim, device=device)
        return zeros, zeros.clone()

    @torch.no_grad()
    def sample(
        self,
        num: int,
        length: int,
        prefix: torch.Tensor | None = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        batch_size: int = 4096,
        constraint: Any = None,
    ) -> torch.Tensor:
        """Sample `num` sequences (num, length) int64.

        Args:
            num: number of sequences.
            length: tokens to generate after the prefix.
            prefix: optional (num, P) or (P,) int64 tokens to continue; they are not included
                in the output.
            temperature: softmax temperature (> 0).
            generator: torch.Generator for reproducible draws (on the model's device).
            batch_size: sequences advanced together, to bound memory.
            constraint: the decoding constraint (default: the generator's `metrical` one).
        """
        device = self.head.weight.device
        if prefix is not None and prefix.dim() == 1:
            prefix = prefix.unsqueeze(0).expand(num, -1)
        table, w_hh = self.cell_tables()
        positions = self.position_table()
        rules = constraint if constraint is not None else self.metrical
        out = torch.empty(num, length, dtype=torch.long, device=device)
        for lo in range(0, num, batch_size):
            hi = min(num, lo + batch_size)
            state = self.initial_state(hi - lo, device)
            token = torch.full((hi - lo,), self.config.start_token, device=device)
            track = rules.start(hi - lo) if rules is not None else None
            ids = rules.ids(track) if rules is not None else None
            if prefix is not None:
                for p in prefix[lo:hi].to(device).t():  # feed the prefix, one step per token
                    state = self.cell(self.gates_input(table, token, positions, ids), w_hh,
                                      state)
                    token = p
                    if rules is not None:
                        rules.advance(track, p.cpu().numpy())
                        ids = rules.ids(track)
            for t in range(length):
                state = self.cell(self.gates_input(table, token, positions, ids), w_hh, state)
                allowed = (torch.from_numpy(rules.allowed(track)).to(device)
                           if rules is not None else None)
                token = sample_next(state[0], self.head.weight, self.head.bias, temperature,
                                    generator, allowed=allowed)
                out[lo:hi, t] = token
                if rules is not None:
                    rules.advance(track, token.cpu().numpy())
                    ids = rules.ids(track)
        return out
