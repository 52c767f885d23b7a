"""Music evaluators: the paper's BLEU-4 and MSE, and symbolic-music statistics.

- `bleu4`: mean sentence BLEU-4 of each generated sequence against the whole test split as
  references (the paper's protocol; `seqgan_music.eval.bleu`, NLTK-exact); with
  `bleu_references="train"` against the training windows, the scale of the paper's figures
  (real validation windows score about 0.82 against test windows, 0.95 against training ones).
  The other scale is reported too, as `bleu4_train` or `bleu4_test`.
- `mse`: for each generated sequence, the mean squared difference of its tokens (pitch numbers:
  1..88 = MIDI 21..108, rest 0) to the nearest test sequence, averaged over sequences
  (`per_token`). `window_l2` is ``sqrt(T * per-token MSE)``, the root-mean-square Euclidean
  distance over the whole window to the nearest test window: inferred, not published, because
  it turns our per-token figures into the paper's (15.64 -> 22.37 against its 22.38 for T = 32).
  The other convention is reported too, as `mse_window_l2` or `mse_per_token`.
- statistics: `pitch_range` (semitones between the lowest and highest note of a sequence),
  `pitch_classes` (distinct pitch classes used), `in_scale` (share of notes in the best-fitting
  major/natural-minor scale), `rests` (share of rest steps), `repeats` (share of steps equal to
  the step before), `copied_8grams` (share of 8-grams found verbatim in the training split).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from seqgan_music.eval.bleu import BleuReference
from seqgan_music.music.tokens import LOWEST_PITCH, REST

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
COPY_N = 8
PAPER_FIGURES = {"Paper MLE": {"bleu4": 0.9210, "mse": 22.38},
                 "Paper SeqGAN": {"bleu4": 0.9406, "mse": 20.62}}


def nearest_mse(samples: np.ndarray, references: np.ndarray, batch: int = 2048) -> float:
    """Mean over samples of the mean squared token difference to the nearest reference."""
    refs = references.astype(np.float64)
    ref_sq = (refs**2).sum(1)
    best = []
    for lo in range(0, len(samples), batch):
        chunk = samples[lo : lo + batch].astype(np.float64)
        dist = (chunk**2).sum(1)[:, None] + ref_sq[None, :] - 2.0 * chunk @ refs.T
        best.append(np.maximum(dist.min(1), 0.0))
    return float(np.concatenate(best).mean() / samples.shape[1])


def _gram_keys(tokens: np.ndarray, n: int) -> np.ndarray:
    """Each n-gram of each row as one integer (tokens < 128, so 7 bits per token, n <= 9)."""
    if tokens.shape[1] < n:
        return np.zeros((len(tokens), 0), np.int64)
    keys = np.zeros((len(tokens), tokens.shape[1] - n + 1), dtype=np.int64)
    for k in range(n):
        keys = (keys << 7) | tokens[:, k : tokens.shape[1] - n + 1 + k]
    return keys


def _scale_masks() -> np.ndarray:
    masks = np.zeros((12, 12), dtype=bool)
    for root in range(12):
        masks[root, [(root + d) % 12 for d in MAJOR_SCALE]] = True
    return masks  # natural minor scales are the relative majors' sets


def music_statistics(samples: np.ndarray, train_grams: np.ndarray | None = None
                     ) -> dict[str, float]:
    """The statistics above for sequences (N, T) of music tokens."""
    samples = np.asarray(samples, dtype=np.int64)
    notes = samples != REST
    pitch = np.where(notes, samples + LOWEST_PITCH - 1, 0)
    has_notes = notes.any(1)
    high = np.where(notes, pitch, -1).max(1)
    low = np.where(notes, pitch, 999).min(1)
    classes = np.zeros((len(samples), 12), dtype=np.int64)
    rows = np.repeat(np.arange(len(samples)), samples.shape[1])
    np.add.at(classes, (rows[notes.ravel()], (pitch.ravel() % 12)[notes.ravel()]), 1)
    in_scale = (classes @ _scale_masks().T.astype(np.int64)).max(1)
    count = notes.sum(1)
    figures = {
        "pitch_range": float((high - low)[has_notes].mean()) if has_notes.any() else 0.0,
        "pitch_classes": float((classes > 0).sum(1).mean()),
        "in_scale": float((in_scale[has_notes] / count[has_notes]).mean())
        if has_notes.any() else 0.0,
        "rests": float((~notes).mean()),
        "repeats": float((samples[:, 1:] == samples[:, :-1]).mean()),
    }
    if train_grams is not None:
        grams = _gram_keys(samples, COPY_N).ravel()
        figures["copied_8grams"] = float(np.isin(grams, train_grams).mean()) if len(grams) \
            else 0.0
    return figures


def window_l2(per_token_mse: float, length: int) -> float:
    """The per-token MSE as the RMS Euclidean distance over a window of `length` steps."""
    return float(np.sqrt(length * per_token_mse))


def music_evaluator(train: np.ndarray, test: np.ndarray, codec: Any = None,
                    bleu_references: str = "test", mse: str = "per_token"
                    ) -> Callable[[Any], dict[str, float]]:
    """The task's evaluator: samples (N, T) tensor or array -> named figures. With a codec
    other than `paper`, the statistics are computed on the decoded notes. `bleu_references`
    ("test" or "train") and `mse` ("per_token" or "window_l2") choose what `bleu4` and `mse`
    mean; the other choice is reported beside them."""
    if bleu_references not in ("test", "train") or mse not in ("per_token", "window_l2"):
        raise ValueError(f"bleu_references={bleu_references!r}, mse={mse!r}: expected test or "
                         "train, per_token or window_l2")
    splits = {"test": np.asarray(test, dtype=np.int64), "train": np.asarray(train, dtype=np.int64)}
    other = "train" if bleu_references == "test" else "test"
    reference = BleuReference(splits[bleu_references], max_n=4)
    other_reference = BleuReference(splits[other], max_n=4)
    test_array = splits["test"]
    train_grams = np.unique(_gram_keys(np.asarray(train, dtype=np.int64), COPY_N))
    paper = codec is None or codec.name == "paper"

    def evaluate(samples: Any) -> dict[str, float]:
        array = samples.numpy() if hasattr(samples, "numpy") else np.asarray(samples)
        array = array.astype(np.int64)
        if not paper:
            grams = _gram_keys(array, COPY_N).ravel()
            copied = float(np.isin(grams, train_grams).mean()) if len(grams) else 0.0
            melodies = [codec.decode(row) for row in array]
            stats = melody_statistics(melodies, whole_tunes=False)
            lengths = {k: stats.pop(k) for k in list(stats) if k.startswith("len_")}
            stats["len_sixteenth"] = lengths["len_sixteenth"]
            stats["len_eighth"] = lengths["len_eighth"] + lengths["len_dotted_eighth"]
            stats["len_quarter"] = lengths["len_quarter"] + lengths["len_dotted_quarter"]
            stats["len_longer"] = lengths["len_half_or_longer"]
            return {**bleu(array), **stats, "copied_8grams": copied}
        per_token = nearest_mse(array, test_array)
        as_l2 = window_l2(per_token, array.shape[1])
        mses = ({"mse": per_token, "mse_window_l2": as_l2} if mse == "per_token"
                else {"mse": as_l2, "mse_per_token": per_token})
        return {**bleu(array), **mses, **music_statistics(array, train_grams)}

    def bleu(array: np.ndarray) -> dict[str, float]:
        return {"bleu4": reference.score(array, 4),
                f"bleu4_{other}": other_reference.score(array, 4)}

    return evaluate


LENGTH_CLASSES = (("sixteenth", 0.25), ("eighth", 0.5), ("dotted eighth", 0.75),
                  ("quarter", 1.0), ("dotted quarter", 1.5), ("half or longer", 2.0))


def length_class(quarters: float) -> int:
    """Index into LENGTH_CLASSES of the class nearest below-or-at a note length."""
    index = 0
    for i, (_, value) in enumerate(LENGTH_CLASSES):
        if quarters >= value - 1e-6:
            index = i
    return index


def melody_statistics(melodies: list[Any], whole_tunes: bool = True) -> dict[str, float]:
    """Musician's statistics of decoded melodies (`melody.Melody`), means over melodies:

    pitch_range (semitones), pitch_classes (distinct), pc_entropy (bits, duration-weighted),
    in_scale (duration share in the best major/natural-minor scale), repeats (share of
    consecutive note pairs on the same pitch), rests (share of the time silent), note-length
    shares (`len_<class>` over all notes), and with `whole_tunes`: ends_on_tonic (share of
    tunes whose last note is the tonic of their estimated key) and ended (share that end).
    """
    from seqgan_music.music.keys import estimate_key

    ranges, classes, entropies, scales, rests = [], [], [], [], []
    pairs = repeated = 0
    lengths = np.zeros(len(LENGTH_CLASSES))
    tonic_end, ended = [], []
    masks = _scale_masks()
    for melody in melodies:
        notes = sorted(melody.notes)
        if not notes:
            continue
        pitches = np.array([n[2] for n in notes])
        durations = np.array([n[1] - n[0] for n in notes])
        ranges.append(float(pitches.max() - pitches.min()))
        weights = np.zeros(12)
        np.add.at(weights, pitches % 12, durations)
        classes.append(float((weights > 0).sum()))
        share = weights / weights.sum()
        entropies.append(float(-(share[share > 0] * np.log2(share[share > 0])).sum()))
        scales.append(float((masks.astype(float) @ weights).max() / weights.sum()))
        pairs += len(pitches) - 1
        repeated += int((pitches[1:] == pitches[:-1]).sum())
        span = max(melody.length, 1e-9)
        rests.append(max(0.0, 1.0 - float(durations.sum()) / span))
        for d in durations:
            lengths[length_class(float(d))] += 1
        if whole_tunes:
            tonic, _ = estimate_key(notes)
            tonic_end.append(float(notes[-1][2] % 12 == tonic))
            ended.append(float(melody.ended))
    figures = {
        "pitch_range": float(np.mean(ranges)) if ranges else 0.0,
        "pitch_classes": float(np.mean(classes)) if classes else 0.0,
        "pc_entropy": float(np.mean(entropies)) if entropies else 0.0,
        "in_scale": float(np.mean(scales)) if scales else 0.0,
        "repeats": repeated / pairs if pairs else 0.0,
        "rests": float(np.mean(rests)) if rests else 0.0,
    }
    total = lengths.sum() or 1.0
    for (name, _), count in zip(LENGTH_CLASSES, lengths, strict=True):
        figures["len_" + name.replace(" ", "_")] = float(count / total)
    if whole_tunes:
        figures["ends_on_tonic"] = float(np.mean(tonic_end)) if tonic_end else 0.0
        figures["ended"] = float(np.mean(ended)) if ended else 0.0
    return figures
