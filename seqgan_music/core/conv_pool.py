"""The discriminator's training arithmetic as explicit GEMMs: convolutions with max-over-time
pooling, and the highway layer.

Convolutions: one im2col matrix serves every filter width. Its rows are the windows of the
widest filter at each time step s of each sequence b, time-major ((s, b) order, zeros past the
end), its columns in the (w, E) order of the channels-last Conv2d weight (F, E, 1, w). Filter
widths run in groups of consecutive widths (`width_groups`), one GEMM per group on a strided
block of that matrix (no copy): the group's weights side by side, each zero-padded to the
group's widest filter, over the windows of its narrowest one; a window past a filter's last
valid position is masked to -inf before the max. Twelve small GEMMs of the official D become
five larger ones (a third more multiply-adds, all of them zeros, at 1.65x the GEMM rate), and
the pooling runs once per group. The compute dtype is bf16 under CPU autocast. The backward is
two more GEMMs per group on the pooling's gradient, split evenly between tied maxima as
`amax`'s backward does. The windows' gradients of all groups are summed by the GEMMs themselves
into one matrix of the same layout (each group's product added in float32 inside the GEMM,
rounded once to the compute dtype: no less accurate than autocast, which rounds each width's
input gradient and then their sum), then folded back onto the time steps (col2im) in x's
dtype, one add per offset. The same arithmetic as Conv2d + amax in autograd (the zero padding
adds exact zeros), without oneDNN's convolution backward (slow at these small shapes),
autocast's per-call casts, or one graph node per op.
"""

from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=64)
def width_groups(widths: tuple[int, ...], filters: tuple[int, ...], length: int,
                 slack: float = 1.5) -> tuple[tuple[int, ...], ...]:
    """Consecutive filter widths that run as one GEMM (indices into `widths`): a group grows
    while its padded work (its narrowest filter's windows times its widest filter's inputs,
    for all its filters) stays within `slack` times its widths' own work. For the official D
    (widths 1..10, 15, 20 at T = 20): (1, 2, 3), (4..7), (8, 9, 10), (15), (20). A slack of
    1.5 measured fastest on a 2-core AMX CPU (1.0, one width a GEMM, was 8% slower a step;
    2.0 in between; 3.0, two groups, slower than 1.0)."""
    def padded(group: list[int]) -> int:
        windows = length - min(widths[i] for i in group) + 1
        return windows * max(widths[i] for i in group) * sum(filters[i] for i in group)

    def own(group: list[int]) -> int:
        return sum((length - widths[i] + 1) * widths[i] * filters[i] for i in group)

    groups: list[list[int]] = []
    for i in range(len(widths)):
        if groups and padded([*groups[-1], i]) <= slack * own([*groups[-1], i]):
            groups[-1].append(i)
        else:
            groups.append([i])
    return tuple(tuple(group) for group in groups)


@functools.lru_cache(maxsize=64)
def _invalid_windows(widths: tuple[int, ...], filters: tuple[int, ...], length: int,
                     dtype: torch.dtype, device: torch.device) -> torch.Tensor | None:
    """(k, 1, F_g) additive mask of the last k = widest - narrowest windows of a group of
    `filters[i]` filters of width `widths[i]` (the only windows where some filter runs past the
    end): -inf where a window starts past its filter's last valid position, 0 elsewhere; None
    when the group has one width."""
    if len(set(widths)) == 1:
        return None
    windows = length - min(widths) + 1
    tail = max(widths) - min(widths)
    valid = torch.tensor([length - w + 1 for w in widths]).repeat_interleave(
        torch.tensor(filters))
    starts = torch.arange(windows - tail, windows).view(-1, 1, 1)
    mask = torch.zeros((tail, 1, len(valid)), dtype=dtype)
    return mask.masked_fill_(starts >= valid, float("-inf")).to(device)


class _ConvMaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, dtype: torch.dtype, *params: torch.Tensor
                ) -> torch.Tensor:
        weights, biases = params[0::2], params[1::2]
        batch, length, dim = x.shape
        widths = tuple(int(weight.shape[3]) for weight in weights)
        filters = tuple(int(weight.shape[0]) for weight in weights)
        cols = _windows(x, max(widths), dtype)
        groups = width_groups(widths, filters, length)
        best, saved = [], [cols]
        for group in groups:
            wide = max(widths[i] for i in group)
            windows = length - min(widths[i] for i in group) + 1
            # (F_g, wide * E): each width's (F, w * E) weight in (w, E) order, zero-padded
            matrix = x.new_zeros((sum(filters[i] for i in group), wide * dim), dtype=dtype)
            row = 0
            for i in group:
                matrix[row : row + filters[i], : widths[i] * dim] = (
                    weights[i].permute(0, 2, 3, 1).reshape(filters[i], -1))
                row += filters[i]
            y = (cols[: windows * batch, : wide * dim] @ matrix.t()).view(windows, batch, -1)
            mask = _invalid_windows(tuple(widths[i] for i in group),
                                    tuple(filters[i] for i in group), length, dtype, x.device)
            if mask is not None:  # a window past a filter's last valid position never wins
                y[windows - mask.shape[0]:] += mask
            best.append(y.amax(dim=0))  # (B, F_g): max over the windows
            # the windows that reach the maximum, found while y is in cache (for the backward)
            ties = _same_bits(y, best[-1])  # (windows, B, F_g)
            saved += [matrix, ties, ties.view(torch.uint8).sum(dim=0, dtype=torch.int16)]
        ctx.save_for_backward(*saved)
        ctx.shape = x.shape
        ctx.groups = groups
        ctx.weight_shapes = [(w.shape, w.stride(), w.dtype) for w in weights]
        return torch.cat(best, dim=1).to(x.dtype) + torch.cat(biases)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        batch, length, dim = ctx.shape
        cols, *saved = ctx.saved_tensors
        widest = cols.shape[1] // dim
        dcols = torch.zeros_like(cols)  # the windows' gradients, in the compute dtype
        dweights: list[torch.Tensor | None] = [None] * len(ctx.weight_shapes)
        sizes = [saved[3 * k].shape[0] for k in range(len(ctx.groups))]
        for k, g in enumerate(grad.split(sizes, dim=1)):
            matrix, ties, count = saved[3 * k : 3 * k + 3]
            rows = ties.shape[0] * batch
            wide = matrix.shape[1] // dim
            # amax's backward: g split evenly among the windows that reach the maximum
            dy = _masked(ties, (g / count).to(matrix.dtype)).view(rows, -1)  # (rows, F_g)
            dmatrix = dy.t() @ cols[:rows, : wide * dim]  # (F_g, wide * E)
            dcols[:rows, : wide * dim].addmm_(dy, matrix)  # accumulated by the GEMM itself
            row = 0
            for i in ctx.groups[k]:
                shape, stride, wdtype = ctx.weight_shapes[i]
                filters, width = shape[0], shape[3]
                dweight = dmatrix[row : row + filters, : width * dim].to(wdtype)
                # (F, 1, w, E) -> (F, E, 1, w): the channels-last layout of the weight
                dweight = dweight.view(filters, 1, width, dim).permute(0, 3, 1, 2)
                dweights[i] = dweight if dweight.stride() == stride else dweight.contiguous()
                row += filters
        # col2im: the window at s, offset j, is time step s + j
        dcols = dcols.view(length, batch, widest, dim).to(grad.dtype)
        dx = dcols[:, :, 0].clone()  # (T, B, E)
        for j in range(1, widest):
            dx[j:].add_(dcols[: length - j, :, j])
        dbiases = grad.sum(dim=0).split([shape[0] for shape, _, _ in ctx.weight_shapes])
        grads = [g for pair in zip(dweights, dbiases, strict=True) for g in pair]
        return (dx.transpose(0, 1), None, *grads)


def conv_max_pool(x: torch.Tensor, convs: list[torch.nn.Conv2d], dtype: torch.dtype
                  ) -> torch.Tensor:
    """max over time of each conv (widths (1, w)) of x (B, T, E): (B, sum F) in x's dtype,
    computed in `dtype` (the GEMMs; pooling and bias added in x's dtype)."""
    params = [p for conv in convs for p in (conv.weight, conv.bias)]
    with torch.autocast(x.device.type, enabled=False):
        return _ConvMaxPool.apply(x, dtype, *params)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU runs bf16 GEMMs natively (AVX512-BF16 or AMX) through oneDNN."""
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "").split()
    except OSError:  # pragma: no cover - not Linux: trust oneDNN
        return True
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _float32_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b of two bf16 matrices with a float32 result: the bf16 GEMM's products and float32
    sums, without its final rounding to bf16 (rounding this result to bf16 gives the bf16
    GEMM's output bit for bit, measured on the highway's shapes). Runs as a float32 GEMM of the
    (exactly widened) operands in oneDNN's bf16 "fpmath" mode, which rounds operands to bf16
    inside the kernel (a no-op here) and keeps the AMX / AVX512-BF16 speed, so no bf16 result
    is written and widened afterwards: for the official D's highway weight gradient (3,440 x
    1,720) 1.4 ms less a training step. The mode is a process-wide oneDNN setting, set for
    this one call and restored: a float32 matmul on another Python thread at that instant
    would also round its operands to bf16. Only on CPUs with native bf16 (elsewhere oneDNN
    ignores the mode and the float32 GEMM would be slow: see `_float32_products`)."""
    matmul = torch.backends.mkldnn.matmul  # type: ignore[attr-defined]
    before = matmul.fp32_precision
    matmul.fp32_precision = "bf16"
    try:
        return a.float() @ b.float()
    finally:
        matmul.fp32_precision = before


@functools.cache
def _float32_products() -> bool:
    """Whether `_float32_product` runs at bf16 speed here: a CPU with native bf16 and a torch
    with the per-operation fpmath setting (2.9 and later)."""
    matmul = getattr(torch.backends.mkldnn, "matmul", None)
    return hasattr(matmul, "fp32_precision") and cpu_has_native_bf16()


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
        ctx.float32_product = (dtype == torch.bfloat16 and w_h.dtype == torch.float32
                               and x.device.type == "cpu" and _float32_products())
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
        if ctx.float32_product:  # (2F, F): float32 sums of the bf16 products, not rounded
            dweights = _float32_product(dhs.t(), xs)
        else:
            dweights = (dhs.t() @ xs).to(ctx.weight_dtype)
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
