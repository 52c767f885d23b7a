"""A MIDI file's pitched tracks as notes in seconds, read with pretty_midi's semantics.

Corpus reading is bound by the MIDI parser: pretty_midi parses with mido, in Python (about 700
small files a second on a 2-core machine). symusic (a C++ parser, MIT licence) reads the same
files 30-60x faster. `read_tracks` parses with symusic when it is installed and gives the notes
pretty_midi would give:

- times in seconds by pretty_midi's arithmetic: float64, 120 bpm until the first tempo event,
  `60 / ((6e7 / mspq) * ticks_per_quarter)` seconds a tick, a tempo event that repeats the
  current tempo ignored (symusic's own seconds are float32);
- notes with no duration dropped (pretty_midi keeps a note open until a later note-off; the
  melody sampler drops zero-length notes either way);
- drums are channel 10; the file's end is its last note, controller, pitch bend, tempo, time or
  key signature event, as `PrettyMIDI.get_end_time` counts it (text events aside).

Where the two parsers could disagree, the file is read with pretty_midi instead: a tempo event
outside the first track (pretty_midi ignores those), a note that starts again on its pitch before
it ended (pretty_midi ends both at the first note-off, symusic pairs them in order), a file
symusic refuses or one past pretty_midi's largest tick (pretty_midi says why, in its words).
Both split a track into one part per program and channel, in different orders: a caller whose
choice depends on the order (the first of several parts named "melody") re-reads with
`reader="pretty_midi"`, as `readers.midi_melody_notes` does. On the 1,034
Nottingham files and on the synthetic corpora of `benchmarks/bench_corpus.py` the two readers
give the same notes and ends for every file (`tests/test_midi_notes.py`).

`SEQGAN_MUSIC_MIDI_READER=pretty_midi` forces pretty_midi everywhere.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_TICK = 10_000_000  # pretty_midi's limit on a file's largest tick (its MAX_TICK)


class MidiReadError(Exception):
    """The file is not a MIDI file either parser can use; the message says why."""


@dataclass
class MidiTrack:
    """One part: its name, whether it is drums, its notes (start s, end s, pitch)."""

    name: str
    is_drum: bool
    notes: list[tuple[float, float, int]] = field(default_factory=list)


def reader_name() -> str:
    """The parser `read_tracks` uses: "symusic" when installed (unless the environment
    variable `SEQGAN_MUSIC_MIDI_READER` says "pretty_midi"), else "pretty_midi"."""
    wanted = os.environ.get("SEQGAN_MUSIC_MIDI_READER", "auto").strip().lower() or "auto"
    if wanted == "pretty_midi":
        return "pretty_midi"
    try:
        import symusic  # noqa: F401
    except ImportError:
        return "pretty_midi"
    return "symusic"


def read_tracks(path: Path, reader: str = "auto") -> tuple[list[MidiTrack], float]:
    """The tracks of a MIDI file that hold notes, and the file's end in seconds.

    `reader`: "auto" (`reader_name()`), "symusic" or "pretty_midi". Raises `MidiReadError`.
    """
    chosen = reader_name() if reader == "auto" else reader
    if chosen == "symusic":
        result = _read_symusic(path)
        if result is not None:
            return result
    return _read_pretty_midi(path)


def _read_pretty_midi(path: Path) -> tuple[list[MidiTrack], float]:
    import pretty_midi

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. tempo events on non-zero tracks: harmless
            midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as error:  # pretty_midi/mido raise many types on corrupt input
        if "largest tick" in str(error):  # pretty_midi refuses files past MAX_TICK
            raise MidiReadError(
                f"too long: {str(error).split(',')[0][len('MIDI file has a '):]} exceeds the "
                "MIDI reader's limit (a note or event hours long?)") from None
        raise MidiReadError(f"not a readable MIDI file ({type(error).__name__})") from None
    tracks = [MidiTrack(i.name or "", bool(i.is_drum), [(n.start, n.end, n.pitch) for n in i.notes])
              for i in midi.instruments if i.notes]
    return tracks, float(midi.get_end_time())


def _read_symusic(path: Path) -> tuple[list[MidiTrack], float] | None:
    """The tracks by symusic, or None where pretty_midi could read the file differently (or
    where symusic cannot read it: pretty_midi then says why, in its words)."""
    import symusic

    try:
        data = path.read_bytes()
    except OSError as error:
        raise MidiReadError(f"cannot be read ({error.strerror or error})") from None
    if _tempo_outside_first_track(data) is not False:
        return None
    try:
        score: Any = symusic.Score.from_midi(data)  # its type stubs lack the attributes
    except Exception:  # noqa: BLE001 - symusic raises RuntimeError/ValueError on bad input
        return None
    try:
        return _tracks_of(score)
    except (ArithmeticError, ValueError):  # odd values: pretty_midi decides
        return None


def _tracks_of(score: Any) -> tuple[list[MidiTrack], float] | None:
    """A parsed symusic score as pretty_midi's tracks and end (None: leave it to pretty_midi)."""
    tempos = score.tempos.numpy()
    if score.end() > MAX_TICK or (len(tempos["time"]) and int(tempos["time"].max()) > MAX_TICK):
        return None  # pretty_midi's refusal, in its words
    if score.ticks_per_quarter <= 0 or (len(tempos["mspq"]) and int(tempos["mspq"].min()) <= 0):
        return None  # a zero tempo or resolution: pretty_midi's error, in its words
    to_seconds = _tick_to_seconds(score.ticks_per_quarter, tempos["time"], tempos["mspq"])
    tracks: list[MidiTrack] = []
    last = [0]
    for track in score.tracks:
        for kind in (track.controls, track.pitch_bends):
            if len(kind):
                last.append(int(kind.numpy()["time"].max()))
        notes = track.notes.numpy()
        if len(notes["time"]) == 0:
            continue
        start = notes["time"].astype(np.int64)
        end = start + notes["duration"].astype(np.int64)
        pitches = notes["pitch"].astype(np.int64)
        if _restarted(start, end, pitches):
            return None
        last.append(int(end.max()))
        keep = end > start
        if keep.any():
            tracks.append(MidiTrack(track.name or "", bool(track.is_drum), list(zip(
                to_seconds(start[keep]).tolist(), to_seconds(end[keep]).tolist(),
                pitches[keep].tolist(), strict=True))))
    for events in (score.tempos, score.time_signatures, score.key_signatures):
        if len(events):
            last.append(int(events.numpy()["time"].max()))
    return tracks, float(to_seconds(np.array([max(last)], dtype=np.int64))[0])


def _tick_to_seconds(resolution: int, times: np.ndarray, mspq: np.ndarray) -> Any:
    """pretty_midi's tick -> seconds map (`_update_tick_to_time`) as a function of tick arrays:
    the same float64 operations, so the same seconds to the last bit."""
    scales = [(0, 60.0 / (120.0 * resolution))]
    for tick, tempo in zip(times.tolist(), mspq.tolist(), strict=True):
        scale = 60.0 / ((6e7 / tempo) * resolution)
        if tick == 0:
            scales = [(0, scale)]
        elif scale != scales[-1][1]:
            scales.append((tick, scale))
    starts = [0.0]  # the time at each change's tick
    for (tick, scale), (next_tick, _) in zip(scales[:-1], scales[1:], strict=True):
        starts.append(starts[-1] + scale * (next_tick - tick))
    change_ticks = np.array([tick for tick, _ in scales], dtype=np.int64)
    change_scales = np.array([scale for _, scale in scales])
    change_starts = np.array(starts)

    def convert(ticks: np.ndarray) -> np.ndarray:
        k = np.searchsorted(change_ticks, ticks, side="right") - 1
        return change_starts[k] + change_scales[k] * (ticks - change_ticks[k])

    return convert


def _tempo_outside_first_track(data: bytes) -> bool | None:
    """Whether a tempo event may lie in a track other than the first (pretty_midi ignores
    those); None for a file whose chunks do not parse. A byte search, so a false alarm (the
    three bytes inside other data) only costs the slower reader."""
    if len(data) < 14 or data[:4] != b"MThd":
        return None
    tracks = int.from_bytes(data[10:12], "big")
    position = 8 + int.from_bytes(data[4:8], "big")
    for index in range(tracks):
        if data[position:position + 4] != b"MTrk":
            return None
        length = int.from_bytes(data[position + 4:position + 8], "big")
        if index > 0 and data.find(b"\xff\x51\x03", position + 8, position + 8 + length) >= 0:
            return True
        position += 8 + length
    return False


def _restarted(start: np.ndarray, end: np.ndarray, pitch: np.ndarray) -> bool:
    """Whether a note starts on its pitch before the previous one of that pitch ended (symusic
    pairs note-offs in order; pretty_midi ends every open note of the pitch at once)."""
    order = np.lexsort((start, pitch))
    same = pitch[order][1:] == pitch[order][:-1]
    return bool((same & (start[order][1:] < end[order][:-1])).any())
