"""The music vocabulary: 0 = rest, 1..88 = MIDI pitches 21..108 (the 88 piano keys)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

REST = 0
LOWEST_PITCH = 21  # A0
HIGHEST_PITCH = 108  # C8
NUM_PITCHES = HIGHEST_PITCH - LOWEST_PITCH + 1  # 88
VOCAB_SIZE = NUM_PITCHES + 1  # 89 with the rest
STEP_SECONDS = 0.4  # the paper samples the melody every 0.4 s
WINDOW = 32  # the paper's sequence length
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_to_token(pitch: int) -> int:
    """MIDI pitch -> token; pitches outside the piano are moved by octaves into it."""
    while pitch < LOWEST_PITCH:
        pitch += 12
    while pitch > HIGHEST_PITCH:
        pitch -= 12
    return pitch - LOWEST_PITCH + 1


def token_to_pitch(token: int) -> int | None:
    """Token -> MIDI pitch, None for a rest."""
    if not 0 <= token < VOCAB_SIZE:
        raise ValueError(f"token {token} is outside the music vocabulary 0..{VOCAB_SIZE - 1}")
    return None if token == REST else token + LOWEST_PITCH - 1


def token_name(token: int) -> str:
    """'C4'-style name of a token ('r' for a rest)."""
    pitch = token_to_pitch(token)
    if pitch is None:
        return "r"
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def windows(sequence: np.ndarray, length: int = WINDOW, overlap: int = 0) -> np.ndarray:
    """Cut one tune (L,) into windows (N, length) with `overlap` steps shared by neighbours.

    The incomplete tail is dropped (the paper's 4,930 sequences from the jukedeck melodies).
    """
    if not 0 <= overlap < length:
        raise ValueError(f"overlap {overlap} must be in 0..{length - 1}")
    stride = length - overlap
    if len(sequence) < length:
        return np.zeros((0, length), dtype=np.int64)
    starts = range(0, len(sequence) - length + 1, stride)
    return np.stack([sequence[s : s + length] for s in starts]).astype(np.int64)


@dataclass(frozen=True)
class Note:
    """A note of a melody in steps: `start` and `steps` count 0.4 s (one quarter at 150 qpm)."""

    pitch: int
    start: int
    steps: int


def tokens_to_notes(tokens: Sequence[int] | np.ndarray) -> list[Note]:
    """Merge each run of one pitch into one held note; rests are silence."""
    notes: list[Note] = []
    values = [int(t) for t in tokens]
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            pitch = token_to_pitch(values[start])
            if pitch is not None:
                notes.append(Note(pitch, start, i - start))
            start = i
    return notes
