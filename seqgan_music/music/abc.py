"""Melodies -> ABC, the notation folk musicians trade tunes in (abcnotation.com, standard 2.1).

`abc_tune(melody)` writes one tune: X, T, M, L (an eighth note), Q, K with the mode (`K:Edor`),
then the bars as written: a pick-up before the first bar line, the repeat signs and first and
second endings of `Melody.form` (`|:`, `:|`, `|1`, `:|2`, `||`), chord symbols of
`Melody.chords` in quotes above the notes they fall on, and ties where a note crosses a bar line
or a chord change. Accidentals are written against the key signature (`^` sharp, `_` flat, `=`
natural) on every note that needs one, so readers that do not carry accidentals through the bar
read the same notes. `write_abc` writes a tune book of several tunes (atomically).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from seqgan_music.io.runs import atomic_write
from seqgan_music.music.keys import abc_key, music21_key, spelled_pitch
from seqgan_music.music.melody import Melody
from seqgan_music.music.readers import abc_melody, split_abc_tunes

UNIT = 0.5  # L:1/8, in quarters
BARS_PER_LINE = 4
_EPS = 1e-6


def _length(quarters: float) -> str:
    """A duration in quarters as an ABC length in eighths: '' (1), '2', '3/2', '/', '/4'."""
    units = Fraction(quarters / UNIT).limit_denominator(48)
    if units == 1:
        return ""
    if units.denominator == 1:
        return str(units.numerator)
    if units.numerator == 1:
        return "/" if units.denominator == 2 else f"/{units.denominator}"
    return f"{units.numerator}/{units.denominator}"


def _signature_alters(key: tuple[int, str] | None) -> dict[str, int]:
    """Each letter's alteration (-1, 0, +1) in `key`'s signature."""
    if key is None:
        return {}
    return {p.step: int(p.alter) for p in music21_key(key).pitches}


def _pitch(pitch: int, key: tuple[int, str] | None, alters: dict[str, int]) -> str:
    """One pitch in ABC: accidental, letter (C = C4, c = C5), octave marks."""
    spelled = spelled_pitch(pitch, key)
    alter = int(spelled.alter)
    accidental = ""
    if alter != alters.get(spelled.step, 0):
        accidental = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}[alter]
    octave = int(spelled.octave)
    letter = spelled.step if octave <= 4 else spelled.step.lower()
    marks = "," * max(0, 4 - octave) + "'" * max(0, octave - 5)
    return accidental + letter + marks


def _bar_lines(melody: Melody, end: float) -> list[float]:
    """Bar lines strictly inside the tune: the melody's own, else every bar from a pick-up."""
    bar = melody.bar_length()
    lines = sorted({round(b, 6) for b in melody.bars if _EPS < b < end - _EPS})
    if lines:
        # carry on past the last written bar line where the melody goes on
        last = lines[-1]
        while last + bar < end - _EPS:
            last += bar
            lines.append(round(last, 6))
        return lines
    pickup = melody.pickup()
    first = pickup if pickup else bar
    return [round(first + i * bar, 6) for i in range(int(math.ceil((end - first) / bar)))
            if first + i * bar < end - _EPS]


def _marks_at(form: Sequence[tuple[float, str]], position: float) -> list[str]:
    return [mark for at, mark in form if abs(at - position) < _EPS]


def _bar_symbol(marks: list[str], final: bool = False) -> str:
    """The ABC bar line for a bar line with `marks` (form marks at that position)."""
    end = ":|" in marks
    start = "|:" in marks
    if end and start:
        symbol = ":||:"
    elif end:
        symbol = ":|"
    elif start:
        symbol = "|| |:" if "||" in marks else "|:"  # music21 does not read "||:"
    elif "||" in marks:
        symbol = "||"
    else:
        symbol = "|]" if final else "|"
    if "[1" in marks:
        symbol += "1" if symbol.endswith("|") else " [1"
    elif "[2" in marks:
        symbol += "2" if symbol.endswith("|") else " [2"
    return symbol


def abc_body(melody: Melody) -> str:
    """The notes of a melody as ABC bars (no header)."""
    key = melody.key
    alters = _signature_alters(key)
    notes = sorted((s, e, p) for s, e, p in melody.notes if e > s + _EPS)
    end = max(melody.length, notes[-1][1] if notes else 0.0)
    bars = _bar_lines(melody, end)
    chords = sorted((round(at, 6), name) for at, name in melody.chords if -_EPS < at < end)
    cuts = sorted({0.0, end, *bars, *(at for at, _ in chords)})
    # events: (start, end, pitch or None for a rest, tie to the next piece)
    events: list[tuple[float, float, int | None, bool]] = []
    position = 0.0
    for start, stop, pitch in notes:
        if start < position - _EPS:  # overlapping notes: the later one cuts the earlier
            continue
        if start > position + _EPS:
            events += _pieces(position, start, None, cuts)
        events += _pieces(start, stop, pitch, cuts)
        position = stop
    if end > position + _EPS:
        events += _pieces(position, end, None, cuts)
    chord_at = dict(chords)
    bar_set = set(bars)
    out: list[str] = []
    opening = _marks_at(melody.form, 0.0)
    if "|:" in opening:
        out.append("|: ")
    bars_done = 0
    for start, stop, sound, tied in events:
        at = round(start, 6)
        if at in bar_set and at > _EPS:
            out.append(" " + _bar_symbol(_marks_at(melody.form, at)))
            bars_done += 1
            out.append("\n" if bars_done % BARS_PER_LINE == 0 else " ")
            if bars_done % BARS_PER_LINE == 0 and out[-2].endswith(("1", "2")):
                out[-1] = " "  # keep an ending's number with its bar
        if at in chord_at:
            out.append(f'"{chord_at[at]}"')
        text = ("z" if sound is None else _pitch(sound, key, alters)) + _length(stop - start)
        out.append(text + ("-" if tied and sound is not None else ""))
    closing = _marks_at(melody.form, round(end, 6))
    out.append(" " + _bar_symbol(closing, final=True))
    return "".join(out).replace("  ", " ").strip() + "\n"


def _pieces(start: float, stop: float, pitch: int | None, cuts: Sequence[float]
            ) -> list[tuple[float, float, int | None, bool]]:
    """A note cut at the bar lines and chord changes inside it (tied), as ABC writes it."""
    inside = [c for c in cuts if start + _EPS < c < stop - _EPS]
    bounds = [start, *inside, stop]
    return [(a, b, pitch, i < len(bounds) - 2) for i, (a, b) in
            enumerate(zip(bounds[:-1], bounds[1:], strict=True))]


def abc_tune(melody: Melody, number: int = 1, title: str = "", tempo: float | None = None,
             composer: str = "") -> str:
    """One tune as ABC text, header included."""
    meter = f"{melody.meter[0]}/{melody.meter[1]}"
    lines = [f"X:{number}", f"T:{title or f'Tune {number}'}"]
    if composer:
        lines.append(f"C:{composer}")
    lines += [f"M:{meter}", "L:1/8"]
    if tempo:
        lines.append(f"Q:1/4={tempo:g}")
    lines.append(f"K:{abc_key(melody.key) if melody.key is not None else 'C'}")
    return "\n".join(lines) + "\n" + abc_body(melody)


def write_abc(melodies: Melody | Sequence[Melody], path: Path, titles: Sequence[str] = (),
              tempo: float | None = None, composer: str = "") -> Path:
    """An ABC tune book of `melodies` (one tune each, X:1, X:2...), written atomically."""
    tunes = [melodies] if isinstance(melodies, Melody) else list(melodies)
    texts = [abc_tune(m, i + 1, titles[i] if i < len(titles) else path.stem, tempo, composer)
             for i, m in enumerate(tunes)]
    with atomic_write(path, "w") as handle:
        handle.write("\n".join(texts))
    return path


def read_abc_melodies(text: str) -> list[Any]:
    """Every tune of ABC text as a `Melody` (a convenience for tests and the studio)."""
    header, tunes = split_abc_tunes(text)
    return [abc_melody(header + tune) for tune in tunes]


__all__ = ["abc_body", "abc_tune", "read_abc_melodies", "write_abc"]
