"""MIDI and ABC files -> one melody pitch sequence per tune, sampled on a fixed time grid.

The melody is the solo line: the track named like a melody (melody, lead, solo, voice, vocal),
else the pitched track with the highest mean pitch (jukedeck's two-track files: melody above
chords); drums are ignored. Where the melody track holds chords, the highest sounding pitch
is taken. With `melody="highest"` every pitched track is merged and the highest pitch taken.

`sample_melody` samples the sounding pitch every `step` seconds from time 0 (a tune that
starts with silence starts with rests): step k sounds pitch p when a note of p starts at or
before k * step and ends after it; a tune ending at E seconds has floor(E / step) steps. On the
jukedeck melodies this gives 173,581 steps (3,408 rests) and 4,930 windows of 32, the counts of
the paper's setting.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqgan_music.errors import ConfigError, DataError
from seqgan_music.music.form import sorted_marks
from seqgan_music.music.keys import MODE_ALIASES, estimate_key, estimate_mode, parse_key
from seqgan_music.music.melody import Melody
from seqgan_music.music.midi_notes import MidiReadError, MidiTrack, read_tracks, reader_name
from seqgan_music.music.tokens import STEP_SECONDS, pitch_to_token

MELODY_NAMES = re.compile(r"melody|lead|solo|voice|vocal|tune", re.IGNORECASE)
MELODY_MODES = ("auto", "highest")
DEFAULT_ABC_QPM = 120.0  # jukedeck's MIDI renderings of the Nottingham ABC are all 120 qpm
MAX_STEPS = 1_000_000  # a single "tune" longer than ~4.6 days at 0.4 s is not a tune
# Bounds checked before music21 sees an ABC tune (issue 23: `M:1024/4` made it expand for
# ever; the time grows faster than the bar): beats per bar, parts of an additive meter,
# characters and notes of one tune. Folk meters are far inside them (12/8, 9/8, 3+3+2/8).
MAX_METER_BEATS = 32
MAX_METER_PARTS = 4
METER_UNITS = (1, 2, 4, 8, 16, 32, 64)
MAX_ABC_CHARS = 200_000
MAX_ABC_NOTES = 20_000
MAX_MIDI_BYTES = 8 << 20  # a melody file of 8 MiB holds about 2 million notes
ABC_FIELD = re.compile(r"(?m)^(?P<field>[ML]):(?P<value>[^\n%]*)|\[(?P<inline>[ML]):"
                       r"(?P<inline_value>[^\]\n]*)\]")
ABC_NOTE = re.compile(r"[A-Ga-gz]")
_EPS = 1e-6


class UnusableFile(DataError):
    """A file (or an ABC tune) that yields no melody; the message says why, in a few words."""


@dataclass
class Tune:
    """One tune's melody: `tokens` (L,) int64 at the sampling step, and where it came from."""

    name: str
    tokens: np.ndarray
    coverage: tuple[int, int, int] | None = None  # source notes, notes kept, onsets on grid


def sample_melody(notes: Iterable[tuple[float, float, int]], step: float = STEP_SECONDS,
                  end: float | None = None) -> np.ndarray:
    """Tokens of the highest sounding pitch every `step` seconds; notes are (start, end, pitch).

    `end` is the tune's end in seconds (default: the end of its last note).
    """
    array = np.array(sorted(notes, key=lambda n: n[2]), dtype=np.float64).reshape(-1, 3)
    array = array[array[:, 1] > array[:, 0]]
    if len(array) == 0:
        raise UnusableFile("no notes")
    end = max(float(array[:, 1].max()), end or 0.0)
    num_steps = math.floor(end / step + _EPS)  # sampling points strictly before the end
    if num_steps > MAX_STEPS:
        raise UnusableFile(f"too long ({end:.0f} s)")
    tokens = np.zeros(max(num_steps, 0), dtype=np.int64)
    for start, stop, pitch in array:  # ascending pitch: the highest note is written last
        lo = max(math.ceil(start / step - _EPS), 0)
        hi = math.ceil(stop / step - _EPS)
        if hi > lo:
            tokens[lo:hi] = pitch_to_token(int(pitch))
    if not tokens.any():
        raise UnusableFile("no note sounds at any sampling step")
    return tokens


def read_midi(path: Path, step: float = STEP_SECONDS, melody: str = "auto") -> list[Tune]:
    """The melody of a MIDI file as one tune."""
    notes, end = midi_melody_notes(path, melody)
    # The file's end (its last event) keeps trailing rests, e.g. of a tune we wrote ourselves.
    return [Tune(path.name, sample_melody(notes, step, end))]


def midi_melody_notes(path: Path, melody: str = "auto"
                      ) -> tuple[list[tuple[float, float, int]], float]:
    """The melody notes (start s, end s, pitch) of a MIDI file and the file's end in seconds."""
    check_midi_size(path)
    reader = reader_name()
    tracks, end = _pitched_tracks(path, reader)
    if melody == "highest":
        chosen = tracks
    else:
        if reader != "pretty_midi" and _order_decides(tracks):
            # the first of equal candidates: pretty_midi's order of the parts decides
            tracks, end = _pitched_tracks(path, "pretty_midi")
        named = [t for t in tracks if MELODY_NAMES.search(t.name)]
        chosen = [named[0] if named else max(tracks, key=_mean_pitch)]
    return [note for track in chosen for note in track.notes], end


def _pitched_tracks(path: Path, reader: str) -> tuple[list[MidiTrack], float]:
    """The file's parts that are not drums (at least one) and its end in seconds."""
    try:
        parts, end = read_tracks(path, reader)
    except MidiReadError as error:
        raise UnusableFile(str(error)) from None
    tracks = [t for t in parts if not t.is_drum]
    if not tracks:
        raise UnusableFile("drum-only" if parts else "no notes")
    return tracks, end


def _mean_pitch(track: MidiTrack) -> float:
    return float(np.mean([n[2] for n in track.notes]))


def _order_decides(tracks: list[MidiTrack]) -> bool:
    """Whether the melody choice depends on the parts' order: several parts named like a
    melody, or (none named) several parts of the same highest mean pitch."""
    named = sum(1 for t in tracks if MELODY_NAMES.search(t.name))
    if named:
        return named > 1
    means = [_mean_pitch(t) for t in tracks]
    return means.count(max(means)) > 1


def check_midi_size(path: Path) -> None:
    """Refuse at once a MIDI file larger than any melody file: parsing millions of notes
    takes minutes before the other limits could say no (issue 23)."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UnusableFile(f"cannot be read ({error.strerror or error})") from None
    if size > MAX_MIDI_BYTES:
        raise UnusableFile(f"{size / 2**20:.0f} MiB: larger than any melody file (MIDI files "
                           f"of at most {MAX_MIDI_BYTES >> 20} MiB are read)")


def split_abc_tunes(text: str) -> tuple[str, list[str]]:
    """The file header (text before the first `X:`) and each tune's text."""
    parts = re.split(r"(?m)^(?=X:)", text)
    if not parts or not parts[0].lstrip().startswith("X:"):
        header, tunes = (parts[0], parts[1:]) if parts else ("", [])
    else:
        header, tunes = "", parts
    return header, [t for t in tunes if t.strip()]


def read_abc(path: Path, step: float = STEP_SECONDS, melody: str = "auto"
             ) -> tuple[list[Tune], list[str]]:
    """Every tune of an ABC file, and a reason for each tune that was skipped.

    Tunes are parsed one at a time with music21, so one bad tune does not lose the file.
    Repeats are expanded; chord symbols ("Am") are harmony, not melody, and are ignored.
    """
    header, tune_texts = _abc_tunes(path)
    tunes: list[Tune] = []
    skipped: list[str] = []
    for index, tune_text in enumerate(tune_texts, 1):
        number = tune_text.split("\n", 1)[0][2:].strip() or str(index)
        name = f"{path.name}#{number}"
        try:
            tunes.append(Tune(name, _abc_tune_tokens(header + tune_text, step, melody)))
        except UnusableFile as error:
            skipped.append(f"{name}: {error}")
    return tunes, skipped


def _abc_tunes(path: Path) -> tuple[str, list[str]]:
    """The file header and the text of each tune of an ABC file (at least one)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise UnusableFile(f"cannot be read ({error.strerror})") from None
    header, tune_texts = split_abc_tunes(text)
    if not tune_texts:
        raise UnusableFile("no ABC tune (no X: line)")
    return header, tune_texts


def _abc_tune_tokens(text: str, step: float, melody: str) -> np.ndarray:
    return sample_melody(abc_melody_notes(text, melody), step)


def read_abc_tune(path: Path, number: int = 1, melody: str = "auto"
                  ) -> tuple[list[tuple[float, float, int]], int]:
    """The melody notes (start s, end s, pitch) of the `number`-th tune (from 1) of an ABC
    file, parsing that tune alone, and how many tunes the file holds.

    Raises:
        UnusableFile: the file or that tune yields no melody.
        IndexError: the file holds fewer tunes; its argument is how many.
    """
    header, tune_texts = _abc_tunes(path)
    if not 1 <= number <= len(tune_texts):
        raise IndexError(len(tune_texts))
    return abc_melody_notes(header + tune_texts[number - 1], melody), len(tune_texts)


def lost_notes(notes: Iterable[tuple[float, float, int]], tokens: np.ndarray,
               step: float = STEP_SECONDS) -> int:
    """How many notes (start s, end s, pitch) sound at no sampling step of `tokens`: shorter
    than the grid between two steps, or covered by a higher note."""
    lost = 0
    for start, stop, pitch in notes:
        lo = max(math.ceil(start / step - _EPS), 0)
        hi = math.ceil(stop / step - _EPS)
        if not (tokens[lo:hi] == pitch_to_token(int(pitch))).any():
            lost += 1
    return lost


def check_abc_tune(text: str) -> str:
    """Refuse, before music21 parses it, an ABC tune that would make it work without end:
    a meter or unit length outside the bounds above (header or inline fields), or a tune of
    more characters or notes than any tune has (UnusableFile, a few words). Returns the text
    with additive meters summed (`M:3+3+2/8` -> `M:8/8`: the same notes and bar, and music21
    takes seconds over each additive meter's beat groups)."""
    if len(text) > MAX_ABC_CHARS:
        raise UnusableFile(f"{len(text):,} characters: longer than any tune (at most "
                           f"{MAX_ABC_CHARS:,})")
    for found in ABC_FIELD.finditer(text):
        field = found.group("field") or found.group("inline")
        value = (found.group("value") if found.group("field") else
                 found.group("inline_value")).strip()
        if field == "M":
            _check_abc_meter(value)
        else:
            _check_abc_unit(value)
    body = re.sub(r'(?m)^[A-Za-z]:.*$|"[^"\n]*"|![^!\n]*!|\[[A-Za-z]:[^\]\n]*\]', "", text)
    notes = len(ABC_NOTE.findall(body))
    if notes > MAX_ABC_NOTES:
        raise UnusableFile(f"{notes:,} notes: more than any tune (at most {MAX_ABC_NOTES:,})")

    def summed(found: re.Match[str]) -> str:
        parts = [int(p) for p in re.split(r"[+ ]+", found.group(2)) if p]
        return f"{found.group(1)}{sum(parts)}/"

    return re.sub(r"((?:^|\[)M:\s*)\(?\s*(\d+(?:\s*\+\s*\d+)+)\s*\)?\s*/", summed, text,
                  flags=re.MULTILINE)


def _check_abc_meter(value: str) -> None:
    if value.lower() in ("", "none", "c", "c|"):
        return
    match = re.fullmatch(r"\(?\s*([\d+ ]+?)\s*\)?\s*/\s*(\d+)", value)
    if match is None:
        raise UnusableFile(f"meter M:{value[:20]} is not a time signature such as 6/8")
    parts = [p for p in re.split(r"[+ ]+", match.group(1)) if p]
    unit = int(match.group(2)) if len(match.group(2)) <= 3 else 0
    if not parts or len(parts) > MAX_METER_PARTS or any(len(p) > 3 for p in parts) \
            or not 1 <= sum(int(p) for p in parts) <= MAX_METER_BEATS or unit not in METER_UNITS:
        raise UnusableFile(f"meter M:{value[:20]} is outside what a tune uses (at most "
                           f"{MAX_METER_BEATS} beats in {MAX_METER_PARTS} parts, over 1, 2, 4, "
                           "8, 16, 32 or 64)")


def _check_abc_unit(value: str) -> None:
    match = re.fullmatch(r"(\d{1,3})\s*/\s*(\d{1,3})", value)
    if match is None or not 1 <= int(match.group(1)) <= 16 \
            or int(match.group(2)) not in METER_UNITS:
        raise UnusableFile(f"unit note length L:{value[:20]} is not one such as 1/8")


def abc_melody_notes(text: str, melody: str = "auto") -> list[tuple[float, float, int]]:
    """The melody notes (start s, end s, pitch) of one ABC tune's text (header included)."""
    import music21

    text = check_abc_tune(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score: Any = music21.converter.parseData(text, format="abc")
    except Exception as error:  # music21's ABC handler raises many types on bad input
        raise UnusableFile(f"unparseable ABC ({type(error).__name__})") from None
    if isinstance(score, music21.stream.Opus):
        scores = list(score.scores)
        if not scores:
            raise UnusableFile("no notes")
        score = scores[0]
    parts = list(score.parts) if score.hasPartLikeStreams() else [score]
    marks = list(score.recurse().getElementsByClass(music21.tempo.MetronomeMark))
    qpm = float(marks[0].getQuarterBPM() or DEFAULT_ABC_QPM) if marks else DEFAULT_ABC_QPM
    seconds_per_quarter = 60.0 / qpm
    voices: list[list[tuple[float, float, int]]] = []
    for part in parts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                part = part.expandRepeats()
        except Exception:  # inconsistent repeat marks: keep the tune as written
            pass
        notes: list[tuple[float, float, int]] = []
        for element in part.flatten().notes:
            if isinstance(element, music21.harmony.ChordSymbol):
                continue
            start = float(element.offset) * seconds_per_quarter
            end = start + float(element.quarterLength) * seconds_per_quarter
            pitches = [p.midi for p in element.pitches]
            if pitches and end > start:
                notes.append((start, end, max(pitches)))
        if notes:
            voices.append(notes)
    if not voices:
        raise UnusableFile("no notes")
    if melody == "highest":
        return [n for v in voices for n in v]
    return max(voices, key=lambda v: float(np.mean([n[2] for n in v])))


def midi_melody(path: Path, melody: str = "auto") -> Any:
    """The melody of a MIDI file as a `melody.Melody` in quarter notes, with the file's meter,
    bar lines (from its time signatures) and key (its first key signature, else estimated)."""
    import pretty_midi

    notes, end = midi_melody_notes(path, melody)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        midi = pretty_midi.PrettyMIDI(str(path))
    resolution = float(midi.resolution)

    def quarters(seconds: float) -> float:
        return float(midi.time_to_tick(seconds)) / resolution

    qnotes = [(quarters(s), quarters(e), int(p)) for s, e, p in notes if e > s]
    if not qnotes:
        raise UnusableFile("no notes")
    length = quarters(end)
    signatures = [(quarters(ts.time), ts.numerator, ts.denominator)
                  for ts in midi.time_signature_changes] or [(0.0, 4, 4)]
    if signatures[0][0] > 0:
        signatures.insert(0, (0.0, 4, 4))
    bars: list[float] = []
    for i, (at, num, den) in enumerate(signatures):
        stop = signatures[i + 1][0] if i + 1 < len(signatures) else length
        bar = num * 4.0 / den
        position = at
        while position < stop - 1e-9 and len(bars) < MAX_STEPS:
            bars.append(position)
            position += bar
    meter = (signatures[0][1], signatures[0][2])
    key = written = None
    for event in midi.text_events:  # our writers name a mode in a text event ("K:Edor")
        if event.text.startswith("K:"):
            with suppress(ConfigError):
                written = key = parse_key(event.text[2:], "the MIDI key text")
            break
    if key is None and midi.key_signature_changes:
        number = midi.key_signature_changes[0].key_number
        key = (number % 12, "minor" if number >= 12 else "major")
    # The final note names the mode only when the tune ends in the signature it starts in.
    changes = len({k.key_number for k in midi.key_signature_changes}) > 1
    return Melody(qnotes, meter, bars, written or (key if changes and key else
                                                   estimate_mode(qnotes, key)), length)


def abc_melody(text: str, melody: str = "auto") -> Any:
    """One ABC tune's melody as a `melody.Melody` (quarters), with its M:, bar lines and K:, as
    written: repeats are not expanded, the repeat signs, endings and part boundaries are in
    `Melody.form` and the chord symbols in `Melody.chords` (`form.expand_form` plays it)."""
    return parse_abc_written(text, melody)


def read_melodies(path: Path, melody: str = "auto") -> tuple[list[tuple[str, Any]], list[str]]:
    """Every tune of a MIDI/ABC file as (name, `melody.Melody`), and reasons for skipped tunes."""
    if path.suffix.lower() != ".abc":
        return [(path.name, midi_melody(path, melody))], []
    header, tune_texts = _abc_tunes(path)
    found: list[tuple[str, Any]] = []
    skipped: list[str] = []
    for index, tune_text in enumerate(tune_texts, 1):
        number = tune_text.split("\n", 1)[0][2:].strip() or str(index)
        name = f"{path.name}#{number}"
        try:
            found.append((name, abc_melody(header + tune_text, melody)))
        except UnusableFile as error:
            skipped.append(f"{name}: {error}")
    return found, skipped


def written_melody(score: Any, melody: str = "auto") -> Melody:
    """A music21 score parsed from one ABC tune, as written (repeats not expanded): the melody
    notes in quarters, meter, bar lines, key, form marks and chord symbols."""
    import music21
    import numpy as np


    if isinstance(score, music21.stream.Opus):
        scores = list(score.scores)
        if not scores:
            raise UnusableFile("no notes")
        score = scores[0]
    parts = list(score.parts) if score.hasPartLikeStreams() else [score]
    voices = []
    for part in parts:
        notes = []
        for element in part.flatten().notes:
            if isinstance(element, music21.harmony.ChordSymbol):
                continue
            start = float(element.getOffsetInHierarchy(part))
            stop = start + float(element.quarterLength)
            pitches = [p.midi for p in element.pitches]
            if pitches and stop > start:
                notes.append((start, stop, max(pitches)))
        if notes:
            voices.append((part, notes))
    if not voices:
        raise UnusableFile("no notes")
    if melody == "highest" and len(voices) > 1:
        part, notes = voices[0][0], sorted(n for _, v in voices for n in v)
    else:
        part, notes = max(voices, key=lambda v: float(np.mean([n[2] for n in v[1]])))
    signatures = list(score.recurse().getElementsByClass(music21.meter.TimeSignature))
    meter = (signatures[0].numerator, signatures[0].denominator) if signatures else (4, 4)
    key = None
    modal = False  # the K: field names a mode other than major or minor (K:Edor, K:Dmix)
    signatures = list(score.recurse().getElementsByClass(music21.key.KeySignature))
    for found in signatures[:1]:
        if isinstance(found, music21.key.Key):
            mode = MODE_ALIASES.get(str(found.mode).lower(), "major")
            key, modal = (found.tonic.pitchClass, mode), mode not in ("major", "minor")
        else:
            key = ((found.sharps * 7) % 12, "major")
    bars: list[float] = []
    form: list[tuple[float, str]] = []
    end = 0.0
    for measure in part.getElementsByClass(music21.stream.Measure):
        start = float(measure.offset)
        stop = start + float(measure.duration.quarterLength)
        end = max(end, stop)
        bars.append(start)
        left, right = measure.leftBarline, measure.rightBarline
        if isinstance(left, music21.bar.Repeat) and left.direction == "start":
            form.append((start, "|:"))
        elif left is not None and left.type in ("double", "final", "light-heavy"):
            form.append((start, "||"))
        if isinstance(right, music21.bar.Repeat) and right.direction == "end":
            form.append((stop, ":|"))
        elif right is not None and right.type in ("double", "final", "light-heavy"):
            form.append((stop, "||"))
        for spanner in measure.getSpannerSites():
            if isinstance(spanner, music21.spanner.RepeatBracket) and spanner.isFirst(measure):
                number = str(spanner.number or "").split(",")[0].strip()
                if number in ("1", "2"):
                    form.append((start, f"[{number}"))
    chords = []
    for symbol in part.flatten().getElementsByClass(music21.harmony.ChordSymbol):
        figure = str(getattr(symbol, "figure", "") or "")
        if figure:
            chords.append((float(symbol.getOffsetInHierarchy(part)), figure))
    end = max(end, max(n[1] for n in notes))
    if not bars:
        bar = meter[0] * 4.0 / meter[1]
        bars = [i * bar for i in range(int(end / bar) + 1)]
    bars = [b for b in bars if b < end - _EPS]
    form = [(p, m) for p, m in sorted_marks(form) if not (m == "||" and p >= end - _EPS
                                                             and any(q >= end - _EPS and n == ":|"
                                                                     for q, n in form))]
    # A K: of major or minor is often a modal tune written with its signature (K:G for A
    # dorian): the last note says which degree is the tonic (`keys.estimate_mode`), when the
    # tune ends in the signature it starts in. A K: that names a mode is kept as written.
    if key is None:
        key = estimate_key(notes)
    elif not modal and len({found.sharps for found in signatures}) == 1:
        key = estimate_mode(notes, key)
    return Melody(notes, meter, bars, key, end, form=_dedupe(form), chords=chords)


def _dedupe(form: list[tuple[float, str]]) -> list[tuple[float, str]]:
    seen: set[tuple[float, str]] = set()
    out = []
    for position, mark in form:
        item = (round(position, 6), mark)
        if item not in seen:
            seen.add(item)
            out.append((position, mark))
    return out


def parse_abc_written(text: str, melody: str = "auto") -> Melody:
    """One ABC tune's text (header included) as a written `Melody` with its form marks."""
    import music21


    text = check_abc_tune(text)  # refuses what would make music21 work without end
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score: Any = music21.converter.parseData(text, format="abc")
    except Exception as error:  # music21's ABC handler raises many types on bad input
        raise UnusableFile(f"unparseable ABC ({type(error).__name__})") from None
    return written_melody(score, melody)
