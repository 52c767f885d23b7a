"""The discriminator's training-path convolutions (conv_pool.py) against Conv2d + amax."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from seqgan_music.config import DiscriminatorConfig
from seqgan_music.core.conv_pool import conv_max_pool
from seqgan_music.core.discriminator import Discriminator
from seqgan_music.runtime.allocator import keep_freed_memory

CONFIG = DiscriminatorConfig(embedding_dim=8, filter_widths=[1, 2, 3, 6], num_filters=[3, 4, 5,
                                                                                      2])


def reference_forward(d: Discriminator, tokens: torch.Tensor) -> torch.Tensor:
    """The discriminator as plain Conv2d layers and amax (the path inference still takes)."""
    x = d._embed(tokens)
    return d.classify([conv(x).amax(dim=(2, 3)) for conv in d.convs])


def tokens_with_ties(vocab: int = 3) -> torch.Tensor:
    """Short vocabulary and repeated tokens: identical windows, tied maxima over time."""
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, vocab, (5, 6), generator=gen)
    tokens[0] = 2  # one token throughout: every window of a width ties
    return tokens


def assert_float32_path_equals_conv2d(d: Discriminator, ref: Discriminator,
                                      tokens: torch.Tensor, grad: torch.Tensor) -> None:
    """conv_max_pool in float32 on d against Conv2d + amax on its copy ref: outputs and every
    parameter's gradient (none where the reference has none)."""
    pooled = conv_max_pool(d.embedding(tokens), d.conv_layers(), torch.float32)
    x = ref._embed(tokens)
    expected = torch.cat([conv(x).amax(dim=(2, 3)) for conv in ref.convs], dim=1)
    assert torch.allclose(pooled, expected, atol=1e-6)
    (pooled * grad).sum().backward()
    (expected * grad).sum().backward()
    for (name, mine), theirs in zip(d.named_parameters(), ref.parameters(), strict=True):
        if theirs.grad is None:
            assert mine.grad is None, name
            continue
        assert mine.grad is not None and mine.grad.shape == theirs.grad.shape, name
        assert torch.allclose(mine.grad, theirs.grad, atol=1e-5), name


@pytest.mark.parametrize("channels_last", [True, False])
def test_float32_outputs_and_gradients_equal_conv2d(channels_last: bool) -> None:
    torch.manual_seed(0)
    d = Discriminator(CONFIG, vocab_size=3, seq_len=6)
    if not channels_last:
        for conv in d.conv_layers():
            conv.weight.data = conv.weight.data.contiguous()
    assert_float32_path_equals_conv2d(d, copy.deepcopy(d), tokens_with_ties(),
                                      torch.randn(5, sum(CONFIG.num_filters)))
    # gradients are laid out as their weights (no re-layout by autograd)
    assert d.convs[1].weight.grad is not None
    assert d.convs[1].weight.grad.stride() == d.convs[1].weight.stride()


def test_width_groups_are_consecutive_and_cover_every_width() -> None:
    from seqgan_music.core.conv_pool import width_groups
    official = width_groups((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20),
                            (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160), 20)
    assert official == ((0, 1, 2), (3, 4, 5, 6), (7, 8, 9), (10,), (11,))
    assert width_groups((1, 2, 3), (5, 5, 5), 3, slack=1.0) == ((0,), (1,), (2,))
    assert width_groups((2, 2), (5, 5), 6) == ((0, 1),)  # one width: no padding at all


OFFICIAL_WIDTHS = DiscriminatorConfig(embedding_dim=4, filter_widths=[*range(1, 11), 15, 20],
                                      num_filters=[2, 4, 4, 4, 4, 2, 2, 2, 2, 2, 3, 3])


def official_widths_case() -> tuple[Discriminator, Discriminator, torch.Tensor, torch.Tensor]:
    """The official D's twelve widths at T = 20 with few filters (five width groups, padded and
    masked windows), a copy of it, tokens with ties over every window, an output gradient."""
    torch.manual_seed(0)
    d = Discriminator(OFFICIAL_WIDTHS, vocab_size=3, seq_len=20)
    tokens = torch.randint(0, 3, (6, 20), generator=torch.Generator().manual_seed(2))
    tokens[0] = 1
    return d, copy.deepcopy(d), tokens, torch.randn(6, sum(OFFICIAL_WIDTHS.num_filters))


def test_grouped_widths_equal_conv2d_on_the_official_widths() -> None:
    assert_float32_path_equals_conv2d(*official_widths_case())


def test_grouped_widths_in_bf16_equal_one_gemm_per_width() -> None:
    """bf16: the grouped GEMMs (zero-padded, masked) give the per-width GEMMs' maxima, the same
    tied windows, and their gradients up to the rounding of the windows' gradient sums."""
    d, ref, tokens, grad = official_widths_case()
    pooled = conv_max_pool(d.embedding(tokens), d.conv_layers(), torch.bfloat16)
    x = ref.embedding(tokens)
    alone = torch.cat([conv_max_pool(x, [conv], torch.bfloat16) for conv in ref.conv_layers()],
                      dim=1)
    assert torch.equal(pooled, alone)
    (pooled * grad).sum().backward()
    (alone * grad).sum().backward()
    for (name, mine), theirs in zip(d.named_parameters(), ref.parameters(), strict=True):
        if not name.startswith(("embedding", "convs")):
            continue
        assert mine.grad is not None and theirs.grad is not None, name
        if name.startswith("convs"):  # the same products, in one GEMM or another
            assert torch.allclose(mine.grad, theirs.grad, rtol=1e-6, atol=1e-6), name
        else:  # windows' gradients rounded to bf16 once a group instead of once a width
            error = float((mine.grad - theirs.grad).norm() / theirs.grad.norm())
            assert error < 2 ** -7, name


def test_only_bf16_training_takes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import seqgan_music.core.discriminator as models
    calls: list[torch.dtype] = []

    def counting(x: torch.Tensor, convs: list[torch.nn.Conv2d], dtype: torch.dtype
                 ) -> torch.Tensor:
        calls.append(dtype)
        return conv_max_pool(x, convs, dtype)

    monkeypatch.setattr(models, "conv_max_pool", counting)
    torch.manual_seed(0)
    d = Discriminator(CONFIG, vocab_size=8, seq_len=6).eval()
    tokens = torch.randint(0, 8, (7, 6))
    with torch.no_grad():
        inference = d(tokens)
    assert torch.equal(d(tokens).detach(), inference)  # float32 training: Conv2d
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with torch.no_grad():
            d(tokens)  # bf16 inference: Conv2d
        assert calls == []
        d(tokens)  # bf16 training: the explicit GEMMs
    assert calls == [torch.bfloat16]


def test_bfloat16_autocast_matches_float32_within_bf16_tolerance() -> None:
    torch.manual_seed(0)
    d = Discriminator(CONFIG, vocab_size=8, seq_len=6).eval()
    tokens = torch.randint(0, 8, (16, 6))
    with torch.no_grad():
        exact = reference_forward(d, tokens)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast = d(tokens).float()
        with torch.no_grad():
            old = d(tokens).float()  # the Conv2d path under autocast
    fast_value = fast.detach()
    scale = float(exact.abs().max())
    assert float((fast_value - exact).abs().max()) < 0.02 * scale
    assert float((old - exact).abs().max()) < 0.02 * scale
    fast.sum().backward()
    for name, p in d.named_parameters():
        assert p.grad is not None and p.grad.dtype == torch.float32, name


def test_a_few_training_steps_match_the_conv2d_path() -> None:
    """Same seed, same dropout masks: Adam steps through either path land on the same weights."""
    torch.manual_seed(0)
    d = Discriminator(CONFIG, vocab_size=8, seq_len=6)
    ref = copy.deepcopy(d)
    tokens = torch.randint(0, 8, (12, 6))
    labels = (torch.arange(12) % 2).float()
    def fast(t: torch.Tensor) -> torch.Tensor:  # the training path in float32
        return d.classify([conv_max_pool(d.embedding(t), d.conv_layers(), torch.float32)])

    for model, forward in ((d, fast), (ref, lambda t: reference_forward(ref, t))):
        torch.manual_seed(1)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(4):
            loss = F.binary_cross_entropy_with_logits(forward(tokens), labels)
            optimizer.zero_grad(set_to_none=True)
            (loss + model.l2_penalty()).backward()
            optimizer.step()
    for (name, mine), theirs in zip(d.named_parameters(), ref.parameters(), strict=True):
        assert torch.allclose(mine, theirs, atol=1e-5), name
    assert d.state_dict().keys() == ref.state_dict().keys()


def test_keep_freed_memory_is_set_once() -> None:
    first = keep_freed_memory()
    assert isinstance(first, bool)
    assert keep_freed_memory() is first


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_bitwise_mask_helpers_equal_float_ops(dtype: torch.dtype) -> None:
    from seqgan_music.core.conv_pool import _masked, _same_bits
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(-3, 4, (4, 5, 6), generator=gen).to(dtype)
    b = a.amax(dim=1, keepdim=True)
    assert torch.equal(_same_bits(a, b), a == b)
    values = torch.randn(4, 1, 6, generator=gen).to(dtype)
    assert torch.equal(_masked(a == b, values), torch.where(a == b, values, 0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_highway_equals_the_module_under_autocast(dtype: torch.dtype) -> None:
    """conv_pool.highway (one GEMM for both matrices, backward written out) against
    models.Highway run by autograd (under bf16 autocast for bf16): outputs and all gradients."""
    from seqgan_music.core.conv_pool import highway
    from seqgan_music.core.discriminator import Highway
    torch.manual_seed(0)
    module = Highway(24, gate_bias=-1.0)
    fused = copy.deepcopy(module)
    x = torch.randn(9, 24).relu().requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    grad = torch.randn(9, 24)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
        expected = module(x)
    out = highway(x2, fused.transform, fused.gate, dtype)
    assert out.dtype == torch.float32
    (expected * grad).sum().backward()
    (out * grad).sum().backward()
    # bf16: the same rounded products; the gate's derivative is taken in float32 here (autograd
    # takes it in bf16), so gradients agree to a few bf16 units of the largest value
    tol = 1e-6 if dtype == torch.float32 else 0.0
    assert float((out - expected).detach().abs().max()) <= tol
    pairs = [(x.grad, x2.grad)] + [(p.grad, q.grad) for p, q in
                                    zip(module.parameters(), fused.parameters(), strict=True)]
    for theirs, mine in pairs:
        assert theirs is not None and mine is not None
        assert mine.dtype == torch.float32 and mine.shape == theirs.shape
        scale = float(theirs.abs().max())
        limit = 1e-5 * scale if dtype == torch.float32 else 2 ** -6 * scale
        assert float((mine - theirs).abs().max()) <= limit


def test_float32_product_is_the_bf16_gemm_before_its_last_rounding() -> None:
    """The highway's weight gradient as float32 sums of bf16 products: rounded to bf16 it is the
    bf16 GEMM's output bit for bit, unrounded it is closer to the exact product, and oneDNN's
    process-wide fpmath setting is back as it was afterwards (also after an error)."""
    from seqgan_music.core import conv_pool
    if not conv_pool._float32_products():
        pytest.skip("no native bf16 or no fpmath setting in this torch")
    matmul = torch.backends.mkldnn.matmul  # type: ignore[attr-defined]
    before = matmul.fp32_precision
    gen = torch.Generator().manual_seed(0)
    dh = torch.randn(64, 344, generator=gen).bfloat16()
    x = torch.randn(64, 172, generator=gen).relu().bfloat16()
    product = conv_pool._float32_product(dh.t(), x)
    assert product.dtype == torch.float32 and matmul.fp32_precision == before
    assert torch.equal(product.bfloat16(), dh.t() @ x)
    exact = dh.double().t() @ x.double()
    assert (product.double() - exact).abs().max() < (dh.t() @ x).double().sub(exact).abs().max()
    with pytest.raises(RuntimeError):
        conv_pool._float32_product(dh.t(), x.t())  # mismatched shapes
    assert matmul.fp32_precision == before
    # a float32 product outside it keeps full float32 operands
    a, b = torch.randn(8, 8, generator=gen), torch.randn(8, 8, generator=gen)
    assert torch.allclose(a @ b, a.double().mm(b.double()).float(), rtol=1e-6, atol=1e-6)


def test_highway_weight_gradient_takes_the_float32_sums_in_bf16_training(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In bf16 training on a CPU with native bf16 the highway's weight gradients are the
    unrounded float32 sums; rounded to bf16 they equal the bf16 GEMM's gradients."""
    from seqgan_music.core import conv_pool
    from seqgan_music.core.discriminator import Highway
    if not conv_pool._float32_products():
        pytest.skip("no native bf16 or no fpmath setting in this torch")
    torch.manual_seed(0)
    fused, plain = Highway(48, gate_bias=0.0), Highway(48, gate_bias=0.0)
    plain.load_state_dict(fused.state_dict())
    x = torch.randn(16, 48).relu()
    grad = torch.randn(16, 48)
    (conv_pool.highway(x, fused.transform, fused.gate, torch.bfloat16) * grad).sum().backward()
    monkeypatch.setattr(conv_pool, "_float32_products", lambda: False)
    (conv_pool.highway(x, plain.transform, plain.gate, torch.bfloat16) * grad).sum().backward()
    for mine, rounded in [(fused.transform.weight.grad, plain.transform.weight.grad),
                          (fused.gate.weight.grad, plain.gate.weight.grad)]:
        assert mine is not None and rounded is not None
        assert torch.equal(mine.bfloat16().float(), rounded)
        assert not torch.equal(mine, rounded)  # not rounded: more bits than bf16


def test_dropout_keeps_one_minus_p_scaled_and_is_identity_in_eval() -> None:
    from seqgan_music.core.conv_pool import dropout
    torch.manual_seed(0)
    x = torch.ones(400, 500)
    out = dropout(x, 0.25, training=True)
    kept = out != 0
    assert abs(float(kept.float().mean()) - 0.75) < 0.005  # 200,000 draws: sd 0.001
    assert torch.equal(out[kept], torch.full_like(out[kept], 1 / 0.75))
    assert dropout(x, 0.25, training=False) is x
    assert dropout(x, 0.0, training=True) is x
    leaf = torch.randn(30, 40, requires_grad=True)
    y = dropout(leaf, 0.5, training=True)
    y.sum().backward()
    assert leaf.grad is not None
    assert torch.equal(leaf.grad, (y.detach() != 0).float() * 2.0)  # gradient through kept only
    torch.manual_seed(3)
    first = dropout(x, 0.25, training=True)
    torch.manual_seed(3)
    assert torch.equal(dropout(x, 0.25, training=True), first)  # seeded by torch's generator
