"""The discriminator of SeqGAN (Yu et al. 2017, section 4): D_phi, a CNN sequence classifier.

`Discriminator` D_phi: embedding -> Conv1d filters of several widths with ReLU and
max-over-time pooling -> highway layer -> dropout -> one logit (Kim 2014; Srivastava et al. 2015).
The bf16 GEMM form of the convolutions lives in `conv_pool`.

Shapes: B batch, T time steps, V vocabulary, E embedding, F filters.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from seqgan_music.config import DiscriminatorConfig
from seqgan_music.core.conv_pool import conv_max_pool, dropout, highway


class Highway(nn.Module):
    """y = t * relu(W_h x) + (1 - t) * x with gate t = sigmoid(W_t x + b_t) (separate weights)."""

    def __init__(self, size: int, gate_bias: float) -> None:
        super().__init__()
        self.transform = nn.Linear(size, size)
        self.gate = nn.Linear(size, size)
        self.gate_bias = gate_bias
        nn.init.constant_(self.gate.bias, gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.sigmoid(self.gate(x))
        transformed = F.relu(self.transform(x))
        # t * transformed + (1 - t) * x in one fused op
        return torch.lerp(x, transformed.to(x.dtype), t.to(x.dtype))


class Discriminator(nn.Module):
    """CNN sequence classifier: one logit per sequence, > 0 meaning "real".

    Each filter width is a Conv2d with a (1, width) kernel over the (B, E, 1, T) channels-last
    view of the embedded tokens, its weight stored channels-last once: no transpose copy of the
    input and no re-layout of the weights per call, and oneDNN's fastest kernel. bf16 training
    computes the same convolutions and pooling as explicit GEMMs (`conv_pool.conv_max_pool`).
    """

    def __init__(self, config: DiscriminatorConfig, vocab_size: int, seq_len: int) -> None:
        super().__init__()
        too_wide = [w for w in config.filter_widths if w > seq_len]
        if too_wide:
            raise ValueError(
                f"discriminator filter widths {too_wide} exceed the sequence length T = {seq_len}"
            )
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim)
        self.convs = nn.ModuleList(
            nn.Conv2d(config.embedding_dim, n, (1, w))
            for w, n in zip(config.filter_widths, config.num_filters, strict=True)
        )
        features = sum(config.num_filters)
        self.highway = Highway(features, config.highway_gate_bias)
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(features, 1)
        if config.init == "official":
            self._init_official()
        for conv in self.conv_layers():
            conv.weight.data = conv.weight.data.contiguous(memory_format=torch.channels_last)

    def conv_layers(self) -> list[nn.Conv2d]:
        """The convolutions, one per filter width, typed."""
        return cast(list[nn.Conv2d], list(self.convs))

    @torch.no_grad()
    def _init_official(self) -> None:
        """The official code's initialisation (LantaoYu/SeqGAN discriminator.py): embeddings
        uniform(-1, 1); convolutions and the output layer truncated normal(0.1) with bias 0.1;
        the highway's matrices and biases Glorot-uniform (TensorFlow's get_variable default), the
        gate's bias shifted by `highway_gate_bias` (the official code passes 0)."""
        nn.init.uniform_(self.embedding.weight, -1.0, 1.0)
        for layer in (*self.conv_layers(), self.out):
            nn.init.trunc_normal_(cast(torch.Tensor, layer.weight), std=0.1, a=-0.2, b=0.2)
            nn.init.constant_(cast(torch.Tensor, layer.bias), 0.1)
        for layer in (self.highway.transform, self.highway.gate):
            nn.init.xavier_uniform_(layer.weight)
            bound = (3.0 / layer.bias.numel()) ** 0.5  # Glorot for a vector: fan_in = fan_out
            nn.init.uniform_(layer.bias, -bound, bound)
        self.highway.gate.bias.add_(self.highway.gate_bias)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        # Checkpoints of versions that stored Conv1d weights (F, E, w): view them as (F, E, 1, w).
        for i in range(len(self.convs)):
            key = f"{prefix}convs.{i}.weight"
            if key in state_dict and state_dict[key].dim() == 3:
                state_dict[key] = state_dict[key].unsqueeze(2)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B,) for token sequences (B, T) int64."""
        if torch.is_grad_enabled() and tokens.device.type == "cpu":
            dtype = (torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu")
                     else self.embedding.weight.dtype)
            if dtype == torch.bfloat16:
                # bf16 training: the convolutions and pooling (and the highway) as explicit
                # GEMMs (conv_pool.py), faster than oneDNN's here; same arithmetic. In float32
                # oneDNN's convolutions are the faster.
                return self.classify([conv_max_pool(self.embedding(tokens), self.conv_layers(),
                                                    dtype)], dtype)
        x = self._embed(tokens)
        pooled = [conv(x).amax(dim=(2, 3)) for conv in self.convs]  # each (B, F_k)
        return self.classify(pooled)

    def _embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, E, 1, T) channels-last view of the embedded tokens (B, T)."""
        # The embedding output (B, T, E) is already channels-last for a (B, E, 1, T) image, so
        # each width runs as a channels-last conv2d: no transpose copy, a faster oneDNN kernel,
        # and the max over time reduces a strided axis with the F filters contiguous.
        return self.embedding(tokens).unsqueeze(1).permute(0, 3, 1, 2)

    def classify(self, pooled: list[torch.Tensor], dtype: torch.dtype | None = None
                 ) -> torch.Tensor:
        """Logits (B,) from the max-over-time conv outputs, one (B, F_k) per width.

        ReLU comes after the max: they commute, and (B, F_k) is the smaller tensor. With
        `dtype` (bf16 training) the highway's two products run as one GEMM in it
        (`conv_pool.highway`).
        """
        features = F.relu(torch.cat(pooled, dim=1))
        if dtype is None:
            features = self.highway(features)  # (B, F)
        else:
            features = highway(features, self.highway.transform, self.highway.gate, dtype)
        features = dropout(features, self.dropout.p, self.training)
        return self.out(features).squeeze(1)  # (B,)

    def score_completions(self, completions: torch.Tensor, sequences: torch.Tensor
                          ) -> torch.Tensor:
        """Logits (T-1, B, N) of roll-out completions (T-1, B, N, T) of sequences (B, T).

        Completion [t-1, b, n] starts with sequences[b, :t]. A convolution window that lies
        inside that prefix has the value it has on sequences[b], so it is computed once per
        sequence (with a running max over windows) instead of once per completion; only the
        windows that reach into the completed part run per completion: about a third less
        convolution work at T = 20. Equal to `forward` on the flattened completions.
        """
        steps, batch, n_roll, length = completions.shape
        kernels = self.conv_layers()
        own = self._embed(sequences)
        # prefix_max[k][b, f, s] = max over windows 0..s of width k on sequences[b]
        prefix_max = [conv(own).squeeze(2).cummax(dim=2).values for conv in kernels]
        logits = []
        for t in range(1, steps + 1):  # B * N rows per prefix length
            x = self._embed(completions[t - 1].reshape(batch * n_roll, length))
            pooled = []
            for conv, best in zip(kernels, prefix_max, strict=True):
                width = conv.kernel_size[1]
                first = max(0, t - width + 1)  # first window that reaches position t
                y = conv(x[..., first:]).amax(dim=(2, 3))  # (B*N, F_k)
                if first > 0:  # windows 0 .. t-k lie inside the prefix
                    y = torch.maximum(y, best[:, :, t - width].repeat_interleave(n_roll, 0))
                pooled.append(y)
            logits.append(self.classify(pooled).reshape(batch, n_roll))
        return torch.stack(logits)  # (T-1, B, N)

    def l2_penalty(self) -> torch.Tensor:
        """l2_reg * (|W|^2 + |b|^2) / 2 on the output layer (tf.nn.l2_loss).

        The official code penalises a two-class softmax layer with 0.2; its logits matter only
        through their difference, whose penalty is half that: l2_reg 0.1 on this one logit."""
        squares = self.out.weight.square().sum() + self.out.bias.square().sum()
        return 0.5 * self.config.l2_reg * squares

    def loss(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Binary cross entropy (labels 1 = real, 0 = generated) plus the L2 penalty."""
        logits = self(tokens)
        return F.binary_cross_entropy_with_logits(logits, labels.float()) + self.l2_penalty()
