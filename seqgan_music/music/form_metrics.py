"""Form statistics of played melodies: what a folk musician checks before anything else.

`tune_form(melody)` measures one played tune (a `melody.Melody` in quarter notes whose notes are
as played: repeats expanded, see `music.form.expand_form`) into a `TuneForm`;
`form_statistics(melodies, copy_index)` aggregates them with the pitch statistics of
`metrics.melody_statistics`. `copy_index(melodies)` hashes every run of `COPY_RUN` notes of the
training tunes, so a composed tune that shares such a run with them counts as copying.

Definitions (docs/evaluation-form.md has them with the measured table):

- Bars are the spans between the melody's bar lines (`Melody.bars`); the first span is a pick-up
  when it is shorter than the meter's bar, and is then no bar; two successive short spans that
  add up to a bar are one bar (a strain's last bar and the next strain's pick-up, split by a
  repeat sign). Bars are numbered from the first full bar; the last span is the last bar.
- A bar's content is each note starting in it: (onset from the bar's start, length cut at the
  bar's end, MIDI pitch), on a grid of 1/48 quarter, with the bar's own length. A bar *repeats*
  when an earlier bar of the same tune has the same content.
- 4- and 8-bar phrases are bars 1-4, 5-8, ... (1-8, 9-16, ...): complete groups from the first
  full bar; a phrase repeats when an earlier phrase of the tune has the same bars, its last bar
  excepted (a phrase that comes back with another cadence, or with a second ending, repeats).
- AABB (tunes of >= 32 bars): bars 9-15 repeat bars 1-7 and bars 25-31 repeat bars 17-23 (the
  8th bar of each strain may differ: first and second endings).
- Wrong-length bars: bars whose length differs from the meter's (by more than 1/48 quarter),
  excluding the pick-up and the last bar; pooled over all such bars of all tunes.
- Syncopated notes: notes whose onset is off the beat and that are held across the next beat
  (or bar line); the beat is a dotted quarter in 6/8, 9/8, 12/8 and 3/8, else the meter's
  denominator. Beats are counted from each bar's start (a pick-up's from the bar line after
  it). Pooled over all notes.
  `syncopated_grid` counts the same on the meter's regular grid from the first full bar, where
  a listener (and a MIDI file) puts the beats whatever length the bars before were written.
- Ends on the tonic: the last note's pitch class is the tonic of the tune's estimated key
  (Krumhansl-Schmuckler, as `metrics.melody_statistics`).
- Length in bars: the tune's length (quarters) over its meter's bar.
- Copied: the tune shares a run of `COPY_RUN` successive notes (intervals between them and their
  lengths, so a transposed copy is a copy) with the training tunes.
- Distinct openings: distinct (pick-up + bars 1-2) contents over tunes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TICKS = 48  # grid per quarter for comparing bars (sixteenths, triplets and 32nds are exact)
EPS = 1.0 / (2 * TICKS)
COPY_RUN = 16
AABB_BARS = 32


@dataclass
class TuneForm:
    """One tune's form figures (counts, so that pooled shares can be formed)."""

    bars: int = 0  # bars from the first full bar (the last, partial one included)
    repeated_bars: int = 0
    phrases4: int = 0
    repeated4: int = 0
    phrases8: int = 0
    repeated8: int = 0
    aabb: bool | None = None  # None: shorter than 32 bars
    checked_bars: int = 0  # bars whose length is checked (no pick-up, no last bar)
    wrong_bars: int = 0
    notes: int = 0
    syncopated: int = 0
    syncopated_grid: int = 0  # beats of the meter counted from the first full bar, not per bar
    ends_on_tonic: bool = False
    length_bars: float = 0.0
    opening: tuple[Any, ...] = field(default_factory=tuple)

    @property
    def repeated_bar_share(self) -> float:
        return self.repeated_bars / self.bars if self.bars else 0.0


def beat_length(meter: tuple[int, int]) -> float:
    """Quarters per beat: a dotted quarter in compound meters (6/8, 9/8, 12/8, 3/8)."""
    num, den = meter
    if den == 8 and num % 3 == 0:
        return 1.5
    return 4.0 / den


def _spans(melody: Any) -> tuple[list[tuple[float, float]], tuple[float, float] | None]:
    """(bars as (start, end) from the first full bar, pick-up span or None).

    Two successive short spans that add up to one bar are one bar: a bar line written inside a
    bar, as a repeat sign between a strain's last bar and the next strain's pick-up is."""
    length = float(melody.length)
    bar = melody.bar_length()
    lines = sorted({round(float(b) * TICKS) / TICKS for b in melody.bars
                    if -EPS < b < length - EPS})
    if not lines or lines[0] > EPS:
        lines = [0.0, *lines]
    edges = [*lines, length]
    spans = [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b - a > EPS]
    merged: list[tuple[float, float]] = spans[:1]
    for a, b in spans[1:]:
        last = merged[-1]
        if len(merged) > 1 and last[1] - last[0] < bar - EPS and b - a < bar - EPS and \
                abs((b - a) + (last[1] - last[0]) - bar) < EPS:
            merged[-1] = (last[0], b)
        else:
            merged.append((a, b))
    spans = merged
    pickup = None
    if len(spans) > 1 and spans[0][1] - spans[0][0] < bar - EPS:
        pickup = spans.pop(0)
    return spans, pickup


def _content(starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray, lo: float,
             hi: float) -> tuple[Any, ...]:
    inside = (starts >= lo - EPS) & (starts < hi - EPS)
    onsets = np.rint((starts[inside] - lo) * TICKS).astype(np.int64)
    lengths = np.rint((np.minimum(ends[inside], hi) - starts[inside]) * TICKS).astype(np.int64)
    return (round((hi - lo) * TICKS), *zip(onsets.tolist(), lengths.tolist(),
                                           pitches[inside].tolist(), strict=True))


def _repeats(items: Sequence[Any]) -> int:
    seen: set[Any] = set()
    count = 0
    for item in items:
        count += item in seen
        seen.add(item)
    return count


def tune_form(melody: Any) -> TuneForm:
    """The form figures of one played melody (see the module docstring)."""
    from seqgan_music.music.keys import estimate_key

    notes = sorted(melody.notes)
    out = TuneForm(length_bars=float(melody.length) / melody.bar_length())
    if not notes:
        return out
    starts = np.array([n[0] for n in notes], dtype=np.float64)
    ends = np.array([n[1] for n in notes], dtype=np.float64)
    pitches = np.array([n[2] for n in notes], dtype=np.int64)
    spans, pickup = _spans(melody)
    bar = melody.bar_length()
    contents = [_content(starts, ends, pitches, a, b) for a, b in spans]
    out.bars = len(contents)
    out.repeated_bars = _repeats(contents)
    for size in (4, 8):  # a phrase's last bar may differ (a cadence, first/second endings)
        groups = [tuple(contents[i : i + size - 1])
                  for i in range(0, len(contents) - size + 1, size)]
        setattr(out, f"phrases{size}", len(groups))
        setattr(out, f"repeated{size}", _repeats(groups))
    if len(contents) >= AABB_BARS:
        c = contents
        out.aabb = c[8:15] == c[0:7] and c[24:31] == c[16:23]
    checked = spans[:-1]
    out.checked_bars = len(checked)
    out.wrong_bars = sum(abs((b - a) - bar) > EPS for a, b in checked)
    # syncopation: beats counted from each note's bar start (a pick-up's from the next line)
    bar_starts = np.array([a for a, _ in spans], dtype=np.float64)
    bar_ends = np.array([b for _, b in spans], dtype=np.float64)
    index = np.searchsorted(bar_starts, starts + EPS, side="right") - 1
    before = index < 0  # notes of the pick-up
    index = np.clip(index, 0, len(spans) - 1)
    origin = np.where(before, bar_starts[0] - bar, bar_starts[index])
    limit = np.where(before, bar_starts[0], bar_ends[index])
    beat = beat_length(melody.meter)
    position = (starts - origin) / beat
    off_beat = np.abs(position - np.rint(position)) * beat > EPS
    next_beat = np.minimum(origin + np.ceil(position - EPS / beat) * beat, limit)
    out.notes = len(notes)
    out.syncopated = int((off_beat & (ends > next_beat + EPS)).sum())
    # the same on the meter's own grid from the first full bar (where a MIDI file's beats are,
    # whatever length the bars written before have)
    grid = (starts - bar_starts[0]) / beat
    grid_off = np.abs(grid - np.rint(grid)) * beat > EPS
    grid_next = bar_starts[0] + np.ceil(grid - EPS / beat) * beat
    out.syncopated_grid = int((grid_off & (ends > grid_next + EPS)).sum())
    tonic, _ = estimate_key(notes)
    out.ends_on_tonic = bool(notes[-1][2] % 12 == tonic)
    head = _content(starts, ends, pitches, *pickup) if pickup else ()
    out.opening = (head, *contents[:2])
    return out


def tune_record(melody: Any) -> dict[str, Any]:
    """One tune's figures as plain values (counts and flags; the opening left out)."""
    from dataclasses import asdict

    record = asdict(tune_form(melody))
    del record["opening"]
    return record


def _run_keys(melody: Any, run: int = COPY_RUN) -> np.ndarray:
    """A 64-bit hash of each run of `run` successive notes: the intervals between them and
    their lengths (1/48 quarter), so a transposed copy hashes alike."""
    notes = sorted(melody.notes)
    if len(notes) < run:
        return np.zeros(0, dtype=np.uint64)
    pitches = np.array([n[2] for n in notes], dtype=np.int64)
    lengths = np.rint(np.array([n[1] - n[0] for n in notes]) * TICKS).astype(np.int64)
    steps = np.diff(pitches) + 128  # (notes - 1,)
    symbols = np.empty((len(notes), 2), dtype=np.uint64)
    symbols[:, 0] = np.concatenate([[0], steps]).astype(np.uint64)
    symbols[:, 1] = lengths.astype(np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(symbols, (run, 2))[:, 0]  # (W, run, 2)
    windows = windows.reshape(len(windows), 2 * run).copy()  # (W, 2 * run)
    windows[:, 0] = 0  # the first note's interval is outside the run
    rng = np.random.default_rng(12345)
    weights = rng.integers(1, 2**62, size=2 * run, dtype=np.int64).astype(np.uint64) | 1
    with np.errstate(over="ignore"):
        return (windows * weights).sum(1, dtype=np.uint64)  # (W,), wraps modulo 2**64


def copy_index(melodies: Sequence[Any], run: int = COPY_RUN) -> np.ndarray:
    """Sorted hashes of every run of `run` notes of `melodies` (e.g. the training tunes)."""
    keys = [_run_keys(m, run) for m in melodies]
    return np.unique(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.uint64)


def copies(melody: Any, index: np.ndarray, run: int = COPY_RUN) -> bool:
    """Whether `melody` shares a run of `run` notes with the tunes `index` was built from."""
    keys = _run_keys(melody, run)
    if not len(keys) or not len(index):
        return False
    found = index[np.minimum(np.searchsorted(index, keys), len(index) - 1)]  # index is sorted
    return bool((found == keys).any())


def note_entropy(melody: Any) -> float:
    """Pitch-class entropy (bits) counting notes, not time: MusPy's `pitch_class_entropy`."""
    counts = np.bincount(np.array([n[2] for n in melody.notes], dtype=np.int64) % 12,
                         minlength=12)
    share = counts[counts > 0] / counts.sum()
    return float(-(share * np.log2(share)).sum())


FIGURES = (
    ("repeated_bars", "bars that repeat an earlier bar exactly"),
    ("repeated_4bar", "4-bar phrases that repeat an earlier one"),
    ("repeated_8bar", "8-bar phrases that repeat an earlier one"),
    ("aabb", "AABB form (tunes of >= 32 bars)"),
    ("tunes_32_bars", "tunes of >= 32 bars"),
    ("wrong_length_bars", "wrong-length bars"),
    ("syncopated", "syncopated notes (held across a beat of their written bar)"),
    ("syncopated_grid", "syncopated notes (held across a beat of the meter's grid)"),
    ("ends_on_tonic", "ends on the tonic"),
    ("bars_median", "bars, median"),
    ("bars_mean", "bars, mean"),
    ("bars_min", "bars, min"),
    ("under_8_bars", "tunes under 8 bars"),
    ("ended", "tunes the model ended (not cut at the length cap)"),
    ("pitch_range", "pitch range (semitones)"),
    ("pc_entropy", "pitch-class entropy (bits, by duration)"),
    ("pc_entropy_notes", "pitch-class entropy (bits, by notes: MusPy's)"),
    ("in_scale", "in scale"),
    ("copied_16", "tunes with a 16-note run copied from the training tunes"),
    ("distinct_openings", "distinct openings (first 2 bars)"),
)


def form_statistics(melodies: Sequence[Any], train_index: np.ndarray | None = None
                    ) -> dict[str, float]:
    """Aggregated figures over played melodies (names in `FIGURES`).

    Repetition shares (bars, phrases) are means over tunes of each tune's share (tunes without a
    complete phrase are left out of that phrase figure); wrong-length bars and syncopated notes
    are pooled over all checked bars / notes; AABB is the share of tunes of >= 32 bars;
    pitch figures are `metrics.melody_statistics` means (`pc_entropy` weighs pitch classes by
    duration; `pc_entropy_notes` counts notes, as MusPy's `pitch_class_entropy`). `copied_16`
    is NaN without an index.
    """
    from seqgan_music.music.metrics import melody_statistics

    tunes = [tune_form(m) for m in melodies]
    if not tunes:
        raise ValueError("no melodies to measure")

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else math.nan

    long = [t.aabb for t in tunes if t.aabb is not None]
    lengths = np.array([t.length_bars for t in tunes])
    checked = sum(t.checked_bars for t in tunes)
    notes = sum(t.notes for t in tunes)
    pitch = melody_statistics([m for m in melodies if m.notes], whole_tunes=False)
    out = {
        "tunes": float(len(tunes)),
        "repeated_bars": mean([t.repeated_bar_share for t in tunes if t.bars]),
        "repeated_4bar": mean([t.repeated4 / t.phrases4 for t in tunes if t.phrases4]),
        "repeated_8bar": mean([t.repeated8 / t.phrases8 for t in tunes if t.phrases8]),
        "aabb": mean([float(a) for a in long]),
        "tunes_32_bars": len(long) / len(tunes),
        "wrong_length_bars": sum(t.wrong_bars for t in tunes) / checked if checked else 0.0,
        "syncopated": sum(t.syncopated for t in tunes) / notes if notes else 0.0,
        "syncopated_grid": sum(t.syncopated_grid for t in tunes) / notes if notes else 0.0,
        "ends_on_tonic": mean([float(t.ends_on_tonic) for t in tunes if t.notes]),
        "bars_median": float(np.median(lengths)),
        "bars_mean": float(lengths.mean()),
        "bars_min": float(lengths.min()),
        "under_8_bars": float((lengths < 8 - 1e-9).mean()),
        "ended": mean([float(bool(getattr(m, "ended", True))) for m in melodies]),
        "pitch_range": pitch["pitch_range"],
        "pc_entropy": pitch["pc_entropy"],
        "pc_entropy_notes": mean([note_entropy(m) for m in melodies if m.notes]),
        "in_scale": pitch["in_scale"],
        "copied_16": (mean([float(copies(m, train_index)) for m in melodies])
                      if train_index is not None else math.nan),
        "distinct_openings": len({t.opening for t in tunes}) / len(tunes),
    }
    return out
