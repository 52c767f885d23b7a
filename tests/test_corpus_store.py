"""Large-corpus reading: tunes streamed into a memory-mapped store, windows in .npy files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seqgan_music.music.corpus import MusicOptions, build_music_corpus, read_file
from seqgan_music.music.store import TokenWriter, window_arrays, window_counts
from seqgan_music.music.tokens import windows
from tests.conftest import random_tunes


def test_store_windows_match_the_tokeniser_windows(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tunes = [rng.integers(0, 89, size=int(n)) for n in rng.integers(0, 60, size=40)]
    writer = TokenWriter(tmp_path / "store")
    for i, tokens in enumerate(tunes):
        writer.add(f"t{i}", tokens)
    store = writer.close()
    assert len(store) == 40 and store.count(0) == sum(int((t == 0).sum()) for t in tunes)
    for seq_len, overlap in [(8, 0), (8, 3), (50, 10)]:
        counts = window_counts(store.lengths, seq_len, overlap, 1000)
        order = list(range(39, -1, -1))
        got = window_arrays(store, {"all": order}, counts, seq_len, overlap, None)["all"]
        expected = np.concatenate([windows(tunes[i], seq_len, overlap) for i in order])
        assert np.array_equal(got.astype(np.int64), expected)


def test_a_folder_streams_into_the_cache_and_corrupt_files_are_counted(tmp_path: Path) -> None:
    folder = random_tunes(tmp_path / "tunes", num=40, steps=60)
    (folder / "broken.mid").write_bytes(b"MThd not really a midi file")
    options = MusicOptions()
    with pytest.warns(UserWarning, match="skipped 1 of the files"):
        built = build_music_corpus([folder], "tunes", options, seq_len=16)
    assert built.manifest["files"] == 41 and built.manifest["tunes"] == 40
    assert [s["item"] for s in built.manifest["skipped"]] == ["broken.mid"]
    cache = Path(built.manifest["cache"])
    assert {p.name for p in cache.iterdir()} >= {"tokens.bin", "tunes.json", "train.npy",
                                                 "valid.npy", "test.npy", "manifest.json"}
    assert json.loads((cache / "manifest.json").read_text())["windows_per_split"]["train"] == len(
        built.train)
    # every window is one the tokeniser cuts from some tune, all of them used once
    every = np.concatenate([windows(read_file(p, options.step, options.melody)[0][0].tokens, 16)
                            for p in sorted(folder.glob("tune*.mid"))])
    got = np.concatenate([built.train, built.valid, built.test])
    assert got.dtype == np.int64 and len(got) == len(every)
    assert sorted(map(bytes, got.astype(np.uint8))) == sorted(map(bytes, every.astype(np.uint8)))
    with pytest.warns(UserWarning, match="were skipped"):
        again = build_music_corpus([folder], "tunes", options, seq_len=16)  # from the cache
    assert np.array_equal(again.train, built.train) and np.array_equal(again.test, built.test)
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_training_reads_its_batches_from_the_memory_mapped_windows(tmp_path: Path) -> None:
    """The cached windows are mapped, not copied: the training tensors share the map's memory,
    and a corpus built without a cache is an ordinary in-memory array."""
    import torch

    folder = random_tunes(tmp_path / "tunes", num=12, steps=60)
    built = build_music_corpus([folder], "tunes", MusicOptions(), seq_len=16)
    again = build_music_corpus([folder], "tunes", MusicOptions(), seq_len=16)
    for data in (built, again):
        assert isinstance(data.train, np.memmap) and data.train.dtype == np.int64
        tensor = torch.from_numpy(data.train)
        assert tensor.data_ptr() == data.train.ctypes.data  # no copy
        assert tensor[torch.tensor([1, 0])].tolist() == data.train[[1, 0]].tolist()
    damaged = Path(built.manifest["cache"]) / "train.npy"
    damaged.unlink()  # a new file (the maps above keep the old one, as after a rebuild)
    damaged.write_bytes(b"damaged")
    rebuilt = build_music_corpus([folder], "tunes", MusicOptions(), seq_len=16)
    assert np.array_equal(rebuilt.train, again.train)  # a damaged cache is rebuilt in place
    assert isinstance(rebuilt.train, np.memmap) and np.load(damaged).shape == again.train.shape
    plain = build_music_corpus([folder], "tunes", MusicOptions(), seq_len=16, use_cache=False)
    assert not isinstance(plain.train, np.memmap) and np.array_equal(plain.train, built.train)


def test_parsed_entries_cut_short_by_a_crash_are_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-file cache entries are written without fsync (a cache): one left empty or cut in
    half by a crash is parsed again, never an error."""
    import shutil

    monkeypatch.setenv("SEQGAN_MUSIC_CACHE", str(tmp_path / "cache"))
    folder = random_tunes(tmp_path / "tunes", num=6, steps=60)
    built = build_music_corpus([folder], "tunes", MusicOptions(), seq_len=16)
    cache = Path(built.manifest["cache"])
    shutil.rmtree(cache)  # the corpus again from the per-file entries
    entries = sorted((cache.parent.parent / "parsed").glob("*.npz"))
    assert len(entries) == 6
    entries[0].write_bytes(b"")
    entries[1].write_bytes(entries[1].read_bytes()[:40])
    again = build_music_corpus([folder], "tunes", MusicOptions(), seq_len=16)
    assert np.array_equal(again.train, built.train) and np.array_equal(again.test, built.test)
    assert entries[0].stat().st_size > 0  # rebuilt
