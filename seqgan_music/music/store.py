"""Compact on-disk token storage for large corpora: tunes appended to one flat file, read back
through a NumPy memory map, so reading 100,000 files needs memory for one file at a time.

`TokenWriter.add(name, tokens)` appends a tune's tokens (as `STORE_DTYPE`) to `tokens.bin` and
notes its offset and length; `close()` writes `tunes.json` (names, offsets, lengths) and returns
a `TokenStore`, whose `tune(i)` is a view into the memory-mapped file. Windows cut from the
store are written into `.npy` files opened with `np.lib.format.open_memmap` (`window_arrays`),
as int64 (`WINDOW_DTYPE`): training indexes its batches straight out of the memory map
(`torch.from_numpy` of the mapped array, no copy), and processes on one machine share its pages.
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

STORE_DTYPE = np.uint16  # every token of every music codec is below 65,536
WINDOW_DTYPE = np.int64  # windows: the dtype training indexes (torch embeddings), mapped as is
TOKENS_FILE = "tokens.bin"
INDEX_FILE = "tunes.json"
CHUNK = 1 << 22  # tokens scanned at a time by whole-store statistics


class TokenStore:
    """Tunes in one memory-mapped flat array."""

    def __init__(self, folder: Path) -> None:
        index = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
        self.folder = folder
        self.names: list[str] = index["names"]
        self.offsets = np.asarray(index["offsets"], dtype=np.int64)
        self.lengths = np.asarray(index["lengths"], dtype=np.int64)
        total = int(self.lengths.sum())
        self.tokens: np.ndarray = (
            np.memmap(folder / TOKENS_FILE, dtype=STORE_DTYPE, mode="r", shape=(total,))
            if total else np.zeros(0, STORE_DTYPE))

    def __len__(self) -> int:
        return len(self.names)

    def tune(self, i: int) -> np.ndarray:
        """Tokens of tune i (a read-only view into the memory map)."""
        lo = int(self.offsets[i])
        return self.tokens[lo : lo + int(self.lengths[i])]

    def count(self, token: int) -> int:
        """How often `token` occurs, scanned in bounded chunks."""
        return sum(int(np.count_nonzero(self.tokens[lo : lo + CHUNK] == token))
                   for lo in range(0, len(self.tokens), CHUNK))


class TokenWriter:
    """Appends tunes to a new store in `folder` (created)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._handle = (folder / TOKENS_FILE).open("wb")
        self._names: list[str] = []
        self._offsets = array("q")
        self._lengths = array("q")
        self._size = 0

    def add(self, name: str, tokens: np.ndarray) -> None:
        if len(tokens) and (int(tokens.min()) < 0 or int(tokens.max()) > np.iinfo(STORE_DTYPE).max):
            raise ValueError(f"tune {name} holds a token outside 0..{np.iinfo(STORE_DTYPE).max}")
        self._handle.write(np.ascontiguousarray(tokens, dtype=STORE_DTYPE).tobytes())
        self._names.append(name)
        self._offsets.append(self._size)
        self._lengths.append(len(tokens))
        self._size += len(tokens)

    def close(self) -> TokenStore:
        self._handle.close()
        (self.folder / INDEX_FILE).write_text(json.dumps(
            {"names": self._names, "offsets": self._offsets.tolist(),
             "lengths": self._lengths.tolist()}), encoding="utf-8")
        return TokenStore(self.folder)

    def abandon(self) -> None:
        self._handle.close()


def window_counts(lengths: np.ndarray, seq_len: int, overlap: int, most: int) -> np.ndarray:
    """Windows each tune gives (`tokens.windows`: the incomplete tail dropped), at most `most`."""
    stride = seq_len - overlap
    counts = np.where(lengths >= seq_len, (lengths - seq_len) // stride + 1, 0)
    return np.minimum(counts, most)


def window_arrays(store: TokenStore, splits: dict[str, Sequence[int]], counts: np.ndarray,
                  seq_len: int, overlap: int, folder: Path | None,
                  windows: Callable[[np.ndarray], np.ndarray] | None = None
                  ) -> dict[str, np.ndarray]:
    """Windows (N, seq_len) of the tunes of each split, in the given tune order: `.npy` files
    in `folder` written through memory maps (named `<split>.npy.part` until complete), or
    in-memory arrays when `folder` is None. `windows` cuts one tune (a codec's own rule, e.g.
    whole tunes padded with end tokens); None: `tokens.windows` (the incomplete tail dropped)."""
    stride = seq_len - overlap
    out: dict[str, np.ndarray] = {}
    for split, tunes in splits.items():
        total = int(sum(int(counts[i]) for i in tunes))
        if folder is None:
            array_ = np.empty((total, seq_len), dtype=WINDOW_DTYPE)
        else:
            array_ = np.lib.format.open_memmap(folder / f"{split}.npy.part", mode="w+",
                                               dtype=WINDOW_DTYPE, shape=(total, seq_len))
        position = 0
        for i in tunes:
            n = int(counts[i])
            if n:
                if windows is not None:
                    array_[position : position + n] = windows(store.tune(i))[:n]
                else:
                    view = np.lib.stride_tricks.sliding_window_view(store.tune(i), seq_len)
                    array_[position : position + n] = view[::stride][:n]
                position += n
        out[split] = array_
    return out


def finish_arrays(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Flush the `.npy.part` files of `window_arrays` and give them their final names."""
    for split, array_ in arrays.items():
        if isinstance(array_, np.memmap):
            array_.flush()
        os.replace(folder / f"{split}.npy.part", folder / f"{split}.npy")


def load_arrays(folder: Path, splits: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
    """The windows of each split, memory-mapped copy-on-write (the file is never written; the
    array is writable, as `torch.from_numpy` wants, and its pages are shared until written)."""
    for split in splits:
        yield split, np.load(folder / f"{split}.npy", mmap_mode="c", allow_pickle=False)
