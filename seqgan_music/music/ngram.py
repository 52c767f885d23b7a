"""A Kneser-Ney n-gram model of token sequences: the baseline a sequence model must beat.

`KneserNey(order=5).fit(tunes)` counts the n-grams of whole tunes (each padded on the left with
`order - 1` begin symbols); `probabilities(context)` is interpolated Kneser-Ney (Chen & Goodman
1998, eq. 26, one discount per order D = n1 / (n1 + 2 n2)); `sample(num, max_length, seed,
stop_token)` draws tunes token by token until the stop token (kept) or the length cap. Tokens
are any non-negative integers below `vocab_size`; the same tokens as a model's codec.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

Context = tuple[int, ...]


class KneserNey:
    """Interpolated Kneser-Ney over `vocab_size` tokens (the begin symbol is never sampled)."""

    def __init__(self, vocab_size: int, order: int = 5) -> None:
        if order < 1:
            raise ValueError(f"order {order} must be at least 1")
        self.vocab_size = vocab_size
        self.order = order
        self.begin = vocab_size  # the padding symbol before a tune's first token
        # per order k (1..order): context of k - 1 tokens -> {token: count}; the highest order
        # holds counts, the lower ones continuation counts (distinct tokens seen before)
        self.counts: list[dict[Context, dict[int, int]]] = []
        self.totals: list[dict[Context, int]] = []
        self.discounts: list[float] = []

    def fit(self, tunes: Sequence[Sequence[int]]) -> KneserNey:
        n = self.order
        highest: dict[Context, Counter[int]] = defaultdict(Counter)
        for tune in tunes:
            tokens = [int(t) for t in tune]
            if any(not 0 <= t < self.vocab_size for t in tokens):
                raise ValueError(f"tokens must be in 0..{self.vocab_size - 1}")
            padded = [self.begin] * (n - 1) + tokens
            for i in range(n - 1, len(padded)):
                highest[tuple(padded[i - n + 1 : i])][padded[i]] += 1
        levels: list[dict[Context, dict[int, int]]] = [dict(highest)]
        for _ in range(n - 1):  # continuation counts of the next lower order
            above = levels[0]
            lower: dict[Context, Counter[int]] = defaultdict(Counter)
            for context, following in above.items():
                for token in following:
                    lower[context[1:]][token] += 1
            levels.insert(0, dict(lower))
        self.counts = levels
        self.totals = [{c: sum(f.values()) for c, f in level.items()} for level in levels]
        self.discounts = []
        for level in levels:
            values = Counter(v for following in level.values() for v in following.values())
            n1, n2 = values.get(1, 0), values.get(2, 0)
            self.discounts.append(n1 / (n1 + 2 * n2) if n1 + n2 else 0.5)
        return self

    def probabilities(self, context: Sequence[int]) -> np.ndarray:
        """P(next token | the last `order - 1` tokens of `context`): (vocab_size,) float64."""
        if not self.counts:
            raise ValueError("fit the model before asking for probabilities")
        padded = [self.begin] * (self.order - 1) + [int(t) for t in context]
        history = tuple(padded[len(padded) - self.order + 1 :]) if self.order > 1 else ()
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for k in range(self.order):  # order k + 1 uses the last k tokens
            ctx = history[len(history) - k :] if k else ()
            following = self.counts[k].get(ctx)
            if not following:
                continue
            total = self.totals[k][ctx]
            d = self.discounts[k]
            tokens = np.fromiter(following.keys(), dtype=np.int64, count=len(following))
            counts = np.fromiter(following.values(), dtype=np.float64, count=len(following))
            mixed = p * (d * len(following) / total)
            mixed[tokens] += np.maximum(counts - d, 0.0) / total
            p = mixed
        return p / p.sum()

    def sample(self, num: int, max_length: int, seed: int = 0, stop_token: int | None = None,
               prefix: Sequence[int] = ()) -> list[list[int]]:
        """`num` tunes of at most `max_length` tokens (after `prefix`), each ending at the
        first `stop_token` (kept); deterministic for a seed."""
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(num):
            tune = [int(t) for t in prefix]
            for _ in range(max_length):
                token = int(rng.choice(self.vocab_size, p=self.probabilities(tune)))
                tune.append(token)
                if token == stop_token:
                    break
            out.append(tune)
        return out
