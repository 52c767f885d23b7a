"""Keys, modes, meters and pitch names: parsing, naming, estimating and spelling them.

`parse_key` ('Edor', 'F#m') and `parse_meter` ('6/8') read the user's and the files' names;
`estimate_key` / `estimate_mode` find a tune's key from its pitch-class durations
(Krumhansl-Kessler profiles, Krumhansl 1990); `move_to_mode` moves a tune to another mode;
`music21_key` and `spelled_pitch` spell pitches as the key's signature does (for notation).
A key is (tonic pitch class 0..11, mode name).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqgan_music.errors import ConfigError
from seqgan_music.music import tokens as paper_tokens

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEY_TONICS = {"C": 0, "B#": 0, "C#": 1, "DB": 1, "D": 2, "D#": 3, "EB": 3, "E": 4, "FB": 4,
              "F": 5, "E#": 5, "F#": 6, "GB": 6, "G": 7, "G#": 8, "AB": 8, "A": 9, "A#": 10,
              "BB": 10, "B": 11, "CB": 11}
# Major-key signatures in sharps (+) / flats (-) for each tonic pitch class (minor: tonic + 3).
KEY_SHARPS = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 1: -5, 5: -1, 10: -2, 3: -3, 8: -4}


# key signature: E dorian, A mixolydian and B minor share D major's two sharps).
MODES = {"major": 0, "dorian": 2, "phrygian": 4, "lydian": 5, "mixolydian": 7, "minor": 9,
         "locrian": 11}
MODE_ALIASES = {"": "major", "maj": "major", "major": "major", "ion": "major", "ionian": "major",
                "m": "minor", "min": "minor", "minor": "minor", "aeo": "minor",
                "aeolian": "minor", "dor": "dorian", "dorian": "dorian", "phr": "phrygian",
                "phrygian": "phrygian", "lyd": "lydian", "lydian": "lydian",
                "mix": "mixolydian", "mixolydian": "mixolydian", "loc": "locrian",
                "locrian": "locrian"}
# ABC's three-letter mode names (K:Edor), "" for major and "m" for minor.
ABC_MODES = {"major": "", "minor": "m", "dorian": "dor", "phrygian": "phr", "lydian": "lyd",
             "mixolydian": "mix", "locrian": "loc"}
# Scale steps of each mode from its tonic (the major scale rotated).
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
KEY_PATTERN = re.compile(r"\s*([A-Ga-g])\s*([#b\u266f\u266d]?)\s*([A-Za-z]*)\s*")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def mode_scale(mode: str) -> tuple[int, ...]:
    """The seven pitch classes of `mode` on tonic C, e.g. dorian -> (0, 2, 3, 5, 7, 9, 10)."""
    offset = MODES[mode]
    index = MAJOR_STEPS.index(offset)
    rotated = MAJOR_STEPS[index:] + MAJOR_STEPS[:index]
    return tuple((step - offset) % 12 for step in rotated)


def parse_key(text: str, option: str = "--key") -> tuple[int, str]:
    """A tonic and an optional mode -> (tonic pitch class, mode).

    Accepts what a musician writes and ABC's K: field: 'G', 'D major', 'Em', 'A minor', 'f#m',
    'Bb', 'Dmix', 'E dorian', 'Ador', 'G Mixolydian', 'Bphr', 'Flyd', 'Bloc' (mode names are
    case-insensitive, three letters or in full; 'ion'/'aeo' are major/minor).
    """
    match = KEY_PATTERN.fullmatch(text or "")
    word = match.group(3).lower() if match else ""
    if word not in MODE_ALIASES and MODE_ALIASES.get(word[:3], "-").startswith(word):
        word = word[:3]  # 'mixo', 'dori': a mode's name cut short
    if not match or word not in MODE_ALIASES:
        raise ConfigError(f"{option} {text!r} is invalid; expected a tonic and an optional mode, "
                          "e.g. G, Bb, Em, F#m, D major, Dmix, E dorian, Ador")
    accidental = match.group(2).replace("\u266f", "#").replace("\u266d", "b")
    tonic = KEY_TONICS[(match.group(1) + accidental).upper()]
    return tonic, MODE_ALIASES[word]


def names_mode(text: str) -> bool:
    """Whether a --key text names its mode ('Em', 'D major', 'Ador') or only a tonic ('D')."""
    match = KEY_PATTERN.fullmatch(text or "")
    return bool(match and match.group(3))


def relative_major(key: tuple[int, str]) -> int:
    """The tonic pitch class of the major key with `key`'s signature (E dorian -> D)."""
    tonic, mode = key
    return (tonic - MODES.get(mode, 0)) % 12


def key_sharps(key: tuple[int, str]) -> int:
    """Sharps (+) or flats (-) of `key`'s signature (E dorian: 2, G minor: -2)."""
    return KEY_SHARPS[relative_major(key)]


def tonic_name(key: tuple[int, str]) -> str:
    """The tonic spelled as the key signature spells it (Bb in flat keys, F# in sharp ones)."""
    tonic = key[0]
    sharps = key_sharps(key)
    if sharps >= 0:
        name = NOTE_NAMES[tonic]
        if sharps >= 6 and tonic == 5:
            name = "E#"
        return name
    name = FLAT_NAMES[tonic]
    return "Cb" if sharps <= -7 and tonic == 11 else name


def key_name(key: tuple[int, str]) -> str:
    """'E dorian', 'Bb major', 'F# minor'."""
    return f"{tonic_name(key)} {key[1]}"


def abc_key(key: tuple[int, str]) -> str:
    """The ABC K: field of a key: 'G', 'Em', 'Edor', 'Dmix', 'Bb'."""
    return tonic_name(key) + ABC_MODES[key[1]]


def parse_meter(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(1|2|4|8|16)\s*", text or "")
    if not match or not 1 <= int(match.group(1)) <= 32:
        raise ConfigError(f"--meter {text!r} is invalid; expected a time signature such as 4/4, "
                          "3/4, 6/8, 2/2 or 9/8")
    return int(match.group(1)), int(match.group(2))


MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def estimate_key(notes: Sequence[tuple[float, float, int]]) -> tuple[int, str]:
    """Krumhansl-Schmuckler: the key whose profile best matches the duration-weighted pitch
    classes (C major for no notes)."""
    weights = np.zeros(12)
    for start, end, pitch in notes:
        weights[pitch % 12] += max(end - start, 1e-3)
    if not weights.any():
        return 0, "major"
    best, best_score = (0, "major"), -math.inf
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            score = float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1])
            if score > best_score:
                best, best_score = (tonic, mode), score
    return best


def shift_to_c(key: tuple[int, str]) -> int:
    """Semitones (-5..+6) moving `key`'s signature to C's (its relative major to C major, so a
    minor key lands on A minor, E dorian on D dorian, D mixolydian on G mixolydian)."""
    shift = (-relative_major(key)) % 12
    return shift - 12 if shift > 6 else shift


def diatonic_major(notes: Sequence[tuple[float, float, int]]) -> int | None:
    """The major key (tonic pitch class) whose scale holds the most of the notes' duration
    (None for no notes); ties go to the signature with fewer accidentals."""
    weights = np.zeros(12)
    for start, end, pitch in notes:
        weights[pitch % 12] += max(end - start, 1e-3)
    if not weights.any():
        return None
    scores = [(float(sum(weights[(major + s) % 12] for s in MAJOR_STEPS)),
               -abs(KEY_SHARPS[major]), major) for major in range(12)]
    return max(scores)[2]


FOLK_MODES = ("major", "minor", "dorian", "mixolydian")


def estimate_mode(notes: Sequence[tuple[float, float, int]],
                  key: tuple[int, str] | None = None,
                  modes: Sequence[str] = FOLK_MODES) -> tuple[int, str]:
    """The tune's key with its mode, read from its notes against a key signature.

    The signature is `key`'s (as written, e.g. an ABC K: field: kept, so that a tune moves to C
    by its signature as before), else the diatonic scale that holds most of the notes. The tonic
    is the last note's pitch class when it is a degree of that scale whose mode is one of
    `modes` (the folk modes: a tune ending on the second degree of its scale is dorian, on the
    fifth mixolydian), else `key` itself: a K:G tune ending on A is A dorian, on D D mixolydian,
    on B (a third, a cadence of some songs) G major.
    """
    ordered = sorted((n for n in notes if n[1] > n[0]), key=lambda n: (n[0], -n[2]))
    if not ordered:
        return key or (0, "major")
    if key is None:
        fitted = diatonic_major(ordered)
        key = estimate_key(ordered)
        major = fitted if fitted is not None else relative_major(key)
    else:
        major = relative_major(key)
    last_start = ordered[-1][0]
    final = max(n[2] for n in ordered if abs(n[0] - last_start) < 1e-9) % 12
    offset = (final - major) % 12
    for mode in modes:
        if MODES[mode] == offset:
            return final, mode
    if relative_major(key) == major:
        return key
    return major, "major"


def move_to_mode(notes: Sequence[tuple[float, float, int]], source: tuple[int, str],
                 target: tuple[int, str]) -> list[tuple[float, float, int]]:
    """The notes moved from `source` to `target`, degree by degree: a tune in C major asked for
    in D dorian keeps its contour and becomes D dorian (its third and seventh lowered, its tonic
    moved to D). Notes outside the source scale keep their distance from the degree below."""
    source_scale, target_scale = mode_scale(source[1]), mode_scale(target[1])
    shift = (target[0] - source[0]) % 12
    if shift > 6:
        shift -= 12
    moved = []
    for start, end, pitch in notes:
        relative = (pitch - source[0]) % 12
        degree = max(i for i, s in enumerate(source_scale) if s <= relative)
        change = target_scale[degree] - source_scale[degree]
        moved.append((start, end, pitch + shift + change))
    return moved


def fold_pitch(pitch: int) -> int:
    while pitch < paper_tokens.LOWEST_PITCH:
        pitch += 12
    while pitch > paper_tokens.HIGHEST_PITCH:
        pitch -= 12
    return pitch


def pitch_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


NOTE_PATTERN = re.compile(r"([A-Ga-g])([#b]?)(-?\d)$")


def parse_note_name(text: str) -> int:
    """'D4', 'F#5', 'Bb3' -> MIDI pitch (C4 = 60)."""
    match = NOTE_PATTERN.fullmatch(text)
    if not match:
        raise ConfigError(f"--primer note {text!r} is invalid; expected a note name with octave "
                          "(C4 = middle C, F#4, Bb3), '-' to hold, 'r' for a rest")
    pitch = KEY_TONICS[match.group(1).upper()] + {"#": 1, "b": -1, "": 0}[match.group(2)]
    pitch += (int(match.group(3)) + 1) * 12
    if not paper_tokens.LOWEST_PITCH <= pitch <= paper_tokens.HIGHEST_PITCH:
        raise ConfigError(f"--primer note {text} is outside the piano (A0..C8)")
    return pitch


def music21_key(key: tuple[int, str]) -> Any:
    """A music21 Key with `key`'s tonic (spelled as its signature spells it) and mode."""
    import music21

    return music21.key.Key(tonic_name(key).replace("b", "-"), key[1])


def spelled_pitch(pitch: int, key: tuple[int, str] | None) -> Any:
    """A music21 Pitch for a MIDI number, spelled in `key` (its scale's names; chromatic notes
    with sharps in sharp keys, flats in flat keys)."""
    import music21

    base = music21.pitch.Pitch(midi=int(pitch))
    if key is None:
        return base
    sharps = key_sharps(key)
    scale = music21_key(key).pitches
    scale_names = {p.name for p in scale}
    if key[1] == "minor":  # the raised sixth and seventh (melodic and harmonic minor)
        scale_names |= {scale[5].transpose("A1").name, scale[6].transpose("A1").name}
    candidates = [base]
    for other in (base.getLowerEnharmonic(inPlace=False),
                  base.getHigherEnharmonic(inPlace=False)):
        if other is not None and (other.accidental is None or abs(other.accidental.alter) <= 1):
            candidates.append(other)
    for candidate in candidates:
        if candidate.name in scale_names:
            return candidate
    for candidate in candidates:  # a chromatic note: naturals stay, else the signature's way
        if candidate.accidental is None or candidate.accidental.alter == 0:
            return candidate
    wanted = "-" if sharps < 0 else "#"
    for candidate in candidates:
        if wanted in candidate.name:
            return candidate
    return base
