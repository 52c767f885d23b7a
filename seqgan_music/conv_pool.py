"""The discriminator's convolutions and max-over-time pooling as explicit GEMMs, for training.

For each filter width w the windows of the embedded tokens (B, T, E) are the rows of an im2col
matrix (B * (T-w+1), w * E), in the (w, E) order of the channels-last Conv2d weight (F, E, 1, w),
so that a width is one GEMM in the compute dtype (bf16 under CPU autocast). The backward is two
more GEMMs per width on the pooling's gradient, split evenly between tied maxima as `amax`'s
backward does: the same arithmetic as Conv2d + amax in autograd, without oneDNN's convolution
backward (slow at these small shapes), autocast's per-call casts, or one graph node per op.
"""

from __future__ import annotations

from typing import Any

import torch


def _weight_matrix(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(F, w * E) in (w, E) order from a Conv2d weight (F, E, 1, w), in `dtype`."""
    filters = weight.shape[0]
    return weight.permute(0, 2, 3, 1).reshape(filters, -1).to(dtype)


def _windows(x: torch.Tensor, width: int) -> torch.Tensor:
    """im2col matrix (B * (T-w+1), w * E) of x (B, T, E) contiguous: window rows, (w, E) order."""
    batch, length, dim = x.shape
    return x.as_strided((batch, length - width + 1, width * dim),
                        (length * dim, dim, 1)).reshape(-1, width * dim)


_BITS = {torch.bfloat16: torch.int16, torch.float16: torch.int16, torch.float32: torch.int32,
         torch.float64: torch.int64}


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a == b (broadcast) compared as integers: 3x faster than a bf16 comparison on CPU. Differs
    from float equality only for -0 against +0 (not a tie here, still a valid subgradient) and
    NaN (equal to itself: the position of a NaN maximum gets its gradient)."""
    bits = _BITS.get(a.dtype)
    return a == b if bits is None else a.view(bits) == b.view(bits)


def _masked(mask: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """where(mask, values, 0) (broadcast), as a product of the mask with the values' bits:
    exact (0 bits are +0.0) and 10x faster than `torch.where` in bf16 on CPU."""
    bits = _BITS.get(values.dtype)
    if bits is None:
        return torch.where(mask, values, 0)
    return (mask * values.view(bits)).view(values.dtype)


class _ConvMaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, dtype: torch.dtype, *params: torch.Tensor
                ) -> torch.Tensor:
        weights, biases = params[0::2], params[1::2]
        batch = x.shape[0]
        xs = x.to(dtype).contiguous()
        pooled, saved = [], []
        for weight, bias in zip(weights, biases, strict=True):
            width = weight.shape[3]
            cols = _windows(xs, width)
            matrix = _weight_matrix(weight, dtype)
            y = (cols @ matrix.t()).view(batch, -1, matrix.shape[0])  # (B, T-w+1, F)
            best = y.amax(dim=1)  # (B, F)
            pooled.append(best.to(x.dtype) + bias)
            saved += [cols, matrix, y, best]
        ctx.save_for_backward(*saved)
        ctx.shape = x.shape
        ctx.weight_shapes = [(w.shape, w.stride(), w.dtype) for w in weights]
        ctx.splits = [w.shape[0] for w in weights]
        return torch.cat(pooled, dim=1)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        batch, length, dim = ctx.shape
        saved = ctx.saved_tensors
        dx = torch.zeros(ctx.shape, dtype=grad.dtype, device=grad.device)
        grads: list[torch.Tensor | None] = []
        for k, g in enumerate(grad.split(ctx.splits, dim=1)):
            cols, matrix, y, best = saved[4 * k : 4 * k + 4]
            shape, stride, wdtype = ctx.weight_shapes[k]
            width = shape[3]
            # amax's backward: g split evenly among the positions that reach the maximum
            ties = _same_bits(y, best.unsqueeze(1))  # (B, T-w+1, F)
            share = (g / ties.sum(dim=1)).to(y.dtype)
            dy = _masked(ties, share.unsqueeze(1)).view(-1, matrix.shape[0])  # (N, F)
            dweight = (dy.t() @ cols).to(wdtype)  # (F, w * E)
            dcols = (dy @ matrix).view(batch, -1, width, dim)  # (B, T-w+1, w, E)
            steps = length - width + 1
            for j in range(width):
                dx[:, j : j + steps] += dcols[:, :, j]
            # (F, 1, w, E) -> (F, E, 1, w): the channels-last layout of the weight, no copy
            dweight = dweight.view(shape[0], 1, width, dim).permute(0, 3, 1, 2)
            grads += [dweight if dweight.stride() == stride else dweight.contiguous(),
                      g.sum(dim=0)]
        return (dx, None, *grads)


def conv_max_pool(x: torch.Tensor, convs: list[torch.nn.Conv2d], dtype: torch.dtype
                  ) -> torch.Tensor:
    """max over time of each conv (widths (1, w)) of x (B, T, E): (B, sum F) in x's dtype,
    computed in `dtype` (the GEMMs; pooling and bias added in x's dtype)."""
    params = [p for conv in convs for p in (conv.weight, conv.bias)]
    with torch.autocast(x.device.type, enabled=False):
        return _ConvMaxPool.apply(x, dtype, *params)
