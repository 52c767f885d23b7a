"""Representations of a melody as tokens: one small codec object per representation.

A codec knows its vocabulary, its step grid, how a tune's notes become tokens and back, what a
primer becomes, and how tunes are cut into training windows. A music task chooses one with
`task_options.representation`; the codec's `spec()` is stored in every model file (the task spec's
`codec` entry), and `codec_from_spec` rebuilds it on load. Model files without one are `paper`.

- `paper`: the paper's representation, unchanged: 88 pitches + rest sampled every 0.4 s (a held
  note and a repeated note are the same tokens; notes between samples are lost).
- `onset`: a sixteenth-note grid of the tune's own beat (quarter / 4), in the spirit of Magenta's
  melody encoding: a token per step is the onset of one of the 88 pitches, `hold` (the note
  sounding goes on) or `rest`; a `bar` token before each bar line (the first one marks the end
  of a pick-up); a start-of-tune token that names the meter, and an end-of-tune token. Tunes are
  transposed to C major / A minor for training (their key signature's relative major to C); the
  key is put back when writing.

A third-party codec: subclass `Codec`, give it a unique `name`, and register the class under the
entry-point group `seqgan_music.codecs`; a task returns it from `MusicTask.codec`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from seqgan_music._deprecated import moved_name
from seqgan_music.errors import ConfigError, DataError
from seqgan_music.music import tokens as paper_tokens
from seqgan_music.music.constraint import FormConstraint
from seqgan_music.music.form import expand_form
from seqgan_music.music.keys import (
    estimate_key,
    fold_pitch,
    parse_note_name,
    pitch_name,
    shift_to_c,
)
from seqgan_music.music.melody import Melody
from seqgan_music.music.readers import lost_notes, sample_melody


@dataclass
class Encoded:
    """A tune's tokens and what the representation did to its notes."""

    tokens: np.ndarray
    notes: int = 0  # notes in the source
    kept: int = 0  # notes that have their own onset in the tokens
    on_grid: int = 0  # source onsets exactly on the grid
    key: tuple[int, str] | None = None  # the source's key (before transposing)


class Codec:
    """Base class: tokens <-> melodies. Subclasses set the class attributes and methods."""

    name: ClassVar[str] = ""
    vocab_size: ClassVar[int] = 0
    default_window: ClassVar[int] = 32
    default_length: ClassVar[int] = 32  # steps compose writes when --length is not given
    grid: ClassVar[str] = ""  # one line: what a step is

    def spec(self) -> dict[str, Any]:
        """What a model file records; `from_spec` rebuilds the codec from it."""
        return {"name": self.name, "vocab_size": self.vocab_size}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Codec:
        return cls()

    def encode(self, melody: Melody) -> Encoded:
        raise NotImplementedError

    def decode(self, tokens: Sequence[int]) -> Melody:
        raise NotImplementedError

    def token_name(self, token: int) -> str:
        raise NotImplementedError

    def windows(self, tokens: np.ndarray, length: int, overlap: int = 0) -> np.ndarray:
        return paper_tokens.windows(tokens, length, overlap)

    def window_count(self, tokens: np.ndarray, length: int, overlap: int = 0) -> int:
        """How many windows `windows` cuts from a tune (override when it is cheaper to say)."""
        return len(self.windows(tokens, length, overlap))

    def prefix(self, meter: tuple[int, int] | None = None) -> list[int]:
        """Tokens every composed tune starts with (before any primer)."""
        return []

    def first_choices(self) -> list[int] | None:
        """Tokens a tune may start with when `prefix` is empty (None: any)."""
        return None

    def end_token(self) -> int | None:
        return None

    def parse_primer(self, text: str, key: tuple[int, str] | None = None) -> list[int]:
        """Inline note names as tokens (`key`: the key they are written in, when known)."""
        raise NotImplementedError

    def primer_key(self, text: str) -> tuple[int, str] | None:
        """The key inline primer notes are read in when none is given (None: not moved)."""
        return None

    def primer_tokens(self, encoded: Encoded) -> list[int]:
        """A primer file's tokens as a continuation of `prefix()`."""
        return [int(t) for t in encoded.tokens]


class PaperCodec(Codec):
    """88 pitches + rest every 0.4 s (the paper); one step = a quarter note at 150 qpm."""

    name = "paper"
    vocab_size = paper_tokens.VOCAB_SIZE
    default_window = paper_tokens.WINDOW
    default_length = paper_tokens.WINDOW
    grid = "0.4 s (a quarter note at 150 qpm)"

    def __init__(self, step: float = paper_tokens.STEP_SECONDS) -> None:
        self.step = step

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "step": self.step}

    def encode(self, melody: Melody) -> Encoded:
        """Samples of the sounding pitch every `step` seconds at 120 qpm (the readers' rule)."""
        seconds = [(s * 0.5, e * 0.5, p) for s, e, p in melody.notes]
        tokens = sample_melody(seconds, self.step,
                               melody.end * 0.5 if melody.end is not None else None)
        lost = lost_notes(seconds, tokens, self.step)
        on_grid = sum(abs(s / self.step - round(s / self.step)) < 1e-6 for s, _, _ in seconds)
        return Encoded(tokens, len(seconds), len(seconds) - lost, on_grid, melody.key)

    def decode(self, tokens: Sequence[int]) -> Melody:
        notes = paper_tokens.tokens_to_notes(tokens)
        return Melody([(n.start * 1.0, (n.start + n.steps) * 1.0, n.pitch) for n in notes],
                      end=float(len(tokens)))

    def token_name(self, token: int) -> str:
        return paper_tokens.token_name(token)

    def parse_primer(self, text: str, key: tuple[int, str] | None = None) -> list[int]:
        """'D4 E4 - r G4': a note per step, '-' holds the previous step, 'r' rests."""
        out: list[int] = []
        for word in text.split():
            if word == "-":
                out.append(out[-1] if out else paper_tokens.REST)
            elif word.lower() in ("r", "rest"):
                out.append(paper_tokens.REST)
            else:
                out.append(paper_tokens.pitch_to_token(parse_note_name(word)))
        if not out:
            raise ConfigError("--primer is empty; expected note names such as \"D4 E4 F#4 G4\"")
        return out


class OnsetCodec(Codec):
    """Onset / hold / rest on a sixteenth grid of the beat, bar lines, start and end of tune."""

    name = "onset"
    REST = 0
    HOLD = 1
    BAR = 2
    END = 3
    FIRST_ONSET = 4
    METERS: ClassVar[tuple[tuple[int, int], ...]] = (
        (4, 4), (3, 4), (6, 8), (2, 4), (2, 2), (3, 8), (9, 8), (12, 8), (3, 2), (6, 4))
    FIRST_START = FIRST_ONSET + paper_tokens.NUM_PITCHES  # 92
    START_OTHER = FIRST_START + len(METERS)  # a meter not listed: bars come from bar tokens
    vocab_size = START_OTHER + 1  # 103
    default_window = 64
    default_length = 1024  # steps at most; a tune ends where the model ends it (most within 600)
    grid = "a sixteenth note (a quarter / 4)"

    def __init__(self, per_quarter: int = 4, transpose: bool = True) -> None:
        self.per_quarter = per_quarter
        self.transpose = transpose

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "per_quarter": self.per_quarter, "transpose": self.transpose,
                "meters": ["/".join(map(str, m)) for m in self.METERS]}

    def start_token(self, meter: tuple[int, int]) -> int:
        return (self.FIRST_START + self.METERS.index(meter) if meter in self.METERS
                else self.START_OTHER)

    def prefix(self, meter: tuple[int, int] | None = None) -> list[int]:
        return [] if meter is None else [self.start_token(meter)]

    def first_choices(self) -> list[int] | None:
        return list(range(self.FIRST_START, self.START_OTHER))

    def end_token(self) -> int | None:
        return self.END

    def onset(self, pitch: int) -> int:
        return self.FIRST_ONSET + fold_pitch(pitch) - paper_tokens.LOWEST_PITCH

    def encode(self, melody: Melody) -> Encoded:
        if not melody.notes:
            raise DataError("no notes")
        if melody.form:  # a written tune (ABC): onset encodes it as played
            melody = expand_form(melody)
        key = melody.key or estimate_key(melody.notes)
        shift = shift_to_c(key) if self.transpose else 0
        g = self.per_quarter
        origin = round(min(n[0] for n in melody.notes) * g)
        on_grid = sum(abs(s * g - round(s * g)) < 1e-6 for s, _, _ in melody.notes)
        by_step: dict[int, tuple[int, int]] = {}  # onset step -> (off step, pitch), highest wins
        for start, end, pitch in melody.notes:
            on = round(start * g) - origin
            off = max(round(end * g) - origin, on + 1)
            if on not in by_step or pitch > by_step[on][1]:
                by_step[on] = (off, pitch)
        onsets = sorted(by_step)
        length = max(off for off, _ in by_step.values())
        if melody.end is not None:  # trailing silence up to the end of the last bar is kept
            length = max(length, min(round(melody.end * g) - origin, length + 4 * g * 4))
        steps = np.full(length, self.REST, dtype=np.int64)
        for i, on in enumerate(onsets):
            off, pitch = by_step[on]
            stop = min(off, onsets[i + 1]) if i + 1 < len(onsets) else off
            steps[on] = self.onset(pitch + shift)
            steps[on + 1 : stop] = self.HOLD
        bar_steps = {round(b * g) - origin for b in melody.bars}
        out = [self.start_token(melody.meter)]
        for index, token in enumerate(steps):
            if index in bar_steps:
                out.append(self.BAR)
            out.append(int(token))
        out.append(self.END)
        return Encoded(np.array(out, dtype=np.int64), len(melody.notes), len(onsets), on_grid,
                       key)

    def decode(self, tokens: Sequence[int]) -> Melody:
        g = float(self.per_quarter)
        notes: list[tuple[float, float, int]] = []
        bars: list[float] = []
        meter: tuple[int, int] | None = None
        step = 0
        current: list[Any] | None = None  # [start step, end step, pitch]
        ended = False
        for raw in tokens:
            token = int(raw)
            if token >= self.FIRST_START:
                if step == 0 and meter is None and token < self.START_OTHER:
                    meter = self.METERS[token - self.FIRST_START]
                continue  # a start token mid-tune means nothing
            if token == self.END:
                ended = True
                break
            if token == self.BAR:
                if not bars or bars[-1] != step / g:
                    bars.append(step / g)
                continue
            if token >= self.FIRST_ONSET:
                if current is not None:
                    notes.append((current[0] / g, current[1] / g, current[2]))
                pitch = token - self.FIRST_ONSET + paper_tokens.LOWEST_PITCH
                current = [step, step + 1, pitch]
            elif token == self.HOLD and current is not None and current[1] == step:
                current[1] = step + 1
            elif current is not None:
                notes.append((current[0] / g, current[1] / g, current[2]))
                current = None
            step += 1
        if current is not None:
            notes.append((current[0] / g, current[1] / g, current[2]))
        return Melody(notes, meter or (4, 4), bars, (0, "major"), step / g, ended)

    def token_name(self, token: int) -> str:
        token = int(token)
        if token == self.REST:
            return "r"
        if token == self.HOLD:
            return "-"
        if token == self.BAR:
            return "|"
        if token == self.END:
            return "<end>"
        if token >= self.START_OTHER:
            return "<start>"
        if token >= self.FIRST_START:
            return f"<start {'/'.join(map(str, self.METERS[token - self.FIRST_START]))}>"
        return pitch_name(token - self.FIRST_ONSET + paper_tokens.LOWEST_PITCH)

    def window_count(self, tokens: np.ndarray, length: int, overlap: int = 0) -> int:
        return max(1, math.ceil((len(tokens) - overlap) / (length - overlap)))

    def windows(self, tokens: np.ndarray, length: int, overlap: int = 0) -> np.ndarray:
        """Windows of a whole tune (start .. end); the last one is filled up with end tokens,
        so a model learns that a tune, once ended, stays ended."""
        if not 0 <= overlap < length:
            raise ValueError(f"overlap {overlap} must be in 0..{length - 1}")
        stride = length - overlap
        count = self.window_count(tokens, length, overlap)
        padded = np.full(overlap + count * stride, self.END, dtype=np.int64)
        padded[: len(tokens)] = tokens
        return np.stack([padded[s : s + length] for s in range(0, count * stride, stride)])

    def _primer_words(self, text: str) -> list[tuple[str, int]]:
        words = text.replace("|", " | ").split()
        if not words:
            raise ConfigError("--primer is empty; expected note names such as \"D4 E4 F#4 G4\"")
        raw: list[tuple[str, int]] = []
        for word in words:
            if word in ("-", "|") or word.lower() in ("r", "rest"):
                raw.append((word.lower()[:1], 0))
            else:
                raw.append(("n", parse_note_name(word)))
        return raw

    def primer_key(self, text: str) -> tuple[int, str] | None:
        pitches = [p for kind, p in self._primer_words(text) if kind == "n"]
        if not self.transpose or not pitches:
            return None
        return estimate_key([(0.0, 1.0, p) for p in pitches])

    def parse_primer(self, text: str, key: tuple[int, str] | None = None) -> list[int]:
        """'D4 - E4 F#4 | G4 - - - r': a note name starts a note (one step, a sixteenth), '-'
        holds one more step, 'r' rests one step, '|' is a bar line. A transposing model gets
        them moved from `key` (default: their estimated key) to C major / A minor."""
        raw = self._primer_words(text)
        key = key or self.primer_key(text)
        shift = shift_to_c(key) if self.transpose and key is not None else 0
        out: list[int] = []
        for kind, pitch in raw:
            out.append({"-": self.HOLD, "|": self.BAR, "r": self.REST}.get(kind, 0)
                       if kind != "n" else self.onset(pitch + shift))
        return out

    def primer_tokens(self, encoded: Encoded) -> list[int]:
        tokens = [int(t) for t in encoded.tokens]
        if tokens and tokens[-1] == self.END:
            tokens = tokens[:-1]
        return tokens


class AnyKeyOnsetCodec(OnsetCodec):
    """`onset` with the other way of handling keys: tunes are not moved to C; instead each
    tune is moved to one of the 12 keys (-5..+6 semitones, drawn from its own tokens, so the same
    tune always gets the same key), which spreads the corpus over all keys at the cost of one
    copy per tune. Composed tunes come out in whatever key the model chose (or `--key`)."""

    name = "onset-anykey"
    SHIFTS = tuple(range(-5, 7))

    def __init__(self, per_quarter: int = 4, transpose: bool = False) -> None:
        super().__init__(per_quarter, transpose=False)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Codec:
        return cls(int(spec.get("per_quarter", 4)))

    def shift_of(self, tokens: np.ndarray) -> int:
        """The tune's transposition: a hash of its tokens (stable across runs and processes)."""
        import hashlib

        digest = hashlib.sha256(np.ascontiguousarray(tokens, dtype=np.int64).tobytes()).digest()
        return self.SHIFTS[digest[0] % len(self.SHIFTS)]

    def windows(self, tokens: np.ndarray, length: int, overlap: int = 0) -> np.ndarray:
        tokens = np.asarray(tokens, dtype=np.int64)
        onsets = (tokens >= self.FIRST_ONSET) & (tokens < self.FIRST_START)
        moved = tokens.copy()
        if onsets.any():
            shift = self.shift_of(tokens)
            low, high = int(tokens[onsets].min()), int(tokens[onsets].max())
            # fold the shift by an octave where it would leave the piano
            if low + shift < self.FIRST_ONSET:
                shift += 12
            if high + shift >= self.FIRST_START:
                shift -= 12
            if low + shift >= self.FIRST_ONSET and high + shift < self.FIRST_START:
                moved[onsets] += shift
        return super().windows(moved, length, overlap)


class FormCodec(OnsetCodec):
    """`onset` with the written form: the tune as its ABC source writes it (each strain once)
    with bar-line tokens that say what the bar line is (plain "|", repeat start "|:", repeat
    end ":|", both ":|:", part boundary "||") and first / second ending tokens ("[1", "[2")
    after a bar line. Every tune ends with a bar-line token then the end token. Decoding gives
    a `Melody` with `form` filled (`form.expand_form` unfolds it for MIDI and WAV). The codec's
    `constraint` keeps sampled tunes well formed (bars that add up, closed repeats, ends at
    phrase boundaries); see `music/constraint.py`."""

    name = "form"
    written_form = True  # reads ABC sources as written (`corpus.find_music_files`)
    REP_START = OnsetCodec.vocab_size  # 103 "|:"
    REP_END = REP_START + 1  # ":|"
    REP_BOTH = REP_START + 2  # ":|:"
    PART = REP_START + 3  # "||"
    ENDING_1 = REP_START + 4  # "[1"
    ENDING_2 = REP_START + 5  # "[2"
    vocab_size = REP_START + 6  # 109
    default_window = 768
    default_length = 1024
    BAR_LINES: ClassVar[tuple[int, ...]] = (OnsetCodec.BAR, REP_START, REP_END, REP_BOTH, PART)
    NAMES: ClassVar[dict[int, str]] = {REP_START: "|:", REP_END: ":|", REP_BOTH: ":|:",
                                       PART: "||", ENDING_1: "[1", ENDING_2: "[2"}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Codec:
        return cls(int(spec.get("per_quarter", 4)), bool(spec.get("transpose", True)))

    def bar_token(self, marks: set[str]) -> int:
        if ":|" in marks and "|:" in marks:
            return self.REP_BOTH
        if ":|" in marks:
            return self.REP_END
        if "|:" in marks:
            return self.REP_START
        if "||" in marks:
            return self.PART
        return self.BAR

    def encode(self, melody: Melody) -> Encoded:
        if not melody.notes:
            raise DataError("no notes")
        key = melody.key or estimate_key(melody.notes)
        shift = shift_to_c(key) if self.transpose else 0
        g = self.per_quarter
        origin = min(round(min(n[0] for n in melody.notes) * g), 0)
        on_grid = sum(abs(s * g - round(s * g)) < 1e-6 for s, _, _ in melody.notes)
        by_step: dict[int, tuple[int, int]] = {}
        for start, end, pitch in melody.notes:
            on = round(start * g) - origin
            off = max(round(end * g) - origin, on + 1)
            if on not in by_step or pitch > by_step[on][1]:
                by_step[on] = (off, pitch)
        onsets = sorted(by_step)
        length = max(off for off, _ in by_step.values())
        if melody.end is not None:
            length = max(length, min(round(melody.end * g) - origin, length + 4 * g * 4))
        steps = np.full(length, self.REST, dtype=np.int64)
        for i, on in enumerate(onsets):
            off, pitch = by_step[on]
            stop = min(off, onsets[i + 1]) if i + 1 < len(onsets) else off
            steps[on] = self.onset(pitch + shift)
            steps[on + 1 : stop] = self.HOLD
        marks: dict[int, set[str]] = {}
        for position, mark in melody.form:
            marks.setdefault(min(max(round(position * g) - origin, 0), length), set()).add(mark)
        bar_steps = {round(b * g) - origin for b in melody.bars} | set(marks)
        bar_steps = {b for b in bar_steps if 0 <= b <= length}
        out = [self.start_token(melody.meter)]
        for index in range(length + 1):
            here = marks.get(index, set())
            if index in bar_steps and (index > 0 or "|:" in here):
                if index == length and not here & {":|", "||"}:
                    here = here | {"||"}  # the final bar line
                out.append(self.bar_token(here if index > 0 else {"|:"}))
                if "[1" in here and index < length:
                    out.append(self.ENDING_1)
                elif "[2" in here and index < length:
                    out.append(self.ENDING_2)
            elif index == length:
                out.append(self.PART)
            if index < length:
                out.append(int(steps[index]))
        out.append(self.END)
        return Encoded(np.array(out, dtype=np.int64), len(melody.notes), len(onsets), on_grid,
                       key)

    def decode(self, tokens: Sequence[int]) -> Melody:
        g = float(self.per_quarter)
        notes: list[tuple[float, float, int]] = []
        bars: list[float] = []
        form: list[tuple[float, str]] = []
        meter: tuple[int, int] | None = None
        step = 0
        current: list[Any] | None = None
        ended = False
        for raw in tokens:
            token = int(raw)
            if self.FIRST_START <= token <= self.START_OTHER:
                if step == 0 and meter is None and token < self.START_OTHER:
                    meter = self.METERS[token - self.FIRST_START]
                continue
            if token == self.END:
                ended = True
                break
            if token in self.BAR_LINES:
                if step > 0 and (not bars or bars[-1] != step / g):
                    bars.append(step / g)
                name = self.NAMES.get(token)
                if token == self.REP_BOTH:
                    form += [(step / g, ":|"), (step / g, "|:")]
                elif name is not None:
                    form.append((step / g, name))
                continue
            if token in (self.ENDING_1, self.ENDING_2):
                form.append((step / g, self.NAMES[token]))
                continue
            if token >= self.FIRST_ONSET:
                if current is not None:
                    notes.append((current[0] / g, current[1] / g, current[2]))
                pitch = token - self.FIRST_ONSET + paper_tokens.LOWEST_PITCH
                current = [step, step + 1, pitch]
            elif token == self.HOLD and current is not None and current[1] == step:
                current[1] = step + 1
            elif current is not None:
                notes.append((current[0] / g, current[1] / g, current[2]))
                current = None
            step += 1
        if current is not None:
            notes.append((current[0] / g, current[1] / g, current[2]))
        end = step / g
        bars = [b for b in bars if b < end - 1e-9]
        meter = meter or (4, 4)
        if not bars or bars[0] >= meter[0] * 4.0 / meter[1] - 1e-9:
            bars.insert(0, 0.0)  # the tune starts on a bar line (else: a pick-up, as written)
        return Melody(notes, meter, bars, (0, "major"), end, ended, form=form)

    def token_name(self, token: int) -> str:
        token = int(token)
        return self.NAMES.get(token) or super().token_name(token)

    def window_count(self, tokens: np.ndarray, length: int, overlap: int = 0) -> int:
        return 1

    def windows(self, tokens: np.ndarray, length: int, overlap: int = 0) -> np.ndarray:
        """The whole tune in one row of `length`, filled up with end tokens (a tune longer
        than `length` is cut: `constraint` keeps composed tunes within it)."""
        padded = np.full(length, self.END, dtype=np.int64)
        tokens = np.asarray(tokens, dtype=np.int64)[:length]
        padded[: len(tokens)] = tokens
        return padded[None, :]

    def constraint(self, **options: Any) -> Any:
        """The sampler's constraint for this codec (`constraint.FormConstraint`): by default
        strains of 8 bars (a repeat sign, part boundary or the end only where one ends; first
        and second endings as the strain's last bar), whole bars only (no short bar completing a
        pick-up), at most 32 bars as played (two repeated strains, as two thirds of the
        Nottingham tunes) and a last note on the tonic (C or A: tunes are moved to C major /
        A minor) unless the cap closes the tune."""
        defaults: dict[str, Any] = {"strain": 8, "short_bars": False, "max_bars": 32}
        if self.transpose:
            defaults["cadence"] = (0, 9)  # C (major) or A (minor)
        return FormConstraint(self, **{**defaults, **options})


BUILTIN_CODECS: dict[str, type[Codec]] = {"paper": PaperCodec, "onset": OnsetCodec,
                                          "onset-anykey": AnyKeyOnsetCodec,
                                          "form": FormCodec}


def codec_classes() -> dict[str, type[Codec]]:
    """Built-in codecs and those registered under the entry-point group `seqgan_music.codecs`."""
    from importlib.metadata import entry_points

    found = dict(BUILTIN_CODECS)
    for entry in entry_points(group="seqgan_music.codecs"):
        if entry.name not in found:
            try:
                found[entry.name] = entry.load()
            except Exception:  # a broken plug-in must not break the built-ins
                continue
    return found


def make_codec(name: str, **options: Any) -> Codec:
    classes = codec_classes()
    if name not in classes:
        raise ConfigError(f"task_options.representation = {name!r} is invalid; accepted: "
                          f"{', '.join(sorted(classes))}")
    return classes[name](**options)


def codec_from_spec(spec: dict[str, Any] | None, task: dict[str, Any] | None = None) -> Codec:
    """The codec a model file records (its task spec's `codec`); none recorded: `paper` with
    the file's step."""
    if not spec:
        step = float((task or {}).get("step", paper_tokens.STEP_SECONDS))
        return PaperCodec(step)
    name = str(spec.get("name", "paper"))
    if name == "paper":
        return PaperCodec(float(spec.get("step", paper_tokens.STEP_SECONDS)))
    if name == "onset":
        return OnsetCodec(int(spec.get("per_quarter", 4)), bool(spec.get("transpose", True)))
    classes = codec_classes()
    if name not in classes:
        raise ConfigError(f"the model's representation {name!r} is not installed here; "
                          f"known: {', '.join(sorted(classes))} (install the plug-in that "
                          "declares it)")
    return classes[name].from_spec(spec)


def __getattr__(name: str) -> Any:
    """Names that moved to `music.keys` and `music.melody` keep working until 0.3
    (`seqgan_music._deprecated`)."""
    return moved_name(__name__, name)
