"""The synthetic oracle of SeqGAN's Table 1 (Yu et al. 2017, section 5.1).

`OracleLSTM` is the official `TARGET_LSTM`: an LSTM with embedding = hidden = 32 over V = 5000
tokens, no peepholes, gates i, f, o and candidate g, start token 0, initial state zero:

    i = sigmoid(x W_i + h U_i + b_i)    f = sigmoid(x W_f + h U_f + b_f)
    o = sigmoid(x W_o + h U_o + b_o)    g = tanh(x W_c + h U_c + b_c)
    c = f * c + i * g                   h = o * tanh(c)        logits = h W_out + b_out

This is the LSTM of our own `Generator` (embedding -> LSTM -> linear), so the oracle is a
`Generator` holding the official weights with the gates reordered to PyTorch's i, f, g, o (and
b_hh = 0). Its parameters are the official ones (`target_params.npz`, not shipped) or N(0, 1)
draws from a seed, as the paper describes. NLL-oracle = mean per-token negative log-likelihood
of generated sequences under the oracle (paper eq. 14, reported per token as in the official
code).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqgan_music.config import GeneratorConfig
from seqgan_music.core.generator import Generator

PARAM_NAMES = ("embedding", "W_i", "U_i", "b_i", "W_f", "U_f", "b_f", "W_o", "U_o", "b_o",
               "W_c", "U_c", "b_c", "W_out", "b_out")


class OracleLSTM(nn.Module):
    """The target LSTM: a `Generator` with the official parameters (float32)."""

    def __init__(self, params: dict[str, np.ndarray], start_token: int = 0) -> None:
        super().__init__()
        missing = [name for name in PARAM_NAMES if name not in params]
        if missing:
            raise ValueError(f"oracle parameters lack {', '.join(missing)}")
        p = {name: torch.as_tensor(np.asarray(params[name], np.float32)) for name in PARAM_NAMES}
        if p["embedding"].dim() != 2 or min(p["embedding"].shape) < 1:
            raise ValueError(f"embedding has shape {tuple(p['embedding'].shape)}; expected (V, H)")
        self.vocab_size, self.dim = p["embedding"].shape
        expected = {"embedding": (self.vocab_size, self.dim), "W_out": (self.dim, self.vocab_size),
                    "b_out": (self.vocab_size,)}
        for gate in "ifoc":
            expected |= {f"W_{gate}": (self.dim, self.dim), f"U_{gate}": (self.dim, self.dim),
                         f"b_{gate}": (self.dim,)}
        for name, shape in expected.items():
            if tuple(p[name].shape) != shape:
                raise ValueError(f"{name} has shape {tuple(p[name].shape)}; expected {shape}")
            if not bool(torch.isfinite(p[name]).all()):
                raise ValueError(f"{name} holds NaN or infinite values")
        config = GeneratorConfig(embedding_dim=self.dim, hidden_dim=self.dim,
                                 start_token=start_token)
        with torch.random.fork_rng(devices=[]):  # its random initialisation is overwritten
            self.generator = Generator(config, self.vocab_size)
        gates = "ifco"  # PyTorch's order i, f, g (the candidate, "c" officially), o
        self.generator.load_state_dict({
            "embedding.weight": p["embedding"],
            "lstm.weight_ih_l0": torch.cat([p[f"W_{g}"] for g in gates], dim=1).t(),  # (4H, E)
            "lstm.weight_hh_l0": torch.cat([p[f"U_{g}"] for g in gates], dim=1).t(),  # (4H, H)
            "lstm.bias_ih_l0": torch.cat([p[f"b_{g}"] for g in gates]),
            "lstm.bias_hh_l0": torch.zeros(4 * self.dim),
            "head.weight": p["W_out"].t(),  # (V, H)
            "head.bias": p["b_out"],
        })
        self.generator.requires_grad_(False).eval()

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

    @torch.inference_mode()
    def log_probs(self, tokens: torch.Tensor, chunk_rows: int = 256) -> torch.Tensor:
        """log p_oracle(y_t | Y_1:t-1) (B, T) float32 for sequences (B, T) int64."""
        model = self.generator
        tokens = tokens.to(model.head.weight.device)
        batch, length = tokens.shape
        hidden, _ = model.lstm(model.embedding(model.shift_right(tokens)))  # (B, T, H)
        hidden = hidden.reshape(-1, self.dim)  # (B*T, H)
        flat = tokens.reshape(-1)
        out = torch.empty(batch * length, device=tokens.device)
        # Chunks small enough that the (rows, V) logits stay in cache, written into one reused
        # buffer; log-softmax's fused kernel in place is cheaper there than logsumexp (a max
        # pass, a temporary, an exp pass and a sum).
        weight_t, bias = model.head.weight.t(), model.head.bias
        buffer = torch.empty(min(chunk_rows, len(flat)), self.vocab_size, device=tokens.device)
        for lo in range(0, len(flat), chunk_rows):
            h = hidden[lo : lo + chunk_rows]
            block = buffer[: h.shape[0]]
            torch.addmm(bias, h, weight_t, out=block)  # logits (r, V)
            torch.log_softmax(block, dim=1, out=block)
            out[lo : lo + h.shape[0]] = block.gather(1, flat[lo : lo + chunk_rows, None]).squeeze(1)
        return out.reshape(batch, length)

    def sequence_nll(self, tokens: torch.Tensor) -> torch.Tensor:
        """Mean per-token NLL of each sequence (B,) float64."""
        return -self.log_probs(tokens).double().mean(dim=1)

    def nll(self, tokens: torch.Tensor) -> float:
        """NLL-oracle: mean per-token NLL over all sequences (nats)."""
        return float(self.sequence_nll(tokens).mean())

    def sample(self, num: int, length: int = 20, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """Sample (num, length) int64 sequences at temperature 1."""
        return self.generator.sample(num, length, generator=generator)
