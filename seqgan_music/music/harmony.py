"""Chords for a melody: a hidden Markov model over half-bars, decoded with Viterbi.

A folk tune's chords are few (I, IV, V, V7, vi, ii... of its key), change on strong beats, and
are implied by the melody notes that sound over them. `harmonise(melody)` cuts the tune into
chord slots (half a bar in 2/2, 4/4, 6/8 and 12/8; a bar in 2/4, 3/4, 3/8, 9/8 and 3/2), scores
each candidate chord by the slot's pitch classes (duration-weighted, notes on the slot's
downbeat counted twice) under learned emission probabilities, and picks the likeliest chord
sequence under learned chord-to-chord transitions, a learned first chord and a learned last
chord (Viterbi). Everything is key-relative: chords are (root in semitones above the tonic,
quality), learned separately for major-like modes (major, mixolydian, lydian) and minor-like
ones (minor, dorian, phrygian, locrian).

The tables ship in `harmony.json`, learned from the chord symbols of the Nottingham ABC
sources by `learn_table` (`python benchmarks/folk_chords.py --learn`); `chord_statistics`
measures a harmonisation (chord tones on strong beats, chord changes per bar, V-I at strain
ends), which is how this module was chosen over chord tokens in the model's sequence (see
docs/folk.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from seqgan_music.music.keys import FLAT_NAMES, KEY_TONICS, NOTE_NAMES, key_sharps
from seqgan_music.music.melody import Melody

QUALITIES = {"": (0, 4, 7), "m": (0, 3, 7), "7": (0, 4, 7, 10)}
MINOR_LIKE = ("minor", "dorian", "phrygian", "locrian")
_EPS = 1e-6


def family(mode: str) -> str:
    return "minor" if mode in MINOR_LIKE else "major"


def parse_chord(name: str) -> tuple[int, str] | None:
    """'G' -> (7, ''), 'F#m' -> (6, 'm'), 'D7' -> (2, '7'); None for what is not one of these."""
    text = name.strip().split("/")[0]
    if not text or text[0].upper() not in "ABCDEFG":
        return None
    letter, rest = text[0].upper(), text[1:]
    accidental = rest[:1] if rest[:1] in ("#", "b") else ""
    rest = rest[len(accidental):]
    quality = {"": "", "m": "m", "min": "m", "7": "7", "m7": "m", "maj": "", "6": "",
               "maj7": "", "m6": "m", "dim": "m", "sus4": "", "9": "7"}.get(rest)
    if quality is None:
        return None
    return KEY_TONICS[(letter + accidental).upper()], quality


def chord_name(root: int, quality: str, key: tuple[int, str] | None) -> str:
    """A chord's name with its root spelled as the key's signature spells it."""
    flats = key is not None and key_sharps(key) < 0
    return (FLAT_NAMES if flats else NOTE_NAMES)[root % 12] + quality


def slot_length(meter: tuple[int, int]) -> float:
    """Quarters per chord slot: half a bar where a bar has two strong beats, else a bar."""
    bar = meter[0] * 4.0 / meter[1]
    return bar / 2 if meter[0] in (2, 4, 6, 12) and meter != (2, 4) else bar


def slots(melody: Melody) -> list[tuple[float, float]]:
    """The chord slots (start, end) of a melody in quarters, from its first full bar (a
    pick-up gets no chord) to its last note."""
    if not melody.notes:
        return []
    size = slot_length(melody.meter)
    first = melody.pickup()
    bars = sorted(b for b in melody.bars if b >= first - _EPS)
    end = max(n[1] for n in melody.notes)
    found: list[tuple[float, float]] = []
    starts = bars or [first]
    bar = melody.bar_length()
    last = starts[-1]
    while last + bar < end - _EPS:
        last += bar
        starts.append(last)
    for index, start in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else start + bar
        position = start
        while position < min(stop, end) - _EPS:
            found.append((position, min(position + size, stop)))
            position += size
    return found


def slot_weights(melody: Melody, start: float, stop: float, tonic: int) -> np.ndarray:
    """(12,) duration of each pitch class (relative to `tonic`) sounding in a slot, in eighths;
    a note struck on the slot's downbeat counts twice."""
    weights = np.zeros(12)
    for on, off, pitch in melody.notes:
        overlap = min(off, stop) - max(on, start)
        if overlap > _EPS:
            weights[(pitch - tonic) % 12] += overlap * 2 * (2.0 if abs(on - start) < _EPS
                                                            else 1.0)
    return weights


def chord_at(chords: Sequence[tuple[float, str]], position: float) -> str | None:
    """The chord sounding at `position` (the last symbol at or before it)."""
    current = None
    for at, name in chords:
        if at <= position + _EPS:
            current = name
        else:
            break
    return current


def labelled_slots(melody: Melody) -> list[tuple[np.ndarray, tuple[int, str] | None]]:
    """Each slot's pitch-class weights and its key-relative chord (None: no known chord)."""
    if melody.key is None:
        return []
    tonic = melody.key[0]
    chords = sorted(melody.chords)
    out = []
    for start, stop in slots(melody):
        name = chord_at(chords, start + _EPS)
        parsed = parse_chord(name) if name else None
        relative = ((parsed[0] - tonic) % 12, parsed[1]) if parsed else None
        out.append((slot_weights(melody, start, stop, tonic), relative))
    return out


def learn_table(melodies: Sequence[Melody], min_share: float = 0.003) -> dict[str, Any]:
    """Start, transition, emission and end probabilities per mode family, from melodies with
    chord symbols; chords rarer than `min_share` of the slots are left out."""
    counts: dict[str, dict[tuple[int, str], int]] = {"major": {}, "minor": {}}
    sequences: dict[str, list[list[tuple[np.ndarray, tuple[int, str]]]]] = {"major": [],
                                                                            "minor": []}
    for melody in melodies:
        labelled = [(w, c) for w, c in labelled_slots(melody) if c is not None]
        if len(labelled) < 4 or melody.key is None:
            continue
        fam = family(melody.key[1])
        sequences[fam].append(labelled)
        for _, chord in labelled:
            counts[fam][chord] = counts[fam].get(chord, 0) + 1
    table: dict[str, Any] = {"families": {}}
    for fam, seqs in sequences.items():
        total = sum(counts[fam].values())
        if not total:
            continue
        vocab = sorted(c for c, n in counts[fam].items() if n >= min_share * total)
        index = {c: i for i, c in enumerate(vocab)}
        size = len(vocab)
        start = np.ones(size)
        end = np.ones(size)
        transition = np.ones((size, size))
        emission = np.full((size, 12), 0.5)
        for seq in seqs:
            kept = [(w, index[c]) for w, c in seq if c in index]
            if not kept:
                continue
            start[kept[0][1]] += 1
            end[kept[-1][1]] += 1
            for (_, a), (_, b) in zip(kept[:-1], kept[1:], strict=True):
                transition[a, b] += 1
            for weights, c in kept:
                emission[c] += weights
        table["families"][fam] = {
            "chords": [[root, quality] for root, quality in vocab],
            "start": (start / start.sum()).round(5).tolist(),
            "end": (end / end.sum()).round(5).tolist(),
            "transition": (transition / transition.sum(1, keepdims=True)).round(5).tolist(),
            "emission": (emission / emission.sum(1, keepdims=True)).round(5).tolist(),
            "tunes": len(seqs), "slots": int(total)}
    return table


@lru_cache(maxsize=1)
def shipped_table() -> dict[str, Any]:
    """The tables learned from the Nottingham chord symbols (shipped with the package)."""
    text = resources.files("seqgan_music.music").joinpath("harmony.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def harmonise(melody: Melody, table: dict[str, Any] | None = None
              ) -> list[tuple[float, str]]:
    """Chord symbols for a melody: (position in quarters, name), one where the chord changes.

    Uses the melody's key (its tonic and mode family); the Viterbi path of the family's HMM
    over the melody's chord slots. A melody without notes or key gets no chords.
    """
    if melody.key is None or not melody.notes:
        return []
    table = table or shipped_table()
    model = table["families"].get(family(melody.key[1])) or table["families"]["major"]
    chords = [(int(r), str(q)) for r, q in model["chords"]]
    log_start = np.log(np.asarray(model["start"]))
    log_end = np.log(np.asarray(model["end"]))
    log_transition = np.log(np.asarray(model["transition"]))
    log_emission = np.log(np.asarray(model["emission"]))
    tonic = melody.key[0]
    positions = slots(melody)
    if not positions:
        return []
    scores = np.stack([log_emission @ slot_weights(melody, a, b, tonic)
                       for a, b in positions])  # (S, C)
    best = log_start + scores[0]
    back = np.zeros((len(positions), len(chords)), dtype=np.int64)
    for step in range(1, len(positions)):
        candidates = best[:, None] + log_transition  # (C, C): from, to
        back[step] = candidates.argmax(0)
        best = candidates.max(0) + scores[step]
    best = best + log_end
    path = [int(best.argmax())]
    for step in range(len(positions) - 1, 0, -1):
        path.append(int(back[step, path[-1]]))
    path.reverse()
    out: list[tuple[float, str]] = []
    for (start, _), index in zip(positions, path, strict=True):
        root, quality = chords[index]
        name = chord_name(tonic + root, quality, melody.key)
        if not out or out[-1][1] != name:
            out.append((round(start, 6), name))
    return out


def name_pitch_classes(pitch_classes: set[int]) -> str | None:
    """The chord name (absolute: 'G', 'Em', 'D7') whose tones best cover a set of sounding
    pitch classes; None for fewer than two."""
    if len(pitch_classes) < 2:
        return None
    best: tuple[float, str] | None = None
    for root in range(12):
        for quality, steps in QUALITIES.items():
            tones = {(root + s) % 12 for s in steps}
            score = len(tones & pitch_classes) - 0.6 * len(pitch_classes - tones) \
                - 0.3 * len(tones - pitch_classes) + (0.1 if root in pitch_classes else 0.0)
            if best is None or score > best[0]:
                best = (score, NOTE_NAMES[root] + quality)
    return best[1] if best else None


def midi_chords(path: Any, tempo_free: bool = True) -> list[tuple[float, str]]:
    """The chord symbols of a MIDI file's accompaniment (every pitched track but the melody,
    which is the highest): the chord struck at each onset, named by `name_pitch_classes`, in
    quarters; a chord repeated is written once. The Nottingham MIDI files ship such a track."""
    import warnings

    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        midi = pretty_midi.PrettyMIDI(str(path))
    tracks = [t for t in midi.instruments if not t.is_drum and t.notes]
    if len(tracks) < 2:
        return []
    melody = max(tracks, key=lambda t: float(np.mean([n.pitch for n in t.notes])))
    onsets: dict[float, set[int]] = {}
    for track in tracks:
        if track is melody:
            continue
        for note in track.notes:
            at = round(float(midi.time_to_tick(note.start)) / midi.resolution, 3)
            onsets.setdefault(at, set()).add(note.pitch % 12)
    out: list[tuple[float, str]] = []
    for at in sorted(onsets):
        name = name_pitch_classes(onsets[at])
        if name is not None and (not out or out[-1][1] != name):
            out.append((at, name))
    return out


def chord_tones(name: str) -> set[int]:
    parsed = parse_chord(name)
    if parsed is None:
        return set()
    root, quality = parsed
    return {(root + step) % 12 for step in QUALITIES[quality]}


def strong_beats(melody: Melody) -> float:
    """Quarters between strong beats: a dotted quarter in compound meters (6/8, 9/8, 12/8),
    else the meter's beat."""
    num, den = melody.meter
    if den == 8 and num % 3 == 0:
        return 1.5
    return 4.0 / den


def chord_statistics(melody: Melody, chords: Sequence[tuple[float, str]],
                     strain_bars: int = 8) -> dict[str, float]:
    """How a harmonisation sits with its melody: `in_chord` (share of notes struck on a strong
    beat whose pitch class is a chord tone), `changes_per_bar`, and `cadences` / `strain_ends`
    (strain ends, every `strain_bars` bars from the first full bar and the tune's end, whose last
    chord is the tonic's reached from its dominant, V or V7)."""
    chords = sorted(chords)
    if melody.key is None or not chords or not melody.notes:
        return {"in_chord": 0.0, "struck": 0, "changes_per_bar": 0.0, "cadences": 0,
                "strain_ends": 0, "bars": 0}
    first = melody.pickup()
    beat = strong_beats(melody)
    inside = struck = 0
    for on, _, pitch in melody.notes:
        if on < first + chords[0][0] - first - _EPS:
            continue
        if abs((on - first) / beat - round((on - first) / beat)) > _EPS:
            continue
        name = chord_at(chords, on + _EPS)
        if name is None:
            continue
        struck += 1
        inside += pitch % 12 in chord_tones(name)
    end = max(n[1] for n in melody.notes)
    bar = melody.bar_length()
    bars = max((end - first) / bar, 1.0)
    changes = sum(1 for i in range(1, len(chords)) if chords[i][1] != chords[i - 1][1])
    tonic = melody.key[0]
    ends = [first + k * strain_bars * bar for k in range(1, int(bars // strain_bars) + 1)]
    if not ends or end - ends[-1] > bar / 2:
        ends.append(end)
    cadences = 0
    for at in ends:
        last = chord_at(chords, at - _EPS)
        previous = None
        for position, name in reversed(chords):
            if position < at - _EPS and name != last:
                previous = name
                break
        parsed_last = parse_chord(last) if last else None
        parsed_previous = parse_chord(previous) if previous else None
        if parsed_last and parsed_previous and (parsed_last[0] - tonic) % 12 == 0 and \
                (parsed_previous[0] - tonic) % 12 == 7 and parsed_previous[1] in ("", "7"):
            cadences += 1
    return {"in_chord": inside / struck if struck else 0.0, "struck": struck,
            "changes_per_bar": changes / bars, "cadences": cadences, "strain_ends": len(ends),
            "bars": bars}


def summarise(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Corpus figures from per-tune `chord_statistics`: notes in chord (pooled), changes per
    bar (pooled), share of strain ends with a V-I cadence."""
    struck = sum(r["struck"] for r in rows)
    bars = sum(r["bars"] for r in rows)
    ends = sum(r["strain_ends"] for r in rows)
    return {"tunes": len(rows),
            "in_chord": sum(r["in_chord"] * r["struck"] for r in rows) / struck if struck
            else math.nan,
            "changes_per_bar": sum(r["changes_per_bar"] * r["bars"] for r in rows) / bars
            if bars else math.nan,
            "cadences": sum(r["cadences"] for r in rows) / ends if ends else math.nan}


__all__ = ["chord_statistics", "harmonise", "learn_table", "parse_chord", "slots",
           "summarise"]
