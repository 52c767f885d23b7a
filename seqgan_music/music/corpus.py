"""A folder of MIDI/ABC files -> melody windows split by tune, cached, with a manifest.

Steps: find the files (the jukedeck Nottingham layout is recognised and only its
`MIDI/melody/` files are used) -> read each file into per-tune token sequences (cached per file
content, so music21's slow ABC parsing happens once) -> split the tunes (not the windows) into
train/valid/test with a seeded permutation -> cut windows -> cache the arrays and a manifest
(source, counts, skipped files and why). Files that yield no melody are skipped, counted in one
`DataWarning` and listed in the manifest; no usable tune at all is a `DataError`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import warnings
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from seqgan_music.errors import ConfigError, DataError, DataWarning
from seqgan_music.io.downloads import cache_dir
from seqgan_music.music.readers import MELODY_MODES, Tune, UnusableFile, read_abc, read_midi
from seqgan_music.music.store import (
    TokenStore,
    TokenWriter,
    finish_arrays,
    load_arrays,
    window_arrays,
    window_counts,
)
from seqgan_music.music.tokens import STEP_SECONDS

READER_VERSION = 2  # bump when the readers change what they produce
MIDI_SUFFIXES = (".mid", ".midi")
MUSIC_SUFFIXES = (*MIDI_SUFFIXES, ".abc")
MIN_TUNES = 3  # one per split
MAX_WORKERS = 8
# Windows one tune may supply: ~1.8 hours at 0.4 s. A Nottingham tune gives a few dozen; a tune
# far longer (a note held for hours) would flood the corpus with identical windows.
MAX_WINDOWS_PER_TUNE = 500
FILES_PER_WORKER = 16  # fewer files than this per worker are read in this process
FILES_PER_TASK = 32  # files a worker reads per task it is handed (amortises the hand-over)
TASKS_AHEAD = 4  # tasks handed out per worker ahead of the results being collected
STORE_VERSION = 3  # 2: windows in memory-mappable .npy files beside a flat token store; 3: int64


@dataclass
class MusicOptions:
    """How files become sequences (`task_options` of a music task; paper values by default)."""

    step: float = STEP_SECONDS
    overlap: int = 0
    melody: str = "auto"
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 0
    representation: str = "paper"  # a codec name (seqgan_music.music.codecs)

    @classmethod
    def from_options(cls, options: dict[str, Any], extra: Sequence[str] = ()) -> MusicOptions:
        fields = cls.__dataclass_fields__
        unknown = sorted(set(options) - set(fields) - set(extra))
        if unknown:
            accepted = ", ".join([*fields, *extra])
            raise ConfigError(f"unknown music option task_options.{unknown[0]}; accepted: "
                              f"{accepted}")
        values = cls(**{k: v for k, v in options.items() if k in fields})
        checks = (
            (isinstance(values.step, (int, float)) and 0.01 <= values.step <= 10, "step",
             "seconds between 0.01 and 10"),
            (isinstance(values.overlap, int) and values.overlap >= 0, "overlap",
             "an integer >= 0 smaller than data.seq_len"),
            (values.melody in MELODY_MODES, "melody", " or ".join(MELODY_MODES)),
            (isinstance(values.valid_fraction, (int, float)) and 0 < values.valid_fraction < 0.5,
             "valid_fraction", "a fraction between 0 and 0.5"),
            (isinstance(values.test_fraction, (int, float)) and 0 < values.test_fraction < 0.5,
             "test_fraction", "a fraction between 0 and 0.5"),
            (isinstance(values.split_seed, int) and values.split_seed >= 0, "split_seed",
             "an integer >= 0"),
            (isinstance(values.representation, str), "representation", "a codec name"),
        )
        for ok, name, accepted in checks:
            if not ok:
                raise ConfigError(f"task_options.{name} = {getattr(values, name)!r} is invalid; "
                                  f"expected {accepted}")
        return values


@dataclass
class MusicData:
    """Windows (N, T) int64 per split, with the manifest describing how they were made."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)


def find_music_files(root: Path, written: bool = False) -> tuple[list[Path], str]:
    """The music files under `root` (searched recursively) and the layout recognised. With
    `written` (a codec that keeps the written form) the jukedeck layout gives its ABC sources
    (`ABC_cleaned/`) instead of the MIDI renderings, whose repeats are played out."""
    if root.is_file():
        if root.suffix.lower() not in MUSIC_SUFFIXES:
            raise DataError(f"{root} is not a MIDI or ABC file; accepted: "
                            f"{', '.join(MUSIC_SUFFIXES)} files or a folder of them")
        return [root], "file"
    if not root.is_dir():
        raise DataError(f"data path {root} does not exist")
    if written and (root / "ABC_cleaned").is_dir() and any((root / "ABC_cleaned").glob("*.abc")):
        return sorted((root / "ABC_cleaned").glob("*.abc")), "jukedeck (ABC_cleaned)"
    for melody_dir in (root / "MIDI" / "melody", root / "melody"):
        if melody_dir.is_dir() and any(melody_dir.glob("*.mid")):
            return sorted(melody_dir.glob("*.mid")), "jukedeck (MIDI/melody)"
    files, links = [], []
    unreadable: list[tuple[Path, str]] = []
    for p in _walk(root, unreadable):  # links to folders are listed, not followed: no loops
        if p.suffix.lower() in MUSIC_SUFFIXES and p.is_file():
            files.append(p)
        elif p.is_symlink() and (p.suffix.lower() in MUSIC_SUFFIXES or p.is_dir()
                                 or not p.exists()):
            links.append(p)
    if links:
        warnings.warn(f"skipped {len(links)} symbolic link(s) in {root} that loop, point nowhere "
                      f"or point to a folder (folders behind links are not searched), e.g. "
                      f"{links[0]}", DataWarning, stacklevel=3)
    if unreadable:
        folder, reason = unreadable[0]
        warnings.warn(f"skipped {len(unreadable)} folder(s) in {root} that cannot be read, "
                      f"e.g. {folder} ({reason})", DataWarning, stacklevel=3)
    return sorted(files), "folder"


def _walk(root: Path, unreadable: list[tuple[Path, str]]) -> Iterator[Path]:
    """Every entry under `root` but hidden ones (names starting with "."), not following
    links to folders; a folder that cannot be listed is added to `unreadable` (never silently
    skipped, as `Path.rglob` does)."""
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            unreadable.append((folder, error.strerror or type(error).__name__))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            yield path
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(path)
            except OSError:
                continue


def read_file(path: Path, step: float, melody: str, representation: str = "paper"
              ) -> tuple[list[Tune], list[str]]:
    """Tunes of one file and the reasons for skipped tunes; raises UnusableFile (also for a
    file that cannot be read: it is skipped and counted like any other bad file)."""
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise UnusableFile(f"cannot be read ({error.strerror or error})") from None
    if representation != "paper":
        return _read_with_codec(path, melody, representation)
    if path.suffix.lower() == ".abc":
        return read_abc(path, step, melody)
    return read_midi(path, step, melody), []


def _read_with_codec(path: Path, melody: str, representation: str
                     ) -> tuple[list[Tune], list[str]]:
    """A file's tunes through a codec; each Tune's `coverage` says what the codec kept."""
    from seqgan_music.music.codecs import make_codec
    from seqgan_music.music.readers import read_melodies

    codec = make_codec(representation)
    found, skipped = read_melodies(path, melody)
    tunes = []
    for name, tune in found:
        try:
            encoded = codec.encode(tune)
        except DataError as error:
            skipped.append(f"{name}: {error}")
            continue
        tunes.append(Tune(name, encoded.tokens,
                          (encoded.notes, encoded.kept, encoded.on_grid)))
    return tunes, skipped


def _cached_read(path: Path, step: float, melody: str, cache: Path | None,
                 representation: str = "paper") -> tuple[list[Tune], list[str]]:
    """`read_file` through a cache keyed by the file's content and the reader's options."""
    if cache is None:
        return read_file(path, step, melody, representation)
    try:
        data = path.read_bytes()
    except OSError as unreadable:
        raise UnusableFile(f"cannot be read ({unreadable.strerror or unreadable})") from None
    key = hashlib.sha256(data).hexdigest()[:32]
    name = f"{step:g}" if representation == "paper" else representation
    entry = cache / f"{key}-v{READER_VERSION}-{name}-{melody}.npz"
    if entry.is_file():
        try:
            with np.load(entry, allow_pickle=False) as stored:
                info = json.loads(str(stored["info"]))
                tokens = stored["tokens"]
            if info.get("error"):
                raise UnusableFile(info["error"])
            bounds = np.cumsum([0, *info["lengths"]])
            coverage = info.get("coverage") or [None] * len(info["names"])
            tunes = [Tune(name, tokens[lo:hi].astype(np.int64),
                          tuple(cov) if cov else None)
                     for name, lo, hi, cov in zip(info["names"], bounds[:-1], bounds[1:],
                                                  coverage, strict=True)]
            return tunes, list(info["skipped"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # a damaged cache entry (e.g. cut short by a crash) is rebuilt
    try:
        tunes, skipped = read_file(path, step, melody, representation)
        error = ""
    except UnusableFile as unusable:
        tunes, skipped, error = [], [], str(unusable)
    info = {"names": [t.name for t in tunes], "lengths": [len(t.tokens) for t in tunes],
            "skipped": skipped, "error": error, "file": path.name,
            "coverage": [list(t.coverage) if t.coverage else None for t in tunes]}
    tokens = np.concatenate([t.tokens for t in tunes]) if tunes else np.zeros(0, np.int64)
    try:
        from seqgan_music.io.runs import atomic_write

        with atomic_write(entry, "wb", durable=False) as handle:  # a damaged entry is rebuilt
            np.savez(handle, tokens=tokens.astype(np.uint8), info=np.array(json.dumps(info)))
    except OSError:
        pass  # caching is an optimisation; a read-only cache must not stop training
    if error:
        raise UnusableFile(error)
    return tunes, skipped


def _corpus_key(files: list[Path], options: MusicOptions, seq_len: int) -> str:
    digest = hashlib.sha256()
    described = asdict(options)
    if described["representation"] == "paper":  # the key paper corpora always had
        del described["representation"]
    digest.update(json.dumps([described, seq_len, READER_VERSION, STORE_VERSION]).encode())
    for path in files:
        stat = path.stat()
        # the name as the OS spells it: names that are not UTF-8 (common in downloaded
        # archives) are surrogate-escaped str, which `.encode()` refuses (issue 23)
        digest.update(os.fsencode(path.resolve()) + f"\0{stat.st_size}\0{stat.st_mtime_ns}\n"
                      .encode())
    return digest.hexdigest()[:24]


def split_tunes(names: Sequence[str], options: MusicOptions) -> dict[str, list[int]]:
    """Indices of `names` per split, by a seeded permutation of the sorted names."""
    order = sorted(range(len(names)), key=lambda i: names[i])
    rng = np.random.default_rng(options.split_seed)
    shuffled = [order[i] for i in rng.permutation(len(order))]
    num = len(shuffled)
    num_test = max(1, round(num * options.test_fraction))
    num_valid = max(1, round(num * options.valid_fraction))
    return {"test": shuffled[:num_test], "valid": shuffled[num_test : num_test + num_valid],
            "train": shuffled[num_test + num_valid :]}


def build_music_corpus(
    roots: Sequence[Path],
    label: str,
    options: MusicOptions,
    seq_len: int,
    reporter: Any = None,
    use_cache: bool = True,
) -> MusicData:
    """Read every music file under `roots` into windows split by tune (cached)."""
    if options.overlap >= seq_len:
        raise ConfigError(f"task_options.overlap = {options.overlap} must be smaller than "
                          f"data.seq_len = {seq_len}")
    files: list[tuple[Path, str]] = []
    layouts = []
    for root in roots:
        found, layout = find_music_files(root, _writes_form(options.representation))
        layouts.append(layout)
        base = root if root.is_dir() else root.parent
        prefix = f"{root.name}/" if len(roots) > 1 else ""
        files += [(p, prefix + p.relative_to(base).as_posix()) for p in found]
    where = ", ".join(str(r) for r in roots)
    if not files:
        raise DataError(f"no MIDI or ABC files (.mid, .midi, .abc) found in {where}")
    cache = cache_dir() if use_cache else None
    key = _corpus_key([p for p, _ in files], options, seq_len)
    corpus_dir = cache / "corpora" / key if cache is not None else None
    if corpus_dir is not None and (corpus_dir / "manifest.json").is_file():
        try:
            return _load_corpus(corpus_dir)
        except (OSError, ValueError, KeyError):
            # damaged: rebuilt below and put in its place (a process that has the old files
            # mapped keeps them until it ends)
            (corpus_dir / "manifest.json").unlink(missing_ok=True)
    with ExitStack() as stack:
        # Tunes stream into an on-disk store (memory for one file at a time), built in a
        # staging folder of this process and renamed into place when complete.
        staging = _staging(corpus_dir, stack)
        writer = TokenWriter(staging)
        try:
            skipped, coverage = _read_all(files, options, cache, reporter, writer)
        except BaseException:
            writer.abandon()
            raise
        store = writer.close()
        data = _assemble(store, skipped, coverage, files, layouts, roots, label, options,
                         seq_len, key, staging if corpus_dir is not None else None)
        if corpus_dir is not None and _save_corpus(corpus_dir, data, staging):
            try:
                return _load_corpus(corpus_dir, warn=False)  # memory-mapped from the cache
            except (OSError, ValueError, KeyError):
                pass  # another process's folder that we cannot read: ours, in memory
        # no cache: the windows in memory (the staging folder goes on the way out)
        return MusicData(np.array(data.train), np.array(data.valid), np.array(data.test),
                         data.manifest)


def _writes_form(representation: str) -> bool:
    if representation == "paper":
        return False
    from seqgan_music.music.codecs import codec_classes

    return bool(getattr(codec_classes().get(representation), "written_form", False))


def _staging(corpus_dir: Path | None, stack: ExitStack) -> Path:
    """A fresh folder for a corpus being built: beside its cache folder (renamed onto it by
    `_save_corpus`), or a temporary folder without a cache; removed on the way out."""
    import shutil
    import tempfile

    if corpus_dir is not None:
        try:
            corpus_dir.parent.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f".{corpus_dir.name}-", dir=corpus_dir.parent))
            stack.callback(shutil.rmtree, folder, ignore_errors=True)
            return folder
        except OSError:
            pass  # a read-only cache: build in a temporary folder, cache nothing
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="seqgan-music-")))
    return folder


def _read_one(path: Path, step: float, melody: str, cache: Path | None,
              representation: str = "paper") -> tuple[list[Tune], list[str], str]:
    """`_cached_read` with the unusable-file reason returned instead of raised (for workers)."""
    try:
        tunes, skipped = _cached_read(path, step, melody, cache, representation)
    except UnusableFile as error:
        return [], [], str(error)
    return tunes, skipped, ""


def _read_batch(batch: list[tuple[Path, float, str, Path | None, str]]
                ) -> list[tuple[list[Tune], list[str], str]]:
    return [_read_one(*item) for item in batch]


def _in_order(pool: Any, args: Iterator[tuple[Path, float, str, Path | None, str]], chunk: int,
              ahead: int) -> Iterator[tuple[list[Tune], list[str], str]]:
    """`_read_one` over `args` in worker processes, results in order, with at most `ahead`
    batches of `chunk` files handed out at a time (`Executor.map` would queue every file at
    once: memory growing with the corpus)."""
    pending: deque[Any] = deque()

    def hand_out() -> None:
        batch = list(islice(args, chunk))
        if batch:
            pending.append(pool.submit(_read_batch, batch))

    for _ in range(ahead):
        hand_out()
    while pending:
        results = pending.popleft().result()
        hand_out()
        yield from results


def _read_all(files: list[tuple[Path, str]], options: MusicOptions, cache: Path | None,
              reporter: Any, writer: TokenWriter
              ) -> tuple[list[dict[str, str]], list[int] | None]:
    """Read every file, in worker processes when there are many (music21 is slow), into
    `writer` as results arrive; returns the skipped files and tunes with their reasons, and
    the codec's coverage summed over the tunes (notes, kept, onsets on the grid; None when
    the reader counts none)."""
    parsed_dir = cache / "parsed" if cache is not None else None
    if reporter is not None:
        reporter.phase("read_data", len(files), 0)
    workers = min(os.cpu_count() or 1, MAX_WORKERS, len(files) // FILES_PER_WORKER)
    args = ((path, options.step, options.melody, parsed_dir, options.representation)
            for path, _ in files)
    skipped: list[dict[str, str]] = []
    coverage: list[int] | None = None
    with ExitStack() as stack:
        read: Iterator[tuple[list[Tune], list[str], str]]
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            pool = stack.enter_context(ProcessPoolExecutor(max_workers=workers))
            read = _in_order(pool, args, FILES_PER_TASK, TASKS_AHEAD * workers)
        else:
            read = (_read_one(*a) for a in args)
        for (path, name), (found, bad_tunes, error) in zip(files, read, strict=True):
            if reporter is not None:
                reporter.advance("read_data", {})
            if error:
                skipped.append({"item": name, "reason": error})
                continue
            prefix = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
            for t in found:
                writer.add(prefix + t.name if path.suffix.lower() == ".abc" else name, t.tokens)
                if t.coverage:
                    coverage = [a + b for a, b in zip(coverage or [0, 0, 0], t.coverage,
                                                      strict=True)]
            skipped += [{"item": prefix + s.split(": ", 1)[0], "reason": s.split(": ", 1)[-1]}
                        for s in bad_tunes]
    return skipped, coverage


def _assemble(store: TokenStore, skipped: list[dict[str, str]], coverage: list[int] | None,
              files: list[tuple[Path, str]],
              layouts: list[str], roots: Sequence[Path], label: str, options: MusicOptions,
              seq_len: int, key: str, folder: Path | None) -> MusicData:
    """Windows of the stored tunes, split by tune: `.npy` files in `folder` (memory-mapped
    while written; None: in memory), returned as int64 arrays with the manifest."""
    where = ", ".join(str(r) for r in roots)
    corpus_dir = folder.parent / key if folder is not None else None
    cut: Callable[[np.ndarray], np.ndarray] | None = None  # the paper's: the store's own rule
    if options.representation == "paper":
        full = window_counts(store.lengths, seq_len, options.overlap, np.iinfo(np.int64).max)
    else:
        from seqgan_music.music.codecs import make_codec

        codec = make_codec(options.representation)
        cut = partial(codec.windows, length=seq_len, overlap=options.overlap)
        full = np.array([codec.window_count(store.tune(i), seq_len, options.overlap)
                         for i in range(len(store))], dtype=np.int64)
    flooding = np.flatnonzero(full > MAX_WINDOWS_PER_TUNE)
    if len(flooding):
        worst = int(flooding[np.argmax(full[flooding])])
        warnings.warn(f"{len(flooding)} tune(s) would supply more than {MAX_WINDOWS_PER_TUNE} "
                      f"windows each (e.g. {store.names[worst]}: {int(full[worst])} windows; a "
                      f"note held for hours?); only the first {MAX_WINDOWS_PER_TUNE} of "
                      "each are kept", DataWarning, stacklevel=2)
    counts = np.minimum(full, MAX_WINDOWS_PER_TUNE)
    usable_index = np.flatnonzero(counts > 0)
    usable = [(store.names[i], int(i)) for i in usable_index]
    too_short = len(store) - len(usable)
    if skipped:
        reasons = Counter(s["reason"] for s in skipped)
        summary = ", ".join(f"{n} {r}" for r, n in reasons.most_common(4))
        more = "" if len(reasons) <= 4 else ", ..."
        warnings.warn(f"skipped {len(skipped)} of the files/tunes in {where} ({summary}{more})"
                      + (f"; the manifest {corpus_dir / 'manifest.json'} lists them"
                         if corpus_dir is not None else ""), DataWarning, stacklevel=2)
    if len(usable) < MIN_TUNES:
        raise DataError(
            f"{where} holds {len(usable)} usable tune(s) of at least {seq_len} steps "
            f"({options.step:g} s each) after skipping {len(skipped)} file(s)/tune(s) and "
            f"{too_short} shorter tune(s); at least {MIN_TUNES} are needed (one per split)"
        )
    splits = split_tunes([name for name, _ in usable], options)
    stored = window_arrays(store, {s: [usable[i][1] for i in index]
                                   for s, index in splits.items()},
                           counts, seq_len, options.overlap, folder, cut)
    if folder is not None:
        finish_arrays(folder, stored)
    arrays = {split: np.asarray(a) for split, a in stored.items()}  # int64 (WINDOW_DTYPE)
    manifest: dict[str, Any] = {
        "label": label,
        "source": [str(r) for r in roots],
        "layout": ", ".join(sorted(set(layouts))),
        "files": len(files),
        "tunes": len(store),
        "tunes_shorter_than_a_window": too_short,
        "steps": int(store.lengths.sum()),
        "rests": store.count(0),
        **_coverage(coverage),
        "tunes_per_split": {s: len(i) for s, i in splits.items()},
        "windows_per_split": {s: len(a) for s, a in arrays.items()},
        "split_tunes": {s: sorted(usable[i][0] for i in index) for s, index in splits.items()},
        "skipped": skipped,
        "options": asdict(options),
        "seq_len": seq_len,
        "reader_version": READER_VERSION,
        "key": key,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    return MusicData(arrays["train"], arrays["valid"], arrays["test"], manifest)


def _coverage(coverage: list[int] | None) -> dict[str, Any]:
    """What the representation kept of the source notes (codec-read tunes only)."""
    if not coverage:
        return {}
    notes, kept, on_grid = coverage
    return {"notes": notes, "notes_kept": kept, "onsets_on_grid": on_grid}


def _save_corpus(folder: Path, data: MusicData, staging: Path) -> bool:
    """Move a built corpus (store, windows) from `staging` to `folder` and write its manifest
    last (it marks the folder complete); True when `folder` now holds a complete corpus (ours,
    or another process's that finished first). A failure only costs the cache."""
    import shutil

    from seqgan_music.io.runs import atomic_write

    try:
        data.manifest["cache"] = str(folder)
        with atomic_write(staging / "manifest.json") as handle:
            json.dump(data.manifest, handle, indent=1)
        if folder.exists() and not (folder / "manifest.json").is_file():
            shutil.rmtree(folder, ignore_errors=True)  # an older, incomplete build
        os.replace(staging, folder)  # fails when another process finished first: theirs stays
    except OSError:
        data.manifest.pop("cache", None)
    return (folder / "manifest.json").is_file()


SPLITS = ("train", "valid", "test")


def _load_corpus(folder: Path, warn: bool = True) -> MusicData:
    """A cached corpus: its manifest and its windows, memory-mapped (training reads its batches
    from the map; nothing is copied into memory up front)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    arrays = dict(load_arrays(folder, SPLITS))
    for split, array_ in arrays.items():
        if array_.dtype != np.int64 or array_.ndim != 2:
            raise ValueError(f"{folder / split}.npy holds {array_.dtype} {array_.shape}")
    if warn and manifest.get("skipped"):
        warnings.warn(f"{len(manifest['skipped'])} files/tunes of {', '.join(manifest['source'])}"
                      f" were skipped; the manifest {folder / 'manifest.json'} lists them",
                      DataWarning, stacklevel=3)
    return MusicData(arrays["train"], arrays["valid"], arrays["test"], manifest)
