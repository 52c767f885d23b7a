"""The discriminator's training arithmetic as explicit GEMMs: convolutions with max-over-time
pooling, and the highway layer.

Convolutions: one im2col matrix serves every filter width. Its rows are the windows of the
widest filter at each time step s of each sequence b, time-major ((s, b) order, zeros past the
end), its columns in the (w, E) order of the channels-last Conv2d weight (F, E, 1, w). A width w
has its T-w+1 valid windows in the first (T-w+1) * B rows and its w * E inputs in the first
w * E columns, so its convolution is one GEMM on a strided block of that matrix (no copy per
width), in the compute dtype (bf16 under CPU autocast). The backward is two more GEMMs per
width on the pooling's gradient, split evenly between tied maxima as `amax`'s backward does.
The windows' gradients of all widths are summed by the GEMMs themselves into one matrix of the
same layout (each width's product added in float32 inside the GEMM, rounded once to the compute
dtype: no less accurate than autocast, which rounds each width's input gradient and then their
sum), then folded back onto the time steps (col2im) in x's dtype, one add per offset. The same
arithmetic as Conv2d + amax in autograd, without oneDNN's convolution backward (slow at these
small shapes), autocast's per-call casts, or one graph node per op.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

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


def _windows(x: torch.Tensor, widest: int, dtype: torch.dtype) -> torch.Tensor:
    """im2col (T * B, widest * E) of x (B, T, E) in `dtype`: row s * B + b is the window of
    `widest` steps at s of sequence b, zeros past the end."""
    batch, length, dim = x.shape
    padded = x.new_zeros((batch, length + widest - 1, dim), dtype=dtype)
    padded[:, :length] = x
    windows = padded.as_strided((length, batch, widest * dim),
                                (dim, (length + widest - 1) * dim, 1))
    return windows.reshape(length * batch, widest * dim)


class _ConvMaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, dtype: torch.dtype, *params: torch.Tensor
                ) -> torch.Tensor:
        weights, biases = params[0::2], params[1::2]
        batch, length, dim = x.shape
        widest = max(weight.shape[3] for weight in weights)
        cols = _windows(x, widest, dtype)
        best, saved = [], [cols]
        for weight in weights:
            filters, width = weight.shape[0], weight.shape[3]
            rows = (length - width + 1) * batch
            # (F, w * E) in (w, E) order: a view of the channels-last weight, cast
            matrix = weight.permute(0, 2, 3, 1).reshape(filters, -1).to(dtype)
            y = (cols[:rows, : width * dim] @ matrix.t()).view(-1, batch, filters)
            best.append(y.amax(dim=0))  # (B, F): max over the T-w+1 windows
            # the windows that reach the maximum, found while y is in cache (for the backward)
            ties = _same_bits(y, best[-1])  # (T-w+1, B, F)
            saved += [matrix, ties, ties.view(torch.uint8).sum(dim=0, dtype=torch.int16)]
        ctx.save_for_backward(*saved)
        ctx.shape = x.shape
        ctx.weight_shapes = [(w.shape, w.stride(), w.dtype) for w in weights]
        ctx.splits = [w.shape[0] for w in weights]
        return torch.cat(best, dim=1).to(x.dtype) + torch.cat(biases)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        batch, length, dim = ctx.shape
        cols, *saved = ctx.saved_tensors
        widest = cols.shape[1] // dim
        dcols = torch.zeros_like(cols)  # the windows' gradients, in the compute dtype
        dweights: list[torch.Tensor | None] = []
        for k, g in enumerate(grad.split(ctx.splits, dim=1)):
            matrix, ties, count = saved[3 * k : 3 * k + 3]
            shape, stride, wdtype = ctx.weight_shapes[k]
            width = shape[3]
            rows = (length - width + 1) * batch
            # amax's backward: g split evenly among the windows that reach the maximum
            dy = _masked(ties, (g / count).to(matrix.dtype)).view(rows, -1)  # (rows, F)
            dweight = (dy.t() @ cols[:rows, : width * dim]).to(wdtype)  # (F, w * E)
            dcols[:rows, : width * dim].addmm_(dy, matrix)  # accumulated by the GEMM itself
            # (F, 1, w, E) -> (F, E, 1, w): the channels-last layout of the weight, no copy
            dweight = dweight.view(shape[0], 1, width, dim).permute(0, 3, 1, 2)
            dweights.append(dweight if dweight.stride() == stride else dweight.contiguous())
        # col2im: the window at s, offset j, is time step s + j
        dcols = dcols.view(length, batch, widest, dim).to(grad.dtype)
        dx = dcols[:, :, 0].clone()  # (T, B, E)
        for j in range(1, widest):
            dx[j:].add_(dcols[: length - j, :, j])
        dbiases = grad.sum(dim=0).split(ctx.splits)
        grads = [g for pair in zip(dweights, dbiases, strict=True) for g in pair]
        return (dx.transpose(0, 1), None, *grads)


def conv_max_pool(x: torch.Tensor, convs: list[torch.nn.Conv2d], dtype: torch.dtype
                  ) -> torch.Tensor:
    """max over time of each conv (widths (1, w)) of x (B, T, E): (B, sum F) in x's dtype,
    computed in `dtype` (the GEMMs; pooling and bias added in x's dtype)."""
    params = [p for conv in convs for p in (conv.weight, conv.bias)]
    with torch.autocast(x.device.type, enabled=False):
        return _ConvMaxPool.apply(x, dtype, *params)


class _Highway(torch.autograd.Function):
    """y = lerp(x, relu(x W_h^T + b_h), sigmoid(x W_t^T + b_t)) with both matrices in one GEMM
    in the compute dtype, the elementwise part in x's dtype: the arithmetic of `Highway`
    under autocast with one (B, F) x (F, 2F) GEMM per pass instead of two, and its backward
    written out (no per-op casts of the (B, 2F) intermediates)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, dtype: torch.dtype, w_h: torch.Tensor,
                b_h: torch.Tensor, w_t: torch.Tensor, b_t: torch.Tensor) -> torch.Tensor:
        size = x.shape[1]
        weights = torch.empty((2 * size, size), dtype=dtype, device=x.device)
        weights[:size].copy_(w_h)  # the cast autocast makes, written into one matrix
        weights[size:].copy_(w_t)
        xs = x.to(dtype)
        h = F.linear(xs, weights, torch.cat([b_h, b_t]).to(dtype))  # (B, 2F)
        transformed = torch.relu(h[:, :size]).to(x.dtype)
        gate = torch.sigmoid(h[:, size:]).to(x.dtype)
        ctx.save_for_backward(x, xs, weights, transformed, gate)
        ctx.weight_dtype = w_h.dtype
        return torch.lerp(x, transformed, gate)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, xs, weights, transformed, gate = ctx.saved_tensors
        size = x.shape[1]
        dh = torch.empty((x.shape[0], 2 * size), dtype=grad.dtype, device=grad.device)
        torch.mul(grad * gate, transformed > 0, out=dh[:, :size])  # relu'
        keep = 1 - gate
        torch.mul(grad * (transformed - x), gate * keep, out=dh[:, size:])  # sigmoid'
        dhs = dh.to(weights.dtype)
        # dx = dh W, computed as (W^T dh^T)^T: the faster orientation of this GEMM on CPU
        dx = grad * keep + (weights.t() @ dhs.t()).t()
        dweights = (dhs.t() @ xs).to(ctx.weight_dtype)  # (2F, F)
        dbias = dh.sum(dim=0)
        return (dx, None, dweights[:size], dbias[:size], dweights[size:], dbias[size:])


def highway(x: torch.Tensor, transform: torch.nn.Linear, gate: torch.nn.Linear,
            dtype: torch.dtype) -> torch.Tensor:
    """`discriminator.Highway` on x (B, F) with its matrix products in `dtype` (bf16 training)."""
    with torch.autocast(x.device.type, enabled=False):
        return _Highway.apply(x, dtype, transform.weight, transform.bias, gate.weight,
                              gate.bias)


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """`F.dropout`, its mask drawn on CPU as uniform >= p: the same distribution (keep with
    probability 1 - p, kept values scaled by 1 / (1 - p)), 3x faster than `bernoulli_` there
    (0.8 ms a step for the official D's 64 x 1720 features)."""
    if not training or p == 0 or x.device.type != "cpu":
        return F.dropout(x, p, training)
    keep = torch.rand(x.shape, device=x.device) >= p
    return x * (keep * (1.0 / (1.0 - p))).to(x.dtype)
