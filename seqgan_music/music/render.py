"""Melody tokens -> MIDI, WAV, piano-roll PNG and MusicXML files (written atomically).

One step lasts 60 / tempo seconds: at the default 150 qpm one 0.4 s step is one quarter note,
so notation stays clean. Runs of one pitch become one held note; rests are silence. A MIDI file
ends exactly where its tokens end (a final all-notes-off control change marks the end even
when the tune ends with rests), so reading it back gives the same tokens.
"""

from __future__ import annotations

import math
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqgan_music.errors import ConfigError
from seqgan_music.io.runs import atomic_path, atomic_write
from seqgan_music.music.abc import write_abc
from seqgan_music.music.form import on_downbeats
from seqgan_music.music.harmony import QUALITIES, chord_at, parse_chord
from seqgan_music.music.keys import abc_key, music21_key, relative_major, spelled_pitch
from seqgan_music.music.tokens import (
    HIGHEST_PITCH,
    LOWEST_PITCH,
    NUM_PITCHES,
    token_name,
    tokens_to_notes,
)

DEFAULT_TEMPO = 150.0
DEFAULT_VELOCITY = 90  # the Nottingham MIDI files' velocity
ACCOMPANIMENT_PROGRAM = 25  # General MIDI steel-string guitar: a session's boom-chick
ALL_NOTES_OFF = 123


def step_seconds(tempo: float) -> float:
    return 60.0 / tempo


def check_render_options(tempo: float, program: int, velocity: int = DEFAULT_VELOCITY,
                         option: str = "--program") -> None:
    if not 20 <= tempo <= 400:
        raise ConfigError(f"--tempo = {tempo:g} is invalid; expected quarter notes per minute "
                          "between 20 and 400")
    if not 0 <= program <= 127:
        raise ConfigError(f"{option} = {program} is invalid; expected a General MIDI program "
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


SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/sounds/sf3", "/usr/share/soundfonts",
                  "/usr/local/share/soundfonts", "/opt/homebrew/share/soundfonts",
                  "/opt/homebrew/share/fluid-synth", "/usr/local/share/fluid-synth",
                  "~/.local/share/soundfonts", "~/Library/Audio/Sounds/Banks")
PREFERRED_SOUNDFONTS = ("FluidR3_GM.sf2", "default-GM.sf2", "default.sf2", "FluidR3_GM.sf3",
                        "MuseScore_General.sf3", "GeneralUser GS.sf2", "TimGM6mb.sf2")
SINE_NOTE = ("sine-wave synthesis: no FluidSynth with a General MIDI soundfont found (Debian/"
             "Ubuntu: apt install fluidsynth fluid-soundfont-gm; macOS: brew install fluid-synth "
             "and a .sf2 file; or pass --soundfont PATH)")


def find_soundfont(explicit: Path | None = None) -> Path | None:
    """`explicit`, else $SEQGAN_MUSIC_SOUNDFONT, else a General MIDI soundfont in the usual
    system folders (FluidR3_GM preferred), else None."""
    import os

    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"--soundfont {explicit} does not exist; pass a .sf2/.sf3 file")
        return explicit
    env = os.environ.get("SEQGAN_MUSIC_SOUNDFONT")
    if env and Path(env).is_file():
        return Path(env)
    found: list[Path] = []
    for folder in SOUNDFONT_DIRS:
        base = Path(folder).expanduser()
        if base.is_dir():
            found += sorted(p for p in base.glob("*.sf[23]") if p.is_file())
    for name in PREFERRED_SOUNDFONTS:
        for path in found:
            if path.name == name:
                return path
    return found[0] if found else None


def _fluidsynth_audio(midi: Any, soundfont: Path, rate: int) -> np.ndarray | None:
    """Render with the `fluidsynth` program (or pyfluidsynth); None when neither works."""
    import shutil
    import subprocess
    import tempfile

    program = shutil.which("fluidsynth")
    if program is not None:
        with tempfile.TemporaryDirectory() as folder:
            source, target = Path(folder) / "in.mid", Path(folder) / "out.wav"
            midi.write(str(source))
            try:
                subprocess.run([program, "-ni", "-g", "0.8", "-r", str(rate), "-T", "wav",
                                "-F", str(target), str(soundfont), str(source)],
                               check=True, capture_output=True, timeout=600)
                with wave.open(str(target), "rb") as rendered:
                    frames = rendered.readframes(rendered.getnframes())
                    channels, width = rendered.getnchannels(), rendered.getsampwidth()
                    rate_read = rendered.getframerate()
            except (OSError, subprocess.SubprocessError, wave.Error, EOFError):
                return None
            if width != 2 or rate_read != rate or not frames:
                return None
            audio = np.frombuffer(frames, dtype="<i2").astype(np.float64)
            return audio.reshape(-1, channels).mean(1)
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth)

        return np.asarray(midi.fluidsynth(fs=rate, sf2_path=str(soundfont)))
    except Exception:  # no pyfluidsynth or no libfluidsynth
        return None


def write_wav(midi: Any, path: Path, rate: int = 44100, soundfont: Path | None = None,
              until: float | None = None) -> str:
    """Render `midi` to 16-bit mono WAV: FluidSynth with a General MIDI soundfont when both are
    here (`find_soundfont`), else pretty_midi's sine-wave synthesis. Returns which, in a line.
    `until`: cut the audio there (seconds) with a short fade (FluidSynth renders the notes'
    release and reverb past the last note)."""
    audio = None
    synth = SINE_NOTE
    font = find_soundfont(soundfont)
    if font is not None:
        audio = _fluidsynth_audio(midi, font, rate)
        if audio is not None and len(audio):
            synth = f"FluidSynth with {font}"
    if audio is None or not len(audio):
        synth = SINE_NOTE if font is None else (
            f"sine-wave synthesis: the soundfont {font} was found but neither the fluidsynth "
            "program nor pyfluidsynth could render it (apt install fluidsynth / "
            "brew install fluid-synth)")
        audio = midi.synthesize(fs=rate)
    if until is not None and len(audio) > int(until * rate):
        audio = np.array(audio[: int(until * rate)], dtype=float)
        fade = min(len(audio), int(0.05 * rate))
        if fade:
            audio[-fade:] *= np.linspace(1.0, 0.0, fade)
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


PLOT_BARS_PER_ROW = 8


def write_melody_plot(melody: Any, path: Path, title: str = "", primer: float = 0.0) -> Path:
    """A piano-roll PNG of a decoded melody, laid out like a page: rows of eight bars (quarter
    notes across, bar lines dotted, chord symbols above), 12 inches (1,320 px) wide whatever the
    tune's length."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    length = max(melody.length, 1.0)
    span = melody.bar_length() * PLOT_BARS_PER_ROW
    origin = melody.pickup() - melody.bar_length() if melody.pickup() else 0.0
    rows = max(1, math.ceil((length - origin) / span - 1e-9))
    fig, axes = plt.subplots(rows, 1, figsize=(12.0, 0.6 + 1.9 * rows), dpi=110, squeeze=False)
    pitches = [n[2] for n in melody.notes] or [60]
    low, high = min(pitches) - 2, max(pitches) + 3
    ticks = [p for p in range(max(low, LOWEST_PITCH), min(high, HIGHEST_PITCH) + 1)
             if p % 12 in (0, 7)]
    for row in range(rows):
        ax = axes[row][0]
        left = origin + row * span
        for start, end, pitch in melody.notes:
            if end > left and start < left + span:
                ax.broken_barh([(start, end - start)], (pitch - 0.4, 0.8),
                               facecolors="tab:blue", edgecolors="black", linewidth=0.4)
        for bar in melody.bars:
            if left <= bar <= left + span:
                ax.axvline(bar, color="0.6", linewidth=0.6, linestyle=":")
        for at, name in getattr(melody, "chords", []):
            if left <= at < left + span:
                ax.text(at, high - 0.6, name, fontsize=8, va="top", color="0.25")
        if primer and primer > left:
            ax.axvspan(left, min(primer, left + span), color="0.9", zorder=0,
                       label="primer" if row == 0 else None)
        ax.set_yticks(ticks, [token_name(p - LOWEST_PITCH + 1) for p in ticks])
        ax.set_ylim(low, high)
        ax.set_xlim(left, left + span)
        ax.tick_params(labelsize=8)
    if primer:
        axes[0][0].legend(loc="upper right", fontsize=8)
    axes[-1][0].set_xlabel(f"quarter notes ({melody.meter[0]}/{melody.meter[1]}; bar lines "
                           f"dotted; {PLOT_BARS_PER_ROW} bars a row)")
    axes[0][0].set_title(title)
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


def melodies_to_midi(melodies: Sequence[Any], tempo: float = DEFAULT_TEMPO, program: int = 0,
                     velocity: int = DEFAULT_VELOCITY, accompaniment: int | None = None) -> Any:
    """A `pretty_midi.PrettyMIDI` of decoded melodies (`melody.Melody`, quarter notes) one
    after another, each starting on a bar (a pick-up is preceded by silence, so bar lines fall
    where the tune has them), with the first melody's time and key signature.

    `accompaniment`: a General MIDI program; melodies with chord symbols (`Melody.chords`) get a
    second track, "accompaniment", that plays them in a folk style (`accompany`)."""
    import pretty_midi

    check_render_options(tempo, program, velocity)
    seconds = 60.0 / tempo
    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=tempo)
    instrument = pretty_midi.Instrument(program=program, name="melody")
    backing = pretty_midi.Instrument(program=accompaniment or 0, name="accompaniment")
    offset = 0.0
    for index, written in enumerate(melodies):
        melody = on_downbeats(written)  # bar lines written by the model keep the downbeat
        bar = melody.bar_length()
        shift = offset + melody.lead_in()
        at = offset * seconds
        if index == 0 or (melody.meter != melodies[index - 1].meter):
            midi.time_signature_changes.append(
                pretty_midi.TimeSignature(melody.meter[0], melody.meter[1], at))
        if melody.key is not None and (index == 0 or melody.key != melodies[index - 1].key):
            midi.key_signature_changes.append(pretty_midi.KeySignature(midi_key(melody.key), at))
            # MIDI key signatures know major and minor only: the mode goes in a text event
            midi.text_events.append(pretty_midi.Text(f"K:{abc_key(melody.key)}", at))
        for start, end, pitch in melody.notes:
            instrument.notes.append(pretty_midi.Note(
                velocity=velocity, pitch=int(pitch), start=(shift + start) * seconds,
                end=(shift + end) * seconds))
        if accompaniment is not None:
            for start, end, pitch, loud in accompany(melody):
                backing.notes.append(pretty_midi.Note(
                    velocity=loud, pitch=pitch, start=(shift + start) * seconds,
                    end=(shift + end) * seconds))
        length = shift - offset + melody.length
        offset += math.ceil(length / bar - 1e-9) * bar if length > 0 else bar
    instrument.control_changes.append(
        pretty_midi.ControlChange(number=ALL_NOTES_OFF, value=0, time=offset * seconds))
    midi.instruments.append(instrument)
    if backing.notes:
        midi.instruments.append(backing)
    return midi


def accompaniment_pattern(meter: tuple[int, int]) -> list[tuple[float, float, str]]:
    """One bar of a folk accompaniment: (start, length in quarters, "bass" / "fifth" / "chord").

    Oom-pah in 2/4 and 2/2 (bass, chord), oom-pah-oom-pah in 4/4 (root, chord, fifth, chord),
    oom-pah-pah in 3/4, 3/8 and 3/2 (bass, chord, chord), the jig's boom-chick in 6/8, 9/8 and
    12/8 (a quarter of bass, an eighth of chord in each dotted quarter); other meters: bass on
    the bar's first beat, chords on the others."""
    num, den = meter
    beat = 4.0 / den
    if den == 8 and num % 3 == 0 and num > 3:
        groups = num // 3
        out = []
        for g in range(groups):
            out.append((g * 1.5, 1.0, "bass" if g % 2 == 0 else "fifth"))
            out.append((g * 1.5 + 1.0, 0.5, "chord"))
        return out
    if num == 4:
        return [(0.0, beat, "bass"), (beat, beat, "chord"), (2 * beat, beat, "fifth"),
                (3 * beat, beat, "chord")]
    if num == 3:
        return [(0.0, beat, "bass"), (beat, beat, "chord"), (2 * beat, beat, "chord")]
    if num == 2:
        return [(0.0, beat, "bass"), (beat, beat, "chord")]
    return [(0.0, beat, "bass")] + [(i * beat, beat, "chord") for i in range(1, num)]


def accompany(melody: Any) -> list[tuple[float, float, int, int]]:
    """The accompaniment notes (start, end in quarters, pitch, velocity) of a melody with chord
    symbols: `accompaniment_pattern` bar by bar from the first chord to the melody's end, the
    bass on the chord's root (or fifth) in the octave below C3, the chord's tones closed above
    G3; a chord stab lasts two thirds of its beat."""
    chords = sorted(melody.chords)
    if not chords or not melody.notes:
        return []
    bar = melody.bar_length()
    end = max(max(n[1] for n in melody.notes), melody.end or 0.0)
    first = melody.pickup()
    start = first + math.floor((chords[0][0] - first) / bar + 1e-9) * bar
    pattern = accompaniment_pattern(melody.meter)
    notes: list[tuple[float, float, int, int]] = []
    position = start
    while position < end - 1e-9:
        for at, length, role in pattern:
            when = position + at
            if when >= end - 1e-9:
                break
            name = chord_at(chords, when + 1e-6)
            parsed = parse_chord(name) if name else None
            if parsed is None:
                continue
            root, quality = parsed
            stop = min(when + length, end)
            if role == "chord":
                tones = sorted(55 + (root + step - 55) % 12 for step in QUALITIES[quality])
                notes += [(when, when + (stop - when) * 2 / 3, p, 58) for p in tones]
            else:
                low = 36 + (root - 36) % 12
                pitch = low + 7 if role == "fifth" else low
                notes.append((when, stop, pitch if pitch < 56 else pitch - 12, 72))
        position += bar
    return notes


def write_melody_abc(melody: Any, path: Path, title: str = "", tempo: float | None = None
                     ) -> Path:
    """ABC of a decoded melody (`abc.write_abc`: key with its mode, repeats, chord symbols)."""
    return write_abc(melody, path, [title or path.stem], tempo)


def midi_key(key: tuple[int, str]) -> int:
    """pretty_midi's key number (0-11 major, 12-23 minor) of `key`'s signature: a mode on a
    minor-like tonic (dorian, phrygian, locrian) as its signature's minor key, else as its
    major key (E dorian -> B minor, D mixolydian -> G major)."""
    major = relative_major(key)
    if key[1] in ("minor", "dorian", "phrygian", "locrian"):
        return (major + 9) % 12 + 12
    return major


def chord_symbol(name: str) -> Any:
    """A music21 ChordSymbol for a chord name ('G', 'Bbm', 'D7'); None when it is not one."""
    import music21

    text = name[0] + name[1:].replace("b", "-", 1) if name[1:2] == "b" else name
    try:
        symbol = music21.harmony.ChordSymbol(text)
    except Exception:  # music21 raises several types on figures it cannot read
        return None
    symbol.writeAsChord = False
    return symbol


def write_melody_musicxml(melody: Any, path: Path, tempo: float = DEFAULT_TEMPO,
                          title: str = "") -> Path:
    """MusicXML (music21) of a decoded melody: its meter and key signature, notes spelled in
    the key, the pick-up bar as a short first measure, bar lines every bar after it."""
    import music21

    bar = melody.bar_length()
    pickup = melody.pickup()
    pad = (bar - pickup) % bar if pickup else 0.0
    part = music21.stream.Part()
    position = 0.0
    events: list[Any] = []
    for start, end, pitch in sorted(melody.notes):
        if start > position + 1e-9:
            events.append((position, music21.note.Rest(quarterLength=start - position)))
        if end <= start:
            continue
        note = music21.note.Note(quarterLength=end - start)
        note.pitch = spelled_pitch(pitch, melody.key)
        events.append((start, note))
        position = end
    total = max(melody.length, position)
    close = math.ceil((total + pad) / bar - 1e-9) * bar - pad
    if close > position + 1e-9:
        events.append((position, music21.note.Rest(quarterLength=close - position)))
    if pad:
        part.insert(0, music21.note.Rest(quarterLength=pad))
    for at, name in getattr(melody, "chords", []):
        symbol = chord_symbol(name)
        if symbol is not None:
            events.append((at, symbol))
    for at, element in events:
        part.insert(at + pad, element)
    part.insert(0, music21.meter.TimeSignature(f"{melody.meter[0]}/{melody.meter[1]}"))
    if melody.key is not None:
        part.insert(0, music21_key(melody.key))
    part.insert(0, music21.tempo.MetronomeMark(number=tempo))
    measures = part.makeMeasures()
    measures.makeTies(inPlace=True)
    first = measures.getElementsByClass(music21.stream.Measure).first()
    if pad and first is not None:
        leading = [r for r in first.notesAndRests if r.offset == 0 and r.isRest]
        if leading:
            first.remove(leading[0])
            for element in first.notesAndRests:
                element.offset -= pad
            first.paddingLeft = pad
            first.number = 0
            for number, measure in enumerate(
                    measures.getElementsByClass(music21.stream.Measure)):
                measure.number = number
    _write_form(measures, getattr(melody, "form", []), pad, bar)
    score = music21.stream.Score([measures])
    score.insert(0, music21.metadata.Metadata(title=title or path.stem))
    with atomic_path(path, suffix=path.suffix) as tmp:  # music21 writes to a file name
        score.write("musicxml", fp=str(tmp))  # splits complex durations, spells accidentals
    return path


def _write_form(measures: Any, form: Any, pad: float, bar: float) -> None:
    """The written form (`Melody.form`) as notation: repeat barlines, volta brackets for first
    and second endings, double barlines at part boundaries."""
    import music21

    if not form:
        return
    found = list(measures.getElementsByClass(music21.stream.Measure))
    starts = [float(m.offset) - pad for m in found]
    ends = [max(start, 0.0) + float(m.duration.quarterLength) - (pad if start < 0 else 0.0)
            for start, m in zip(starts, found, strict=True)]
    for position, mark in form:
        if mark in ("|:", "[1", "[2"):
            at = [m for m, start in zip(found, starts, strict=True)
                  if abs(max(start, 0.0) - position) < 1e-6]
            if not at:
                continue
            if mark == "|:":
                at[0].leftBarline = music21.bar.Repeat(direction="start")
            else:
                measures.insert(0, music21.spanner.RepeatBracket(at[0], number=int(mark[1])))
        else:
            at = [m for m, end in zip(found, ends, strict=True) if abs(end - position) < 1e-6]
            if not at:
                continue
            at[0].rightBarline = (music21.bar.Repeat(direction="end") if mark == ":|"
                                  else music21.bar.Barline("double"))


__all__ = ["find_soundfont", "melodies_to_midi", "write_melody_musicxml", "write_melody_plot",
           "DEFAULT_TEMPO", "NUM_PITCHES", "check_render_options", "tokens_to_midi",
           "write_midi", "write_musicxml", "write_plot", "write_wav"]
