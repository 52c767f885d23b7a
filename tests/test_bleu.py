"""Tests of `seqgan_music.bleu`: exact agreement with NLTK's sentence_bleu (Texygen convention)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from seqgan_music.eval.bleu import (
    BleuReference,
    bleu,
    self_bleu,
    self_bleu_scores,
    sentence_bleu_scores,
)

TOL = 1e-9


def nltk_scores(hypotheses: list[Any], references: list[Any], n: int) -> np.ndarray:
    """The reference implementation: NLTK's sentence_bleu with method1, one hypothesis at a time."""
    bleu_score = pytest.importorskip("nltk.translate.bleu_score")
    smooth = bleu_score.SmoothingFunction().method1
    weights = (1 / n,) * n
    return np.array(
        [
            float(
                bleu_score.sentence_bleu(references, h, weights=weights, smoothing_function=smooth)
            )
            for h in hypotheses
        ],
        dtype=np.float64,
    )


def nltk_self_scores(samples: list[Any], n: int, include_self: bool = False) -> np.ndarray:
    """Self-BLEU with NLTK: leave-one-out (correct) or with the sample among its references."""
    out = []
    for i, sample in enumerate(samples):
        refs = samples if include_self else samples[:i] + samples[i + 1 :]
        out.append(nltk_scores([sample], refs, n)[0])
    return np.array(out)


def random_sequences(
    rng: np.random.Generator, count: int, vocab: int, max_len: int, as_str: bool
) -> list[list[Any]]:
    """Random token lists with lengths 0..max_len (so some are empty or shorter than n)."""
    seqs = [
        rng.integers(0, vocab, size=int(rng.integers(0, max_len + 1))).tolist()
        for _ in range(count)
    ]
    if as_str:
        return [[f"tok{t}" for t in s] for s in seqs]
    return seqs


@pytest.mark.parametrize("as_str", [False, True], ids=["int", "str"])
@pytest.mark.parametrize("seed", range(4))
def test_matches_nltk_on_random_data(seed: int, as_str: bool) -> None:
    pytest.importorskip("nltk")
    rng = np.random.default_rng(seed)
    vocab = [6, 8, 12, 20][seed]
    references = random_sequences(rng, 12, vocab, 10, as_str)
    hypotheses = random_sequences(rng, 25, vocab, 10, as_str)
    hypotheses += [[], references[0][:1], list(references[1])]  # empty, length 1, exact copy
    table = BleuReference(references, max_n=5)
    for n in range(1, 6):
        expected = nltk_scores(hypotheses, references, n)
        np.testing.assert_allclose(table.sentence_scores(hypotheses, n), expected, rtol=0, atol=TOL)
        np.testing.assert_allclose(
            sentence_bleu_scores(hypotheses, references, n), expected, rtol=0, atol=TOL
        )
        assert bleu(hypotheses, references, n) == pytest.approx(expected.mean(), abs=TOL)
        assert table.score(hypotheses, n) == pytest.approx(expected.mean(), abs=TOL)
    by_order = table.sentence_scores_by_order(hypotheses, [2, 3, 4, 5])
    for n, scores in by_order.items():
        np.testing.assert_array_equal(scores, table.sentence_scores(hypotheses, n))


def test_corner_cases_match_nltk() -> None:
    pytest.importorskip("nltk")
    references = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]]
    hypotheses = [
        [],  # empty: score 0
        [1],  # shorter than n
        [1, 2],
        [99, 98, 97],  # no unigram match: score 0
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],  # length 12: tie between 11 and 13 -> 11
        [2, 2, 2, 2, 2, 2, 2],  # clipping
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],  # longer than every reference
    ]
    for n in range(1, 6):
        np.testing.assert_allclose(
            sentence_bleu_scores(hypotheses, references, n),
            nltk_scores(hypotheses, references, n),
            rtol=0,
            atol=TOL,
        )
    assert sentence_bleu_scores([[]], references, 4)[0] == 0.0


def test_empty_and_mixed_references_match_nltk() -> None:
    pytest.importorskip("nltk")
    references: list[list[Any]] = [[], [1, "1", 2.0], [3]]
    hypotheses: list[list[Any]] = [[1, 2], ["1", 3], [2, 1, "1"], [True, 3], []]
    for n in range(1, 5):
        np.testing.assert_allclose(
            sentence_bleu_scores(hypotheses, references, n),
            nltk_scores(hypotheses, references, n),
            rtol=0,
            atol=TOL,
        )
    only_empty = sentence_bleu_scores([[1, 2], []], [[], []], 2)
    np.testing.assert_array_equal(only_empty, [0.0, 0.0])


def test_token_kinds_do_not_match_each_other() -> None:
    """Integer hypotheses against string references (and back) never match, as in NLTK."""
    assert bleu([[1, 2, 3]], [["1", "2", "3"]], 2) == 0.0
    assert bleu([["1", "2", "3"]], [[1, 2, 3]], 2) == 0.0
    assert bleu([[1, 2, 3]], [[1, 2, 3]], 3) == pytest.approx(1.0)


def test_fixed_length_arrays_equal_lists() -> None:
    pytest.importorskip("nltk")
    rng = np.random.default_rng(7)
    hyps = rng.integers(0, 7, size=(15, 6))
    refs = rng.integers(0, 7, size=(10, 6)).astype(np.int32)
    for n in (2, 3, 4):
        expected = nltk_scores(hyps.tolist(), refs.tolist(), n)
        np.testing.assert_allclose(sentence_bleu_scores(hyps, refs, n), expected, atol=TOL, rtol=0)
        as_arrays = sentence_bleu_scores(list(hyps), list(refs), n)  # list of 1-D arrays
        np.testing.assert_allclose(as_arrays, expected, atol=TOL, rtol=0)
    str_grid = np.array([["a", "b", "c"], ["b", "c", "d"]])
    assert bleu(str_grid, [["a", "b", "c", "d"]], 2) == pytest.approx(
        float(nltk_scores(str_grid.tolist(), [["a", "b", "c", "d"]], 2).mean()), abs=TOL
    )


def test_variable_length_numpy_arrays() -> None:
    pytest.importorskip("nltk")
    rng = np.random.default_rng(3)
    hyps = [rng.integers(0, 6, size=k) for k in (0, 1, 3, 5, 8)]
    refs = [rng.integers(0, 6, size=k) for k in (2, 4, 7)]
    expected = nltk_scores([h.tolist() for h in hyps], [r.tolist() for r in refs], 3)
    np.testing.assert_allclose(sentence_bleu_scores(hyps, refs, 3), expected, atol=TOL, rtol=0)
    ragged = np.empty(len(hyps), dtype=object)
    ragged[:] = hyps
    np.testing.assert_allclose(sentence_bleu_scores(ragged, refs, 3), expected, atol=TOL, rtol=0)


def test_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    hyps = rng.integers(0, 8, size=(12, 7))
    refs = rng.integers(0, 8, size=(9, 7))
    expected = sentence_bleu_scores(hyps.tolist(), refs.tolist(), 4)
    got = sentence_bleu_scores(torch.from_numpy(hyps), torch.from_numpy(refs), 4)
    np.testing.assert_array_equal(got, expected)
    per_row = [torch.from_numpy(h[: 3 + i % 4]) for i, h in enumerate(hyps)]
    expected_rows = sentence_bleu_scores([h.tolist() for h in per_row], refs.tolist(), 4)
    np.testing.assert_array_equal(sentence_bleu_scores(per_row, refs, 4), expected_rows)
    assert self_bleu(torch.from_numpy(hyps), 3) == pytest.approx(self_bleu(hyps, 3), abs=0)


@pytest.mark.parametrize("as_str", [False, True], ids=["int", "str"])
def test_self_bleu_leaves_only_own_index_out(as_str: bool) -> None:
    pytest.importorskip("nltk")
    rng = np.random.default_rng(5)
    samples = random_sequences(rng, 14, 6, 9, as_str)
    samples += [list(samples[0]), list(samples[0]), list(samples[3])]  # identical copies
    samples += [[samples[1][0]] * 17 if samples[1] else ["x"] * 17]  # a unique length
    samples += [[]]
    for n in (2, 3, 4, 5):
        expected = nltk_self_scores(samples, n)
        np.testing.assert_allclose(self_bleu_scores(samples, n), expected, atol=TOL, rtol=0)
        assert self_bleu(samples, n) == pytest.approx(expected.mean(), abs=TOL)
    # Copies score each other: their own index is excluded, the other copy is not.
    scores = self_bleu_scores(samples, 4)
    if len(samples[0]) > 0:
        assert scores[0] == pytest.approx(1.0)


def test_self_bleu_differs_from_include_self_bug() -> None:
    pytest.importorskip("nltk")
    rng = np.random.default_rng(9)
    samples = random_sequences(rng, 12, 10, 8, as_str=False)
    buggy = nltk_self_scores(samples, 3, include_self=True)
    ours = self_bleu_scores(samples, 3)
    np.testing.assert_allclose(ours, nltk_self_scores(samples, 3), atol=TOL, rtol=0)
    assert np.all(ours <= buggy + TOL)
    assert abs(float(ours.mean()) - float(buggy.mean())) > 0.05


def test_self_bleu_subsampling() -> None:
    rng = np.random.default_rng(2)
    samples = rng.integers(0, 5, size=(30, 6))
    scores = self_bleu_scores(samples, 3)
    assert self_bleu(samples, 3, max_samples=None) == pytest.approx(scores.mean(), abs=1e-15)
    assert self_bleu(samples, 3, max_samples=100) == pytest.approx(scores.mean(), abs=1e-15)
    picked = np.random.default_rng(4).choice(30, size=10, replace=False)
    assert self_bleu(samples, 3, max_samples=10, seed=4) == pytest.approx(
        scores[picked].mean(), abs=1e-15
    )


def test_errors() -> None:
    refs = [[1, 2, 3]]
    with pytest.raises(ValueError, match="at least one"):
        BleuReference([])
    with pytest.raises(ValueError, match="at least one"):
        bleu([[1, 2]], np.empty((0, 4), dtype=np.int64))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n must be"):
            bleu([[1, 2]], refs, bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="n must be"):
            self_bleu([[1, 2], [2, 3]], bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_n"):
        BleuReference(refs, max_n=3).sentence_scores([[1, 2]], 4)
    with pytest.raises(ValueError, match="n must be"):
        BleuReference(refs, max_n=0)
    with pytest.raises(ValueError, match="at least one"):
        BleuReference(refs).score([], 2)
    with pytest.raises(ValueError, match="two samples"):
        self_bleu([[1, 2, 3]])
    with pytest.raises(ValueError, match="max_samples"):
        self_bleu([[1, 2], [2, 3]], 2, max_samples=0)
    with pytest.raises(TypeError, match="string"):
        bleu(["a b c"], [["a", "b"]], 2)
    with pytest.raises(ValueError, match="2-D array"):
        bleu(np.arange(5), refs, 2)
    assert sentence_bleu_scores([], refs, 2).shape == (0,)


# --- smoothings: method1 (NLTK's), none (Papineni) and nltk-3.2.1 (the official PG-BLEU reward) --

SMOOTHING_REFS = [[1, 2, 3, 4, 5]]


@pytest.mark.parametrize(
    ("hypothesis", "n", "expected"),
    [
        # every order matches: p = 3/5, 2/4, 1/3, BP 1 -> (0.1)^(1/3) under all three smoothings
        ([1, 2, 3, 9, 9], 3, {"method1": 0.1 ** (1 / 3), "nltk-3.2.1": 0.1 ** (1 / 3),
                              "none": 0.1 ** (1 / 3)}),
        # no trigram: p = 3/5, 1/4, 0/3. NLTK 3.2.1 drops order 3 and keeps weight 1/3 on the
        # others: (3/5 * 1/4)^(1/3); method1 uses 0.1/3 for it; Papineni gives 0.
        ([1, 2, 9, 3, 9], 3, {"method1": (0.6 * 0.25 * 0.1 / 3) ** (1 / 3),
                              "nltk-3.2.1": (0.6 * 0.25) ** (1 / 3), "none": 0.0}),
        # unigrams only: (3/5)^(1/3) = 0.8434 under NLTK 3.2.1 (why random tokens scored ~0.95)
        ([3, 1, 9, 9, 5], 3, {"method1": (0.6 * 0.025 * 0.1 / 3) ** (1 / 3),
                              "nltk-3.2.1": 0.6 ** (1 / 3), "none": 0.0}),
        # short hypothesis: BP exp(1 - 5/4) times (4/4 * 1/3)^(1/2) (its second bigram misses)
        ([1, 2, 4, 5], 2, {"method1": np.exp(-0.25) * (2 / 3) ** 0.5,
                           "nltk-3.2.1": np.exp(-0.25) * (2 / 3) ** 0.5,
                           "none": np.exp(-0.25) * (2 / 3) ** 0.5}),
        # no unigram match: 0 under every smoothing
        ([7, 8, 9], 3, {"method1": 0.0, "nltk-3.2.1": 0.0, "none": 0.0}),
    ],
)
def test_smoothings_match_hand_computed_values(
    hypothesis: list[int], n: int, expected: dict[str, float]
) -> None:
    reference = BleuReference(SMOOTHING_REFS, max_n=4)
    for smoothing, value in expected.items():
        got = reference.sentence_scores([hypothesis], n, smoothing=smoothing)[0]
        assert got == pytest.approx(value, abs=1e-12), smoothing
        assert bleu([hypothesis], SMOOTHING_REFS, n, smoothing=smoothing) == pytest.approx(
            value, abs=1e-12
        )


@pytest.mark.parametrize("seed", range(3))
def test_smoothing_none_matches_nltk_without_smoothing(seed: int) -> None:
    """Current NLTK without a smoothing function puts 2.2e-308 for a zero precision: its score is
    then below 1e-70, ours exactly 0; where every order matches both are the same number."""
    bleu_score = pytest.importorskip("nltk.translate.bleu_score")
    rng = np.random.default_rng(seed)
    refs = random_sequences(rng, 30, 6, 12, as_str=False)
    hyps = random_sequences(rng, 40, 6, 12, as_str=False)
    ours = sentence_bleu_scores(hyps, refs, 3, smoothing="none")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NLTK warns about every zero order
        theirs = np.array([float(bleu_score.sentence_bleu(refs, h, weights=(1 / 3,) * 3))
                           for h in hyps])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-60)
    assert (ours > 0).any() and (ours == 0).any()


def test_nltk_321_smoothing_on_sequences_of_equal_length() -> None:
    """Random tokens against synthetic-like references: the NLTK 3.2.1 score is the geometric
    mean over the matching orders only, so it never falls below method1's."""
    rng = np.random.default_rng(0)
    refs = rng.integers(0, 50, size=(200, 20))
    hyps = rng.integers(0, 50, size=(30, 20))
    reference = BleuReference(refs, max_n=3)
    old = reference.sentence_scores(hyps, 3, smoothing="nltk-3.2.1")
    new = reference.sentence_scores(hyps, 3, smoothing="method1")
    assert (old >= new).all() and (old > new).any()
    by_order = reference.sentence_scores_by_order(hyps, [2, 3], smoothing="nltk-3.2.1")
    np.testing.assert_array_equal(by_order[3], old)


def test_unknown_smoothing_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match=r"smoothing must be one of method1, nltk-3.2.1, none"):
        bleu([[1, 2]], [[1, 2]], 2, smoothing="method7")
