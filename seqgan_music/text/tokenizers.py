"""Character and word tokenizers with a vocabulary built from the training split.

Ids: 0 = `<pad>` (also the generator's start token), 1 = `<eos>`, 2 = `<unk>`, then the
vocabulary by descending frequency (ties alphabetical), keeping tokens seen at least
`min_freq` times (and at most `max_size` of them). A text of n tokens becomes its ids, then
`<eos>`, then `<pad>` up to the fixed length T; longer texts are cut to T tokens (no `<eos>`),
and a text of exactly T tokens has no room for one. `decode` stops at the first `<eos>` or
`<pad>`. The vocabulary is saved in the run and in every checkpoint (`to_dict`), so a model
always decodes with the vocabulary it was trained with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqgan_music.errors import ConfigError, DataError

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
SPECIALS = (PAD, EOS, UNK)
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
KINDS = ("char", "word")


def split_text(text: str, kind: str) -> list[str]:
    """Tokens of one text: whitespace-separated words, or every non-space character."""
    if kind == "word":
        return text.split()
    if kind == "char":
        return [ch for ch in text if not ch.isspace()]
    raise ConfigError(f"tokenizer {kind!r} is unknown; accepted: {', '.join(KINDS)}")


@dataclass
class Vocabulary:
    kind: str
    tokens: list[str] = field(default_factory=lambda: list(SPECIALS))
    min_freq: int = 1

    def __post_init__(self) -> None:
        self.index = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts: Iterable[str], kind: str, min_freq: int = 1,
              max_size: int | None = None) -> Vocabulary:
        if min_freq < 1:
            raise ConfigError(f"min_freq = {min_freq} is invalid; expected an integer >= 1")
        if max_size is not None and max_size < len(SPECIALS) + 1:
            raise ConfigError(f"max_size = {max_size} is invalid; expected 0 (no limit) or an "
                              f"integer >= {len(SPECIALS) + 1} ({len(SPECIALS)} special tokens "
                              "and at least one more)")
        counts = Counter(t for text in texts for t in split_text(text, kind))
        kept = sorted((t for t, n in counts.items() if n >= min_freq and t not in SPECIALS),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(max_size - len(SPECIALS), 0)]
        return cls(kind, [*SPECIALS, *kept], min_freq)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, texts: Sequence[str], seq_len: int) -> np.ndarray:
        """(N, seq_len) int64 ids, `<eos>` then `<pad>` after each text."""
        out = np.full((len(texts), seq_len), PAD_ID, dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.index.get(t, UNK_ID) for t in split_text(text, self.kind)][:seq_len]
            out[row, : len(ids)] = ids
            if len(ids) < seq_len:
                out[row, len(ids)] = EOS_ID
        return out

    def decode(self, ids: Iterable[int]) -> str:
        words: list[str] = []
        for i in ids:
            if i in (PAD_ID, EOS_ID):
                break
            words.append(self.tokens[i] if 0 <= i < len(self.tokens) else UNK)
        return ("" if self.kind == "char" else " ").join(words)

    def strip(self, ids: Iterable[int]) -> list[int]:
        """The ids up to the first `<eos>`/`<pad>` (what BLEU compares)."""
        out = []
        for i in ids:
            if i in (PAD_ID, EOS_ID):
                break
            out.append(int(i))
        return out

    def coverage(self, texts: Iterable[str]) -> float:
        """Share of the texts' tokens that are in the vocabulary."""
        total = known = 0
        for text in texts:
            for token in split_text(text, self.kind):
                total += 1
                known += token in self.index
        return known / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokens": self.tokens, "min_freq": self.min_freq}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Vocabulary:
        """The vocabulary saved by `to_dict`; raises `DataError` for anything else."""
        if not isinstance(values, dict):
            raise DataError(f"a vocabulary is a table, not a {type(values).__name__}")
        kind, tokens = values.get("kind"), values.get("tokens")
        min_freq = values.get("min_freq", 1)
        if kind not in KINDS:
            raise DataError(f"vocabulary kind {kind!r} is unknown; accepted: {', '.join(KINDS)}")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens) \
                or list(tokens[: len(SPECIALS)]) != list(SPECIALS):
            raise DataError("vocabulary tokens must be a list of strings starting with "
                            f"{', '.join(SPECIALS)}")
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise DataError(f"vocabulary min_freq = {min_freq!r} is not an integer >= 1")
        return cls(kind, list(tokens), min_freq)
