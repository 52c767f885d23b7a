"""`Melody`: one tune in quarter notes, the common currency of the music plug-in.

Readers make one from a file, codecs encode one to tokens and decode tokens back to one, and
the writers (MIDI, ABC, MusicXML, WAV) and evaluators take one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Melody:
    """One melody in quarter notes: notes (start, end, MIDI pitch), meter, bar lines, key."""

    notes: list[tuple[float, float, int]]
    meter: tuple[int, int] = (4, 4)
    bars: list[float] = field(default_factory=list)  # bar-line positions (quarters)
    key: tuple[int, str] | None = None  # (tonic pitch class, "major"/"minor"), None: unknown
    end: float | None = None  # where the tune ends (quarters); default: its last note's end
    ended: bool = False  # the model wrote an end-of-tune token
    # The written form, at bar-line positions of the written (unexpanded) tune, in quarters:
    # (position, mark) with mark one of "|:" (repeat start), ":|" (repeat end), "[1" / "[2"
    # (first / second ending starts), "||" (part boundary). Empty: the notes are as played.
    form: list[tuple[float, str]] = field(default_factory=list)
    # Chord symbols (position in quarters of the written tune, symbol such as "G", "Em", "D7").
    chords: list[tuple[float, str]] = field(default_factory=list)

    @property
    def length(self) -> float:
        last = max((n[1] for n in self.notes), default=0.0)
        return max(last, self.end or 0.0)

    def pickup(self) -> float:
        """Quarters before the first bar line (0 when the tune starts on one)."""
        bar = self.bar_length()
        first = next((b for b in self.bars if b > 1e-9), None)
        if first is None or first >= bar - 1e-9:
            return 0.0
        return first

    def bar_length(self) -> float:
        return self.meter[0] * 4.0 / self.meter[1]

    def lead_in(self) -> float:
        """Silence (quarters) written before a pick-up so that bar lines fall on bars."""
        pickup = self.pickup()
        return (self.bar_length() - pickup) % self.bar_length() if pickup else 0.0


# A mode: semitones from its relative major's tonic to its own tonic (the church modes of one
