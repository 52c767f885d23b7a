"""Melody tokens -> MIDI, WAV, piano-roll PNG and MusicXML files (written atomically).

One step lasts 60 / tempo seconds: at the default 150 qpm one 0.4 s step is one quarter note,
so notation stays clean. Runs of one pitch become one held note; rests are silence. A MIDI file
ends exactly where its tokens end (a final all-notes-off control change marks the end even
when the tune ends with rests), so reading it back gives the same tokens.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqgan_music.errors import ConfigError
from seqgan_music.music.tokens import (
    HIGHEST_PITCH,
    LOWEST_PITCH,
    NUM_PITCHES,
    token_name,
    tokens_to_notes,
)
from seqgan_music.runs import atomic_path, atomic_write

DEFAULT_TEMPO = 150.0
DEFAULT_VELOCITY = 90  # the Nottingham MIDI files' velocity
ALL_NOTES_OFF = 123


def step_seconds(tempo: float) -> float:
    return 60.0 / tempo


def check_render_options(tempo: float, program: int, velocity: int = DEFAULT_VELOCITY) -> None:
    if not 20 <= tempo <= 400:
        raise ConfigError(f"--tempo = {tempo:g} is invalid; expected quarter notes per minute "
                          "between 20 and 400")
    if not 0 <= program <= 127:
        raise ConfigError(f"--program = {program} is invalid; expected a General MIDI program "
                          "number 0..127 (0 piano, 40 violin, 73 flute, 21 accordion)")
    if not 1 <= velocity <= 127:
        raise ConfigError(f"--velocity = {velocity} is invalid; expected 1..127")


def tokens_to_midi(sequences: Sequence[Any], tempo: float = DEFAULT_TEMPO, program: int = 0,
                   velocity: int = DEFAULT_VELOCITY, gap: int = 0) -> Any:
    """A `pretty_midi.PrettyMIDI` of the sequences one after another, `gap` rest steps apart."""
    import pretty_midi

    check_render_options(tempo, program, velocity)
    step = step_seconds(tempo)
    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=tempo)
    instrument = pretty_midi.Instrument(program=program, name="melody")
    offset = 0
    for sequence in sequences:
        tokens = [int(t) for t in sequence]
        for note in tokens_to_notes(tokens):
            instrument.notes.append(pretty_midi.Note(
                velocity=velocity, pitch=note.pitch, start=(offset + note.start) * step,
                end=(offset + note.start + note.steps) * step))
        offset += len(tokens) + gap
    offset -= gap
    instrument.control_changes.append(
        pretty_midi.ControlChange(number=ALL_NOTES_OFF, value=0, time=offset * step))
    midi.instruments.append(instrument)
    return midi


def write_midi(midi: Any, path: Path) -> Path:
    with atomic_write(path, "wb") as handle:
        midi.write(handle)
    return path


def write_wav(midi: Any, path: Path, rate: int = 44100) -> str:
    """Render `midi` to 16-bit WAV: FluidSynth with pretty_midi's General MIDI soundfont when
    pyfluidsynth is installed, else pretty_midi's own sine-wave synthesis. Returns which."""
    audio = None
    synth = "pretty_midi sine synthesis (install pyfluidsynth for real instruments)"
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth)

        audio = midi.fluidsynth(fs=rate)
        synth = "FluidSynth"
    except Exception:  # no pyfluidsynth or no libfluidsynth: fall back
        audio = None
    if audio is None or not len(audio):
        audio = midi.synthesize(fs=rate)
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    scaled = (audio / peak * 0.9 if peak > 0 else audio) * 32767
    pcm = scaled.astype("<i2").tobytes()
    with atomic_write(path, "wb") as handle, wave.open(handle, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return synth


def write_plot(tokens: Sequence[int], path: Path, title: str = "", primer: int = 0) -> Path:
    """A piano-roll PNG of one melody (steps across, pitches up; the primer shaded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = [int(t) for t in tokens]
    notes = tokens_to_notes(values)
    fig, ax = plt.subplots(figsize=(max(6.0, len(values) * 0.18), 3.6), dpi=110)
    for note in notes:
        ax.broken_barh([(note.start, note.steps)], (note.pitch - 0.4, 0.8),
                       facecolors="tab:blue", edgecolors="black", linewidth=0.4)
    if primer:
        ax.axvspan(0, primer, color="0.9", zorder=0, label="primer")
        ax.legend(loc="upper right")
    pitches = [n.pitch for n in notes] or [60]
    low, high = min(pitches) - 2, max(pitches) + 2
    ticks = [p for p in range(max(low, LOWEST_PITCH), min(high, HIGHEST_PITCH) + 1)
             if p % 12 in (0, 7)]
    ax.set_yticks(ticks, [token_name(p - LOWEST_PITCH + 1) for p in ticks])
    ax.set_ylim(low, high)
    ax.set_xlim(0, max(len(values), 1))
    ax.set_xlabel("step (one quarter note at 150 qpm, 0.4 s)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
    return path


def write_musicxml(tokens: Sequence[int], path: Path, tempo: float = DEFAULT_TEMPO,
                   title: str = "") -> Path:
    """MusicXML (music21): one step = one quarter note, in 4/4 at `tempo`."""
    import music21

    part = music21.stream.Part()
    part.append(music21.tempo.MetronomeMark(number=tempo))
    part.append(music21.meter.TimeSignature("4/4"))
    values = [int(t) for t in tokens]
    position = 0
    for note in tokens_to_notes(values):
        if note.start > position:
            part.append(music21.note.Rest(quarterLength=note.start - position))
        part.append(music21.note.Note(note.pitch, quarterLength=note.steps))
        position = note.start + note.steps
    if position < len(values):
        part.append(music21.note.Rest(quarterLength=len(values) - position))
    score = music21.stream.Score([part])
    score.insert(0, music21.metadata.Metadata(title=title or path.stem))
    score = score.makeNotation()
    with atomic_path(path, suffix=path.suffix) as tmp:  # music21 writes to a file name
        score.write("musicxml", fp=str(tmp))
    return path


__all__ = ["DEFAULT_TEMPO", "NUM_PITCHES", "check_render_options", "tokens_to_midi",
           "write_midi", "write_musicxml", "write_plot", "write_wav"]
