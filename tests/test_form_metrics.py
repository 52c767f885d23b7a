"""Form statistics on tiny melodies written here, and the Kneser-Ney n-gram baseline."""

from __future__ import annotations

import numpy as np
import pytest

from seqgan_music.music.codecs import OnsetCodec
from seqgan_music.music.form_metrics import (
    beat_length,
    copies,
    copy_index,
    form_statistics,
    tune_form,
)
from seqgan_music.music.melody import Melody
from seqgan_music.music.ngram import KneserNey


def bar_notes(start: float, pitches: list[int]) -> list[tuple[float, float, int]]:
    """Four quarter notes from `start`."""
    return [(start + i, start + i + 1.0, p) for i, p in enumerate(pitches)]


def strain(start: float, base: int, ending: int) -> list[tuple[float, float, int]]:
    """8 bars of 4/4 from `start`, all different, the 8th ending on `ending`."""
    notes = []
    for bar in range(7):
        notes += bar_notes(start + 4 * bar, [base + bar, base + bar + 2, base + bar + 4,
                                             base + bar + 5])
    return notes + bar_notes(start + 28, [base, base + 2, base + 4, ending])


def melody(notes: list[tuple[float, float, int]], meter: tuple[int, int] = (4, 4),
           bars: list[float] | None = None) -> Melody:
    end = max(n[1] for n in notes)
    bar = meter[0] * 4 / meter[1]
    return Melody(notes, meter, bars if bars is not None else list(np.arange(0, end, bar)),
                  (0, "major"), end, True)


def aabb() -> Melody:
    notes = (strain(0, 60, 62) + strain(32, 60, 60)  # A with a first and a second ending
             + strain(64, 67, 69) + strain(96, 67, 60))
    return melody(notes)


def test_an_aabb_tune_is_detected() -> None:
    form = tune_form(aabb())
    assert form.bars == 32 and form.aabb is True
    # bars 9-15 and 25-31 repeat; the endings (bars 16 and 32) are new bars
    assert form.repeated_bars == 14
    assert form.phrases8 == 4 and form.repeated8 == 2
    assert form.wrong_bars == 0 and form.syncopated == 0
    assert form.ends_on_tonic


def test_a_through_composed_tune_is_not_aabb() -> None:
    notes = strain(0, 60, 62) + strain(32, 62, 60) + strain(64, 64, 69) + strain(96, 65, 60)
    form = tune_form(melody(notes))
    assert form.aabb is False and form.repeated8 == 0
    assert tune_form(melody(strain(0, 60, 60))).aabb is None  # under 32 bars: not asked


def test_a_wrong_length_bar_is_counted_but_not_the_pickup_or_the_last_bar() -> None:
    # pick-up of one beat, a bar of 4, a bar of 3 (wrong), a bar of 4, a last bar of 2
    notes = [(0.0, 1.0, 67)] + bar_notes(1, [60, 62, 64, 65]) + [
        (5.0, 6.0, 67), (6.0, 7.0, 65), (7.0, 8.0, 64)] + bar_notes(8, [62, 60, 62, 64]) + [
        (12.0, 14.0, 60)]
    form = tune_form(melody(notes, bars=[1.0, 5.0, 8.0, 12.0]))
    assert form.bars == 4  # the pick-up is no bar
    assert form.checked_bars == 3 and form.wrong_bars == 1
    assert form_statistics([melody(notes, bars=[1.0, 5.0, 8.0, 12.0])])[
        "wrong_length_bars"] == pytest.approx(1 / 3)


def test_a_bar_split_by_a_repeat_sign_is_one_bar() -> None:
    # pick-up | 4 | 3 :|: 1 (the next strain's pick-up) | 4 | 4: the 3 + 1 are one bar
    notes = [(0.0, 1.0, 67)] + bar_notes(1, [60, 62, 64, 65]) + bar_notes(5, [67, 65, 64, 62]) \
        + bar_notes(9, [60, 62, 64, 65]) + bar_notes(13, [67, 69, 71, 72])
    form = tune_form(melody(notes, bars=[1.0, 5.0, 8.0, 9.0, 13.0]))
    assert form.bars == 4 and form.checked_bars == 3 and form.wrong_bars == 0


def test_a_syncopation_is_counted() -> None:
    # eighth, quarter across beat 2, eighth ... : one syncopated note; a held half on the
    # beat is not syncopated
    notes = [(0.0, 0.5, 60), (0.5, 1.5, 62), (1.5, 2.0, 64), (2.0, 4.0, 65)]
    assert tune_form(melody(notes)).syncopated == 1
    # in 6/8 the beat is a dotted quarter: quarter + eighth is not syncopated
    jig = [(0.0, 1.0, 60), (1.0, 1.5, 62), (1.5, 2.5, 64), (2.5, 3.0, 65)]
    assert beat_length((6, 8)) == 1.5
    assert tune_form(melody(jig, (6, 8))).syncopated == 0
    assert tune_form(melody([(0.0, 1.0, 60), (1.0, 2.0, 62), (2.0, 3.0, 64)],
                            (6, 8))).syncopated == 1
    # after a bar of 2.5 beats, a note on its bar's downbeat is off the meter's grid
    drifted = tune_form(melody([(0.0, 4.0, 60), (4.0, 6.5, 62), (6.5, 7.5, 64),
                                (7.5, 10.5, 65)], bars=[0.0, 4.0, 6.5]))
    assert drifted.wrong_bars == 1
    assert drifted.syncopated == 0 and drifted.syncopated_grid == 2


def test_statistics_aggregate_and_find_copies() -> None:
    tune = aabb()
    index = copy_index([tune])
    assert copies(tune, index)
    moved = Melody([(s, e, p + 5) for s, e, p in tune.notes], tune.meter, tune.bars,
                   tune.key, tune.end)
    assert copies(moved, index)  # a transposed copy is a copy
    other = melody([n for k in range(8) for n in bar_notes(4 * k, [72 - k, 71 - k, 67, 69])])
    figures = form_statistics([tune, other], index)
    assert figures["aabb"] == 1.0 and figures["tunes_32_bars"] == 0.5
    assert figures["copied_16"] == 0.5 and figures["distinct_openings"] == 1.0
    assert figures["bars_median"] == 20.0 and figures["bars_min"] == 8.0
    assert figures["under_8_bars"] == 0.0


def test_decoded_onset_tokens_are_measured() -> None:
    codec = OnsetCodec()
    tune = aabb()
    decoded = codec.decode(codec.encode(tune).tokens)
    assert tune_form(decoded).aabb is True


def test_the_ngram_trains_and_samples_deterministically() -> None:
    corpus = [[5, 1, 2, 3, 1, 2, 3, 0], [5, 1, 2, 3, 4, 0], [6, 2, 3, 1, 0]]
    model = KneserNey(vocab_size=7, order=3).fit(corpus)
    p = model.probabilities([5, 1])
    assert p.shape == (7,) and p.sum() == pytest.approx(1.0)
    assert p.argmax() == 2  # 5 1 -> 2 every time in the corpus
    assert (p > 0).all()  # smoothed: every token possible
    first = model.sample(4, 20, seed=3, stop_token=0)
    assert first == model.sample(4, 20, seed=3, stop_token=0)
    assert all(len(t) <= 20 for t in first)
    assert all(t[-1] == 0 or len(t) == 20 for t in first)
    assert all(0 not in t[:-1] for t in first)
    with pytest.raises(ValueError):
        KneserNey(vocab_size=3).fit([[5]])
