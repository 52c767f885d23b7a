"""The synthetic oracle of SeqGAN's Table 1 (Yu et al. 2017, section 5.1).

`OracleLSTM` is the official `TARGET_LSTM`: an LSTM with embedding = hidden = 32 over V = 5000
tokens, no peepholes, gates i, f, o and candidate g, start token 0, initial state zero:

    i = sigmoid(x W_i + h U_i + b_i)    f = sigmoid(x W_f + h U_f + b_f)
    o = sigmoid(x W_o + h U_o + b_o)    g = tanh(x W_c + h U_c + b_c)
    c = f * c + i * g                   h = o * tanh(c)        logits = h W_out + b_out

Its parameters are the official ones (`target_params.npz`, not shipped) or N(0, 1) draws from a
seed, as the paper describes. NLL-oracle = mean per-token negative log-likelihood of generated
sequences under the oracle (paper eq. 14, reported per token as in the official code).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

PARAM_NAMES = ("embedding", "W_i", "U_i", "b_i", "W_f", "U_f", "b_f", "W_o", "U_o", "b_o",
               "W_c", "U_c", "b_c", "W_out", "b_out")


class OracleLSTM(nn.Module):
    """The target LSTM; float32 parameters with the official names and shapes."""

    def __init__(self, params: dict[str, np.ndarray], start_token: int = 0) -> None:
        super().__init__()
        missing = [name for name in PARAM_NAMES if name not in params]
        if missing:
            raise ValueError(f"oracle parameters lack {', '.join(missing)}")
        for name in PARAM_NAMES:
            self.register_buffer(name, torch.as_tensor(np.asarray(params[name], np.float32)))
        self.vocab_size, self.dim = self.embedding.shape
        self.start_token = start_token
        # Fused input->gate table (V, 4H) in order i, f, o, g, and hidden->gate matrix (H, 4H).
        self.register_buffer("gate_table", torch.cat(
            [self.embedding @ w for w in (self.W_i, self.W_f, self.W_o, self.W_c)], dim=1)
            + torch.cat([self.b_i, self.b_f, self.b_o, self.b_c]))
        self.register_buffer("gate_hidden", torch.cat([self.U_i, self.U_f, self.U_o, self.U_c], 1))

    embedding: torch.Tensor
    W_out: torch.Tensor
    b_out: torch.Tensor
    gate_table: torch.Tensor
    gate_hidden: torch.Tensor
    W_i: torch.Tensor
    W_f: torch.Tensor
    W_o: torch.Tensor
    W_c: torch.Tensor
    U_i: torch.Tensor
    U_f: torch.Tensor
    U_o: torch.Tensor
    U_c: torch.Tensor
    b_i: torch.Tensor
    b_f: torch.Tensor
    b_o: torch.Tensor
    b_c: torch.Tensor

    @classmethod
    def from_npz(cls, path: Path) -> OracleLSTM:
        with np.load(path) as data:
            return cls({name: data[name] for name in data.files})

    @classmethod
    def random(cls, seed: int, vocab_size: int = 5000, dim: int = 32) -> OracleLSTM:
        """An oracle with every parameter drawn from N(0, 1) (paper section 5.1)."""
        rng = np.random.default_rng(seed)
        shapes = {"embedding": (vocab_size, dim), "W_out": (dim, vocab_size),
                  "b_out": (vocab_size,)}
        for gate in "ifoc":
            shapes[f"W_{gate}"] = (dim, dim)
            shapes[f"U_{gate}"] = (dim, dim)
            shapes[f"b_{gate}"] = (dim,)
        return cls({name: rng.standard_normal(shapes[name]).astype(np.float32)
                    for name in PARAM_NAMES})

    def _cell(self, tokens: torch.Tensor, h: torch.Tensor, c: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        gates = torch.addmm(self.gate_table[tokens], h, self.gate_hidden)  # (B, 4H)
        i, f, o, g = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c

    def _hidden(self, inputs: torch.Tensor) -> torch.Tensor:
        """Hidden states (B, T, H) for input tokens (B, T)."""
        batch, length = inputs.shape
        h = inputs.new_zeros((batch, self.dim), dtype=torch.float32)
        c = torch.zeros_like(h)
        out = []
        for t in range(length):
            h, c = self._cell(inputs[:, t], h, c)
            out.append(h)
        return torch.stack(out, dim=1)

    @torch.inference_mode()
    def log_probs(self, tokens: torch.Tensor, chunk_rows: int = 256) -> torch.Tensor:
        """log p_oracle(y_t | Y_1:t-1) (B, T) float32 for sequences (B, T) int64."""
        tokens = tokens.to(self.embedding.device)
        batch, length = tokens.shape
        start = tokens.new_full((batch, 1), self.start_token)
        hidden = self._hidden(torch.cat([start, tokens[:, :-1]], dim=1)).reshape(-1, self.dim)
        flat = tokens.reshape(-1)
        out = torch.empty(batch * length, device=tokens.device)
        # Chunks small enough that the (rows, V) logits stay in cache.
        for lo in range(0, len(flat), chunk_rows):
            logits = torch.addmm(self.b_out, hidden[lo : lo + chunk_rows], self.W_out)
            picked = logits.gather(1, flat[lo : lo + chunk_rows, None]).squeeze(1)
            out[lo : lo + len(picked)] = picked - torch.logsumexp(logits, dim=1)
        return out.reshape(batch, length)

    def sequence_nll(self, tokens: torch.Tensor) -> torch.Tensor:
        """Mean per-token NLL of each sequence (B,) float64."""
        return -self.log_probs(tokens).double().mean(dim=1)

    def nll(self, tokens: torch.Tensor) -> float:
        """NLL-oracle: mean per-token NLL over all sequences (nats)."""
        return float(self.sequence_nll(tokens).mean())

    @torch.inference_mode()
    def sample(self, num: int, length: int = 20, generator: torch.Generator | None = None,
               batch_size: int = 2048) -> torch.Tensor:
        """Sample (num, length) int64 sequences at temperature 1."""
        from seqgan_music.models import sample_next

        device = self.embedding.device
        out = torch.empty(num, length, dtype=torch.long, device=device)
        for lo in range(0, num, batch_size):
            b = min(batch_size, num - lo)
            h = torch.zeros(b, self.dim, device=device)
            c = torch.zeros_like(h)
            token = torch.full((b,), self.start_token, device=device)
            for t in range(length):
                h, c = self._cell(token, h, c)
                token = sample_next(h, self.W_out.t(), self.b_out, generator=generator)
                out[lo : lo + b, t] = token
        return out
