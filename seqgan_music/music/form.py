"""The written form of a tune: repeat signs, first and second endings, part boundaries.

A `melody.Melody` read from ABC keeps the tune as it is written (each strain once) and lists
its form marks in `Melody.form`: (position in quarters of the written tune, mark), a mark one of
"|:" (repeat start), ":|" (repeat end), "[1" / "[2" (first / second ending starts), "||" (part
boundary). `expand_form` unfolds it into the tune as played, which is what MIDI and WAV need.

Repeat rules (those of ABC): ":|" goes back to the last "|:", or, when there is none since, to
the previous ":|" or the start of the tune, its pick-up left out (music21's `expandRepeats`
goes back to the start of the tune instead, and plays the tune AAB AB for "A :| B :|"); on the
second time through, the bars of a first ending are skipped and the tune goes on at the second
ending.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from seqgan_music._deprecated import moved_name
from seqgan_music.music.melody import Melody

MARKS = ("|:", ":|", "[1", "[2", "||")
# order of marks at one position: a repeat end closes the bar before, then a part boundary,
# then a new repeat starts and an ending opens on the bar after
_ORDER = {":|": 0, "||": 1, "|:": 2, "[1": 3, "[2": 4}
_EPS = 1e-6


def sorted_marks(form: list[tuple[float, str]]) -> list[tuple[float, str]]:
    return sorted(((float(p), m) for p, m in form if m in _ORDER),
                  key=lambda item: (round(item[0], 6), _ORDER[item[1]]))


def played_segments(form: list[tuple[float, str]], end: float, pickup: float = 0.0
                    ) -> list[tuple[float, float]]:
    """The written tune's spans [start, stop) in quarters, in the order they are played; a
    repeat back to the start leaves out the pick-up (`pickup` quarters before the first bar
    line: the bar before the repeat sign holds it again, or the tune is read without it)."""
    segments: list[tuple[float, float]] = []
    played_from = 0.0  # start of the span being played
    back_to = pickup  # where the next ":|" goes back to
    first_ending: float | None = None
    skip_to: float | None = None  # after a repeat with a first ending: the second ending
    marks = sorted_marks(form)
    for index, (position, mark) in enumerate(marks):
        if position > end + _EPS:
            break
        if mark == "|:":
            back_to = position
            first_ending = None
        elif mark == "[1":
            first_ending = position
        elif mark == "[2" and skip_to is not None:
            skip_to = None
        elif mark == ":|":
            if position <= played_from + _EPS and not segments:
                continue
            segments.append((played_from, position))
            stop = first_ending if first_ending is not None and first_ending > back_to else None
            segments.append((back_to, stop if stop is not None else position))
            played_from = position
            if stop is not None:  # go on at the second ending (normally right here)
                second = next((p for p, m in marks[index + 1 :] if m == "[2"), None)
                if second is not None:
                    played_from = second
            back_to = position
            first_ending = None
    if end > played_from + _EPS:
        segments.append((played_from, end))
    return [(a, b) for a, b in segments if b > a + _EPS]


def expand_form(melody: Melody) -> Melody:
    """The tune as played: repeats and endings unfolded (notes, bar lines and chord symbols
    moved accordingly), `form` cleared. A melody without form marks is returned unchanged."""
    if not melody.form:
        return melody
    end = melody.length
    notes: list[tuple[float, float, int]] = []
    bars: list[float] = []
    chords: list[tuple[float, str]] = []
    at = 0.0
    for start, stop in played_segments(melody.form, end, melody.pickup()):
        shift = at - start
        for a, b, pitch in melody.notes:
            if start - _EPS <= a < stop - _EPS:
                notes.append((a + shift, min(b, stop) + shift, pitch))
        for bar in melody.bars:
            if start - _EPS <= bar < stop - _EPS and (not bars or bar + shift > bars[-1] + _EPS):
                bars.append(bar + shift)
        for position, symbol in melody.chords:
            if start - _EPS <= position < stop - _EPS:
                chords.append((position + shift, symbol))
        at += stop - start
        if bars and abs(bars[-1] - at) > _EPS and stop < end - _EPS:
            bars.append(at)  # a repeat sign is a bar line
    bars = sorted({round(b, 6) for b in bars})
    return replace(melody, notes=notes, bars=[float(b) for b in bars], chords=chords, form=[],
                   end=at)


def on_downbeats(melody: Melody) -> Melody:
    """The melody re-timed so that every bar line after the first falls a whole bar after the
    one before: a bar written short is followed by silence, one written long is cut at the next
    bar line, so a listener's downbeat stays where the bar lines are (MIDI has no bar lines of
    its own). The pick-up before the first bar line stays as it is."""
    bar = melody.bar_length()
    lines = sorted(b for b in melody.bars if b > _EPS)
    steps = [b - a for a, b in zip(lines, lines[1:], strict=False)]
    if len(lines) < 2 or all(abs(step - bar) < _EPS for step in steps):
        return melody
    first = lines[0]

    def moved(position: float) -> tuple[float, float]:
        """(new position, end of its bar) for a position at or after the first bar line."""
        index = max(i for i, b in enumerate(lines) if b <= position + _EPS)
        start = first + index * bar
        return start + position - lines[index], start + bar

    notes = []
    for start, end, pitch in melody.notes:
        if start < first - _EPS:
            notes.append((start, end, pitch))
            continue
        new_start, bar_end = moved(start)
        if new_start < bar_end - _EPS:  # notes past a long bar's length are dropped
            notes.append((new_start, min(new_start + end - start, bar_end), pitch))
    chords = [(moved(p)[0] if p >= first - _EPS else p, c) for p, c in melody.chords]
    end = first + len(lines) * bar
    last = lines[-1]
    if melody.length > last + _EPS:
        end = first + (len(lines) - 1) * bar + min(melody.length - last, bar)
    return replace(melody, notes=notes, bars=[b for b in melody.bars if b <= _EPS]
                   + [first + i * bar for i in range(len(lines))], chords=chords, end=end)


def __getattr__(name: str) -> Any:
    """Names that moved to `music.readers` keep working until 0.3
    (`seqgan_music._deprecated`)."""
    return moved_name(__name__, name)
