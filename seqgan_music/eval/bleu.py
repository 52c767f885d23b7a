"""Fast sentence-level BLEU and Self-BLEU that match NLTK exactly (the SeqGAN / Texygen metric).

BLEU (Papineni, Roukos, Ward and Zhu, 2002, "BLEU: a Method for Automatic Evaluation of Machine
Translation", ACL 2002) as SeqGAN (Yu et al., 2017) and the Texygen benchmark (Zhu et al., 2018)
report it: every hypothesis is scored on its own against the *whole* reference set with
``nltk.translate.bleu_score.sentence_bleu(references, hypothesis, weights=(1/n,)*n,
smoothing_function=SmoothingFunction().method1)``, and the scores are averaged. Self-BLEU scores
every sample against all the *other* samples.

Objects:
    TokenSequence: one sequence of tokens (ints or hashable objects such as strings).
    SequenceBatch: a collection of sequences, a 2-D array or a 2-D tensor.
    BleuReference: statistics of a reference set, computed once and reused for any number of
        hypothesis sets and orders ``n <= max_n``.
    sentence_bleu_scores: BLEU-n of every hypothesis (a float64 array).
    bleu: the mean of :func:`sentence_bleu_scores` (the Texygen number).
    self_bleu_scores: Self-BLEU-n of every sample (a float64 array).
    self_bleu: the mean of :func:`self_bleu_scores`, optionally on a subsample.

Every corner case of NLTK 3.x is reproduced, so results agree with the NLTK loop to ~1e-15:

* modified precision ``p_k``: hypothesis k-gram counts clipped by the *maximum* count of that
  k-gram over the references; its denominator is ``max(1, len(hyp) - k + 1)``, so a hypothesis
  shorter than ``k`` gets ``0 / 1``;
* method1 smoothing: a precision with numerator 0 becomes ``0.1 / denominator``;
* if the unigram numerator is 0 (this includes the empty hypothesis) the score is exactly 0;
* brevity penalty with the closest reference length, ties going to the shorter reference:
  ``1`` if ``len(hyp) > r``, ``0`` if ``len(hyp) == 0``, else ``exp(1 - r / len(hyp))``;
* ``BLEU = BP * exp(sum_k (1/n) * log p_k)``.

Three smoothings (``smoothing=``): ``"method1"`` (the default, above); ``"none"`` (Papineni's
BLEU: 0 as soon as one order has no match; a current NLTK without a smoothing function returns
a number below 1e-70 there); ``"nltk-3.2.1"``, the unsmoothed ``sentence_bleu`` of NLTK 3.2.1
(2016), which the official SeqGAN PG-BLEU reward called: its ``method0`` drops every order with
a zero numerator from the sum, so the remaining orders keep their weight ``1/n`` and the score is
``BP * prod_{k: m_k > 0} p_k^(1/n)`` (still 0 when no unigram matches). Dropping zero orders
makes a hypothesis that shares no bigram with the references score ``p_1^(1/n)`` (random tokens
about 0.95 for BLEU-3 on the synthetic data), the reward the paper's PG-BLEU baseline trained on.

Speed comes from the fact that ``max over references of count_ref(g)`` depends only on the
reference set: it is tabulated once per n-gram with numpy, then every hypothesis n-gram is clipped
by a table lookup. N-grams get small integer ids by progressive pairing (the id of the
``(k-1)``-gram combined with the next token, renumbered with ``np.unique``), so the whole
computation is a handful of sorts over the flat token arrays, with no Python loop over
hypotheses or references. Only numpy is needed at runtime; NLTK is used by the tests alone.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from seqgan_music.config import SMOOTHINGS

__all__ = [
    "SMOOTHINGS",
    "BleuReference",
    "SequenceBatch",
    "TokenSequence",
    "bleu",
    "self_bleu",
    "self_bleu_scores",
    "sentence_bleu_scores",
]

TokenSequence: TypeAlias = Sequence[Hashable] | npt.NDArray[Any]
"""One sequence of tokens: a list/tuple of ints or strings, a 1-D array or a 1-D tensor."""

SequenceBatch: TypeAlias = Iterable[TokenSequence] | npt.NDArray[Any]
"""Many sequences: an iterable of :data:`TokenSequence` (lengths may differ) or a 2-D
array/tensor of shape ``(num_sequences, length)``."""

_IntArray: TypeAlias = npt.NDArray[np.int64]
_FloatArray: TypeAlias = npt.NDArray[np.float64]

_EPSILON = 0.1
"""Epsilon of NLTK's ``SmoothingFunction().method1`` (its default)."""

# SMOOTHINGS: the accepted values of ``smoothing`` (see the module docstring); defined with the
# configuration, which checks ``train.pg_bleu_smoothing`` against them

_UNK = -1
"""Id of a token (or n-gram) that never occurs in the references."""

_INT_KINDS = frozenset("biu")


# --------------------------------------------------------------------------------------------
# Reading input
# --------------------------------------------------------------------------------------------


def _as_array_if_tensor(obj: Any) -> Any:
    """Converts a torch tensor (or any ``__array__`` object) to numpy; returns others unchanged."""
    if isinstance(obj, np.ndarray):
        return obj
    if callable(getattr(obj, "detach", None)) and callable(getattr(obj, "cpu", None)):
        return np.asarray(obj.detach().cpu().numpy())
    if hasattr(obj, "__array__") and not isinstance(obj, (list, tuple)):
        return np.asarray(obj)
    return obj


@dataclass(frozen=True)
class _RawBatch:
    """Sequences flattened into one token stream.

    Attributes:
        lengths: Length of every sequence, shape ``(num_sequences,)``.
        ints: The flat tokens as int64 when every sequence holds integers, else ``None``.
        objects: The flat tokens as Python objects otherwise, else ``None``.
    """

    lengths: _IntArray
    ints: _IntArray | None
    objects: list[Any] | None

    @property
    def num_sequences(self) -> int:
        """Number of sequences."""
        return int(self.lengths.size)


def _read_batch(data: Any, what: str) -> _RawBatch:
    """Reads a :data:`SequenceBatch` into a :class:`_RawBatch`.

    Args:
        data: The sequences.
        what: Name used in error messages (``"references"``, ``"hypotheses"``...).

    Returns:
        The flattened batch.

    Raises:
        TypeError: If ``data`` or one of its sequences is a string (pass ``text.split()``).
        ValueError: If an array has the wrong number of dimensions.
    """
    data = _as_array_if_tensor(data)
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{what} must be a collection of token sequences, not a single string")
    if isinstance(data, np.ndarray):
        if data.ndim == 2:
            rows, cols = data.shape
            lengths = np.full(rows, cols, dtype=np.int64)
            if data.dtype.kind in _INT_KINDS:
                return _RawBatch(lengths, data.astype(np.int64).ravel(), None)
            return _RawBatch(lengths, None, data.ravel().tolist())
        if not (data.ndim == 1 and data.dtype == object):
            raise ValueError(
                f"{what}: expected a 2-D array (sequences x tokens) or a collection of 1-D "
                f"sequences, got an array of shape {data.shape} and dtype {data.dtype}"
            )
    items = list(data)

    lengths = np.empty(len(items), dtype=np.int64)
    parts: list[_IntArray | list[Any]] = []
    all_int = True
    for i, raw_item in enumerate(items):
        item = _as_array_if_tensor(raw_item)
        if isinstance(item, (str, bytes)):
            raise TypeError(
                f"{what}[{i}] is a string; pass a sequence of tokens instead (e.g. text.split())"
            )
        part: _IntArray | list[Any]
        if isinstance(item, np.ndarray):
            if item.ndim != 1:
                raise ValueError(
                    f"{what}[{i}]: expected a 1-D sequence of tokens, got shape {item.shape}"
                )
            if item.dtype.kind in _INT_KINDS or item.size == 0:
                part = item.astype(np.int64, copy=False)
            else:
                part = item.tolist()
        else:
            tokens = list(item)
            try:
                arr = np.asarray(tokens)
            except ValueError:  # ragged nested tokens: keep them as objects
                arr = np.empty(0, dtype=object)
            if arr.ndim == 1 and (arr.dtype.kind in _INT_KINDS or len(tokens) == 0):
                part = arr.astype(np.int64, copy=False)
            else:
                part = tokens
        if not isinstance(part, np.ndarray):
            all_int = False
        lengths[i] = len(part)
        parts.append(part)

    if all_int:
        int_parts = [p for p in parts if isinstance(p, np.ndarray)]
        flat = np.concatenate(int_parts) if int_parts else np.empty(0, dtype=np.int64)
        return _RawBatch(lengths, flat.astype(np.int64, copy=False), None)
    objects: list[Any] = []
    for p in parts:
        objects.extend(p.tolist() if isinstance(p, np.ndarray) else p)
    return _RawBatch(lengths, None, objects)


def _check_order(n: int, max_n: int | None = None) -> int:
    """Validates an n-gram order and returns it as an ``int``.

    Raises:
        ValueError: If ``n`` is not an integer >= 1 (or exceeds ``max_n``).
    """
    try:
        if isinstance(n, bool):
            raise TypeError
        order = operator.index(n)
    except TypeError:
        raise ValueError(f"n must be an integer >= 1, got {n!r}") from None
    if order < 1:
        raise ValueError(f"n must be an integer >= 1, got {order}")
    if max_n is not None and order > max_n:
        raise ValueError(
            f"n={order} exceeds max_n={max_n} of this BleuReference; "
            f"build it with BleuReference(references, max_n={order})"
        )
    return order


def _check_smoothing(smoothing: str) -> str:
    """Validates a smoothing name.

    Raises:
        ValueError: If ``smoothing`` is not one of :data:`SMOOTHINGS`.
    """
    if smoothing not in SMOOTHINGS:
        raise ValueError(f"smoothing must be one of {', '.join(SMOOTHINGS)}, got {smoothing!r}")
    return smoothing


# --------------------------------------------------------------------------------------------
# Vocabulary and n-gram ids
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Vocabulary:
    """Maps tokens to ids ``0..size-1``; tokens absent from it map to :data:`_UNK`.

    Exactly one of ``ints`` (sorted distinct integer tokens) and ``objects`` (a dict) is set.
    """

    ints: _IntArray | None
    objects: dict[Any, int] | None

    @property
    def size(self) -> int:
        """Number of distinct tokens."""
        if self.ints is not None:
            return int(self.ints.size)
        assert self.objects is not None
        return len(self.objects)

    @staticmethod
    def build(raw: _RawBatch) -> tuple[_Vocabulary, _IntArray]:
        """Builds the vocabulary of ``raw`` and encodes it.

        Returns:
            The vocabulary and the flat token ids of ``raw``.
        """
        if raw.ints is not None:
            values, ids = np.unique(raw.ints, return_inverse=True)
            return _Vocabulary(values, None), ids.astype(np.int64, copy=False).ravel()
        assert raw.objects is not None
        mapping: dict[Any, int] = {}
        setdefault = mapping.setdefault
        encoded = [setdefault(tok, len(mapping)) for tok in raw.objects]
        return _Vocabulary(None, mapping), np.asarray(encoded, dtype=np.int64).reshape(-1)

    def encode(self, raw: _RawBatch) -> _IntArray:
        """Flat token ids of ``raw``; unknown tokens get :data:`_UNK`.

        Tokens compare with Python equality, as in NLTK (``1 == 1.0``; ``1 != "1"``).
        """
        if raw.ints is not None and self.ints is not None:
            return _lookup_sorted(self.ints, raw.ints)
        tokens: list[Any] = raw.ints.tolist() if raw.ints is not None else (raw.objects or [])
        mapping = (
            self.objects
            if self.objects is not None
            else {tok: i for i, tok in enumerate(np.asarray(self.ints).tolist())}
        )
        get = mapping.get
        return np.fromiter((get(tok, _UNK) for tok in tokens), dtype=np.int64, count=len(tokens))


def _lookup_sorted(table: _IntArray, values: _IntArray) -> _IntArray:
    """Position of every value in the sorted array ``table``, or :data:`_UNK` if absent."""
    if table.size == 0:
        return np.full(values.shape, _UNK, dtype=np.int64)
    pos = np.searchsorted(table, values)
    pos_c = np.minimum(pos, table.size - 1)
    return np.where(table[pos_c] == values, pos_c, _UNK).astype(np.int64, copy=False)


@dataclass(frozen=True)
class _Layout:
    """Where every sequence sits in the flat token stream.

    Attributes:
        lengths: Sequence lengths.
        seq_of: Sequence index of every flat position.
        remaining: Number of tokens from every flat position to the end of its sequence
            (inclusive); an n-gram starts at a position iff ``remaining >= n``.
    """

    lengths: _IntArray
    seq_of: _IntArray
    remaining: _IntArray

    @staticmethod
    def of(lengths: _IntArray) -> _Layout:
        """Builds the layout of sequences with the given lengths."""
        total = int(lengths.sum())
        seq_of = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
        ends = np.cumsum(lengths)
        remaining = np.repeat(ends, lengths) - np.arange(total, dtype=np.int64)
        return _Layout(lengths, seq_of, remaining)


def _own_grams(
    ids: _IntArray, layout: _Layout, vocab_size: int, max_n: int
) -> Iterator[tuple[int, _IntArray, _IntArray, _IntArray]]:
    """N-gram ids of a set of sequences over its own n-grams (references, Self-BLEU samples).

    Yields:
        For ``n = 1..max_n``: ``(n, starts, gram_ids, keys)`` where ``starts`` are the flat
        positions at which an n-gram starts, ``gram_ids`` their ids in ``0..len(keys)-1`` and
        ``keys`` the sorted pairing keys of the distinct n-grams (``key = id_{n-1} * V + token``;
        for ``n = 1`` the keys are the token ids).
    """
    starts = np.arange(ids.size, dtype=np.int64)
    prev = ids
    yield 1, starts, ids, np.arange(vocab_size, dtype=np.int64)
    for n in range(2, max_n + 1):
        starts = np.flatnonzero(layout.remaining >= n).astype(np.int64, copy=False)
        key = prev[starts] * vocab_size + ids[starts + (n - 1)]
        keys, inverse = np.unique(key, return_inverse=True)
        gram_ids = inverse.astype(np.int64, copy=False).ravel()
        cur = np.full(ids.size, _UNK, dtype=np.int64)
        cur[starts] = gram_ids
        prev = cur
        yield n, starts, gram_ids, keys.astype(np.int64, copy=False)


def _pair_counts(
    seq: _IntArray, gram: _IntArray, num_grams: int
) -> tuple[_IntArray, _IntArray, _IntArray]:
    """Counts of every distinct ``(sequence, n-gram)`` pair.

    Returns:
        ``(seq, gram, count)`` of the distinct pairs, sorted by sequence then n-gram.
    """
    if gram.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    pairs, counts = np.unique(seq * num_grams + gram, return_counts=True)
    return pairs // num_grams, pairs % num_grams, counts.astype(np.int64, copy=False)


# --------------------------------------------------------------------------------------------
# Lengths and the final formula
# --------------------------------------------------------------------------------------------


def _closest_lengths(
    hyp_lengths: _IntArray,
    ref_lengths: _IntArray,
    ref_length_counts: _IntArray,
    exclude_own: bool,
) -> _IntArray:
    """NLTK's ``closest_ref_length`` for many hypotheses at once.

    Args:
        hyp_lengths: Hypothesis lengths.
        ref_lengths: Sorted distinct reference lengths.
        ref_length_counts: How many references have each of ``ref_lengths``.
        exclude_own: Remove one occurrence of every hypothesis' own length first (Self-BLEU,
            where the hypothesis is itself one of the references).

    Returns:
        The reference length closest to each hypothesis length, ties going to the shorter one.
    """
    size = ref_lengths.size
    j = np.searchsorted(ref_lengths, hyp_lengths, side="left")
    jc = np.minimum(j, size - 1)
    exact = (j < size) & (ref_lengths[jc] == hyp_lengths)
    available = exact & (ref_length_counts[jc] > 1) if exclude_own else exact
    lo = j - 1
    hi = np.where(exact, j + 1, j)
    big = np.iinfo(np.int64).max
    lo_len = ref_lengths[np.clip(lo, 0, size - 1)]
    hi_len = ref_lengths[np.clip(hi, 0, size - 1)]
    d_lo = np.where(lo >= 0, hyp_lengths - lo_len, big)
    d_hi = np.where(hi < size, hi_len - hyp_lengths, big)
    closest = np.where(d_lo <= d_hi, lo_len, hi_len)
    return np.where(available, hyp_lengths, closest).astype(np.int64, copy=False)


def _denominators(lengths: _IntArray, n: int) -> _IntArray:
    """NLTK's precision denominators ``max(1, len - k + 1)`` for ``k = 1..n``, shape (H, n)."""
    den: _IntArray = np.maximum(1, lengths[:, None] - np.arange(n, dtype=np.int64)[None, :])
    return den


def _combine(
    numerators: _IntArray,
    hyp_lengths: _IntArray,
    closest: _IntArray,
    n: int,
    smoothing: str = "method1",
) -> _FloatArray:
    """BLEU-n from clipped counts, exactly as ``nltk`` ``corpus_bleu`` for one sentence.

    Args:
        numerators: Clipped n-gram matches, shape ``(H, >= n)``; column ``k`` is order ``k+1``.
        hyp_lengths: Hypothesis lengths, shape ``(H,)``.
        closest: Closest reference lengths, shape ``(H,)``.
        n: The BLEU order.
        smoothing: One of :data:`SMOOTHINGS`.

    Returns:
        The scores, float64 of shape ``(H,)``.
    """
    num = numerators[:, :n]
    den = _denominators(hyp_lengths, n).astype(np.float64)
    weight = 1.0 / n
    if smoothing == "method1":
        # (0 + epsilon) / denominator where the numerator is 0.
        precisions = np.where(num == 0, _EPSILON / den, num.astype(np.float64) / den)
        log_mean = np.sum(weight * np.log(precisions), axis=1)
    else:
        # log 1 = 0 stands in for a zero order: NLTK 3.2.1 dropped it from the sum; "none"
        # zeroes those scores below.
        precisions = np.where(num == 0, 1.0, num.astype(np.float64) / den)
        log_mean = np.sum(weight * np.log(precisions), axis=1)

    h = hyp_lengths.astype(np.float64)
    r = closest.astype(np.float64)
    ratio = r / np.where(hyp_lengths == 0, 1.0, h)
    bp = np.where(hyp_lengths > closest, 1.0, np.where(hyp_lengths == 0, 0.0, np.exp(1.0 - ratio)))
    scores: _FloatArray = (bp * np.exp(log_mean)).astype(np.float64, copy=False)
    # NLTK returns 0 when there is no unigram match at all (including the empty hypothesis).
    scores[num[:, 0] == 0] = 0.0
    if smoothing == "none":
        scores[np.any(num == 0, axis=1)] = 0.0
    return scores


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


class BleuReference:
    """Statistics of a reference set for BLEU-1..BLEU-``max_n``, reusable for many hypotheses.

    For every n-gram order it stores the distinct reference n-grams and, for each, its maximum
    count over the references (NLTK's clipping bound), plus the distinct reference lengths.

    Example:
        >>> ref = BleuReference([[1, 2, 3, 4], [1, 2, 2, 5]], max_n=4)
        >>> round(ref.score([[1, 2, 3, 5]], n=2), 6)
        0.816497
    """

    def __init__(self, references: SequenceBatch, max_n: int = 5) -> None:
        """Tabulates the reference statistics.

        Args:
            references: The reference sequences (ints or hashable tokens such as strings),
                of any lengths, or a 2-D array/tensor.
            max_n: Highest n-gram order that will be asked for.

        Raises:
            ValueError: If there are no references or ``max_n < 1``.
            TypeError: If a sequence is given as a plain string.
        """
        self._max_n = _check_order(max_n)
        raw = _read_batch(references, "references")
        if raw.num_sequences == 0:
            raise ValueError("references must contain at least one sequence, got none")
        self._num_references = raw.num_sequences
        self._vocab, ids = _Vocabulary.build(raw)
        layout = _Layout.of(raw.lengths)
        self._keys: list[_IntArray] = []
        self._max_counts: list[_IntArray] = []
        for _, starts, gram_ids, keys in _own_grams(ids, layout, self._vocab.size, self._max_n):
            _, gram, count = _pair_counts(layout.seq_of[starts], gram_ids, keys.size)
            max_count = np.zeros(keys.size, dtype=np.int64)
            np.maximum.at(max_count, gram, count)
            self._keys.append(keys)
            self._max_counts.append(max_count)
        self._ref_lengths, counts = np.unique(raw.lengths, return_counts=True)
        self._ref_length_counts = counts.astype(np.int64, copy=False)

    @property
    def max_n(self) -> int:
        """Highest n-gram order available."""
        return self._max_n

    @property
    def num_references(self) -> int:
        """Number of reference sequences."""
        return self._num_references

    def __repr__(self) -> str:
        return (
            f"BleuReference(num_references={self._num_references}, max_n={self._max_n}, "
            f"vocab_size={self._vocab.size})"
        )

    def _clipped_counts(self, ids: _IntArray, layout: _Layout, n: int) -> _IntArray:
        """Clipped n-gram matches of every hypothesis for orders ``1..n``, shape ``(H, n)``."""
        num_hyp = layout.lengths.size
        vocab_size = self._vocab.size
        out = np.zeros((num_hyp, n), dtype=np.int64)
        prev = ids
        for order in range(1, n + 1):
            keys = self._keys[order - 1]
            if order == 1:
                starts = np.arange(ids.size, dtype=np.int64)
                cur = ids
            else:
                starts = np.flatnonzero(layout.remaining >= order).astype(np.int64, copy=False)
                head = prev[starts]
                tail = ids[starts + (order - 1)]
                known = (head != _UNK) & (tail != _UNK)
                cur = np.full(ids.size, _UNK, dtype=np.int64)
                cur[starts[known]] = _lookup_sorted(keys, head[known] * vocab_size + tail[known])
            prev = cur
            gram_ids = cur[starts]
            matched = gram_ids != _UNK
            seq, gram, count = _pair_counts(
                layout.seq_of[starts[matched]], gram_ids[matched], keys.size
            )
            clipped = np.minimum(count, self._max_counts[order - 1][gram])
            out[:, order - 1] = np.bincount(seq, weights=clipped, minlength=num_hyp).astype(
                np.int64
            )
        return out

    def _prepare(self, hypotheses: SequenceBatch, n: int) -> tuple[_IntArray, _IntArray, _IntArray]:
        """Clipped counts (H, n), lengths (H,) and closest reference lengths (H,)."""
        raw = _read_batch(hypotheses, "hypotheses")
        ids = self._vocab.encode(raw)
        layout = _Layout.of(raw.lengths)
        numerators = self._clipped_counts(ids, layout, n)
        closest = _closest_lengths(
            raw.lengths, self._ref_lengths, self._ref_length_counts, exclude_own=False
        )
        return numerators, raw.lengths, closest

    def sentence_scores(
        self, hypotheses: SequenceBatch, n: int, smoothing: str = "method1"
    ) -> _FloatArray:
        """BLEU-n of every hypothesis against all the references.

        Equals, for each hypothesis, ``nltk.translate.bleu_score.sentence_bleu(references,
        hypothesis, weights=(1/n,)*n, smoothing_function=SmoothingFunction().method1)``
        (other smoothings: see the module docstring).

        Args:
            hypotheses: The hypothesis sequences (same token kind as the references; tokens
                that never occur in the references simply never match).
            n: The BLEU order, ``1 <= n <= max_n``.
            smoothing: ``"method1"``, ``"nltk-3.2.1"`` or ``"none"``.

        Returns:
            float64 array of shape ``(num_hypotheses,)``.

        Raises:
            ValueError: If ``n`` or ``smoothing`` is out of range.
        """
        order = _check_order(n, self._max_n)
        _check_smoothing(smoothing)
        numerators, lengths, closest = self._prepare(hypotheses, order)
        return _combine(numerators, lengths, closest, order, smoothing)

    def sentence_scores_by_order(
        self, hypotheses: SequenceBatch, orders: Iterable[int], smoothing: str = "method1"
    ) -> dict[int, _FloatArray]:
        """BLEU-n of every hypothesis for several orders at once, sharing the n-gram work.

        Args:
            hypotheses: The hypothesis sequences.
            orders: The BLEU orders wanted, each in ``1..max_n``.
            smoothing: One of :data:`SMOOTHINGS`.

        Returns:
            ``{n: scores}`` with the same arrays as :meth:`sentence_scores`.

        Raises:
            ValueError: If an order is out of range or none is given.
        """
        wanted = [_check_order(n, self._max_n) for n in orders]
        if not wanted:
            raise ValueError("orders must name at least one BLEU order")
        _check_smoothing(smoothing)
        numerators, lengths, closest = self._prepare(hypotheses, max(wanted))
        return {n: _combine(numerators, lengths, closest, n, smoothing) for n in wanted}

    def score(self, hypotheses: SequenceBatch, n: int, smoothing: str = "method1") -> float:
        """Mean BLEU-n over the hypotheses (the SeqGAN / Texygen corpus number).

        Args:
            hypotheses: The hypothesis sequences.
            n: The BLEU order, ``1 <= n <= max_n``.
            smoothing: One of :data:`SMOOTHINGS`.

        Returns:
            The average of :meth:`sentence_scores`.

        Raises:
            ValueError: If ``n`` is out of range or there are no hypotheses.
        """
        scores = self.sentence_scores(hypotheses, n, smoothing)
        if scores.size == 0:
            raise ValueError("hypotheses must contain at least one sequence, got none")
        return float(scores.mean())


def sentence_bleu_scores(
    hypotheses: SequenceBatch,
    references: SequenceBatch,
    n: int = 4,
    smoothing: str = "method1",
) -> _FloatArray:
    """BLEU-n of every hypothesis against the whole reference set.

    Args:
        hypotheses: The hypothesis sequences.
        references: The reference sequences, shared by all hypotheses.
        n: The BLEU order (uniform weights ``1/n``).
        smoothing: One of :data:`SMOOTHINGS`.

    Returns:
        float64 array of shape ``(num_hypotheses,)``, equal to NLTK's ``sentence_bleu`` with
        ``SmoothingFunction().method1`` for each hypothesis.

    Raises:
        ValueError: If ``n < 1`` or there are no references.
    """
    order = _check_order(n)
    _check_smoothing(smoothing)
    return BleuReference(references, max_n=order).sentence_scores(hypotheses, order, smoothing)


def bleu(
    hypotheses: SequenceBatch,
    references: SequenceBatch,
    n: int = 4,
    smoothing: str = "method1",
) -> float:
    """Mean sentence BLEU-n of the hypotheses against the whole reference set (Texygen BLEU).

    Args:
        hypotheses: The hypothesis sequences.
        references: The reference sequences, shared by all hypotheses.
        n: The BLEU order (uniform weights ``1/n``).
        smoothing: One of :data:`SMOOTHINGS`.

    Returns:
        The average of :func:`sentence_bleu_scores`.

    Raises:
        ValueError: If ``n < 1``, or there are no references or no hypotheses.
    """
    order = _check_order(n)
    _check_smoothing(smoothing)
    return BleuReference(references, max_n=order).score(hypotheses, order, smoothing)


def self_bleu_scores(samples: SequenceBatch, n: int = 4) -> _FloatArray:
    """Self-BLEU-n of every sample: its BLEU-n against all the *other* samples.

    Only the sample's own index is left out of its references: an identical copy elsewhere in
    ``samples`` does count. Texygen's default (``SelfBleu.get_score(is_fast=True)``) does the
    same on the first 500 samples only; TextGAN-PyTorch scores its first 200 samples against a
    reference set that includes the sample itself, which inflates the score. Here every sample
    is scored against all the others (the text tasks: all their evaluation samples, averaged
    over at most 2,000 of them, see `self_bleu`). Per n-gram the largest count over all samples,
    how many samples reach it and the second-largest count are kept, so leaving one sample out
    costs a lookup; the brevity penalty likewise leaves out one occurrence of the sample's length.

    Args:
        samples: The generated sequences (at least two).
        n: The BLEU order (uniform weights ``1/n``).

    Returns:
        float64 array of shape ``(num_samples,)``.

    Raises:
        ValueError: If ``n < 1`` or there are fewer than two samples.
    """
    order = _check_order(n)
    raw = _read_batch(samples, "samples")
    num = raw.num_sequences
    if num < 2:
        raise ValueError(f"self-BLEU needs at least two samples, got {num}")
    vocab, ids = _Vocabulary.build(raw)
    layout = _Layout.of(raw.lengths)
    numerators = np.zeros((num, order), dtype=np.int64)
    for k, starts, gram_ids, keys in _own_grams(ids, layout, vocab.size, order):
        seq, gram, count = _pair_counts(layout.seq_of[starts], gram_ids, keys.size)
        top = np.zeros(keys.size, dtype=np.int64)
        np.maximum.at(top, gram, count)
        is_top = count == top[gram]
        top_holders = np.bincount(gram[is_top], minlength=keys.size)
        second = np.zeros(keys.size, dtype=np.int64)
        np.maximum.at(second, gram[~is_top], count[~is_top])
        others_max = np.where(is_top & (top_holders[gram] == 1), second[gram], top[gram])
        clipped = np.minimum(count, others_max)
        numerators[:, k - 1] = np.bincount(seq, weights=clipped, minlength=num).astype(np.int64)
    ref_lengths, counts = np.unique(raw.lengths, return_counts=True)
    closest = _closest_lengths(
        raw.lengths, ref_lengths, counts.astype(np.int64, copy=False), exclude_own=True
    )
    return _combine(numerators, raw.lengths, closest, order)


def self_bleu(
    samples: SequenceBatch, n: int = 4, max_samples: int | None = None, seed: int = 0
) -> float:
    """Mean Self-BLEU-n: each sample scored against all the other samples (lower = more diverse).

    Args:
        samples: The generated sequences (at least two).
        n: The BLEU order (uniform weights ``1/n``).
        max_samples: If given and smaller than the number of samples, average over this many
            hypotheses drawn without replacement (``numpy.random.default_rng(seed)``); every
            sample still serves as a reference.
        seed: Seed of the subsample.

    Returns:
        The average Self-BLEU-n.

    Raises:
        ValueError: If ``n < 1``, there are fewer than two samples or ``max_samples < 1``.
    """
    if max_samples is not None and max_samples < 1:
        raise ValueError(f"max_samples must be >= 1 or None, got {max_samples}")
    scores = self_bleu_scores(samples, n)
    if max_samples is not None and max_samples < scores.size:
        rng = np.random.default_rng(seed)
        scores = scores[rng.choice(scores.size, size=max_samples, replace=False)]
    return float(scores.mean())
