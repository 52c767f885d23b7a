"""Music representation: the 0.4 s sampler, melody extraction, ABC, round trips, corpus building,
split by tune, bad files, and the evaluators."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from seqgan_music.errors import ConfigError, DataError, DataWarning
from seqgan_music.music.corpus import MusicOptions, build_music_corpus, find_music_files
from seqgan_music.music.metrics import music_evaluator, music_statistics, nearest_mse
from seqgan_music.music.readers import UnusableFile, read_abc, read_midi, sample_melody
from seqgan_music.music.render import tokens_to_midi, write_midi
from seqgan_music.music.tokens import (
    Note,
    pitch_to_token,
    token_name,
    token_to_pitch,
    tokens_to_notes,
    windows,
)
from tests.conftest import SHARED_NOTTINGHAM, random_tunes, write_tune


def tok(pitch: int | None) -> int:
    return 0 if pitch is None else pitch_to_token(pitch)


def test_vocabulary_is_the_piano_plus_rest() -> None:
    assert pitch_to_token(21) == 1 and pitch_to_token(108) == 88
    assert token_to_pitch(0) is None and token_to_pitch(88) == 108
    assert pitch_to_token(110) == pitch_to_token(98)  # folded into the piano by octaves
    assert token_name(pitch_to_token(60)) == "C4" and token_name(0) == "r"
    with pytest.raises(ValueError):
        token_to_pitch(89)


def test_runs_of_one_pitch_are_one_note() -> None:
    tokens = [0, 40, 40, 40, 0, 42, 40, 40]
    assert tokens_to_notes(tokens) == [Note(60, 1, 3), Note(62, 5, 1), Note(60, 6, 2)]


def test_sampler_on_known_notes(tmp_path: Path) -> None:
    # At 120 bpm: a 0.5 s note from 0.0, a rest, a 1.0 s note from 0.9 s, a short note at 2.05.
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    track = pretty_midi.Instrument(program=0)
    for pitch, start, end in ((60, 0.0, 0.5), (64, 0.9, 1.9), (67, 2.05, 2.15), (69, 2.4, 3.0)):
        track.notes.append(pretty_midi.Note(90, pitch, start, end))
    midi.instruments.append(track)
    midi.write(str(tmp_path / "known.mid"))
    tokens = read_midi(tmp_path / "known.mid")[0].tokens
    # floor(3.0 / 0.4) = 7 sample points 0.0 0.4 ... 2.4; the 2.05-2.15 note falls between two
    assert tokens.tolist() == [tok(60), tok(60), 0, tok(64), tok(64), 0, tok(69)]
    assert sample_melody([(0.0, 1.0, 60)], step=0.25).tolist() == [tok(60)] * 4


def test_melody_track_of_a_two_track_file(tmp_path: Path) -> None:
    melody = [67, 69, 71, None, 72]
    path = write_tune(tmp_path / "two.mid", melody, chords=[48, 52, 55])
    assert read_midi(path)[0].tokens.tolist() == [tok(p) for p in melody]


def test_highest_pitch_of_chords(tmp_path: Path) -> None:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=0)
    for k, chord in enumerate(([60, 64, 67], [62, 65, 69], [59, 62, 67])):
        for pitch in chord:
            piano.notes.append(pretty_midi.Note(90, pitch, k * 0.4, (k + 1) * 0.4))
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes.append(pretty_midi.Note(90, 100, 0.0, 1.2))  # drums are never melody
    midi.instruments += [piano, drums]
    midi.write(str(tmp_path / "chords.mid"))
    assert read_midi(tmp_path / "chords.mid")[0].tokens.tolist() == [tok(67), tok(69), tok(67)]


def test_named_melody_track_wins(tmp_path: Path) -> None:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    for name, pitch in (("Flute descant", 84), ("Melody", 62)):
        track = pretty_midi.Instrument(program=0, name=name)
        track.notes.append(pretty_midi.Note(90, pitch, 0.0, 0.8))
        midi.instruments.append(track)
    midi.write(str(tmp_path / "named.mid"))
    assert read_midi(tmp_path / "named.mid")[0].tokens.tolist() == [tok(62)] * 2
    assert read_midi(tmp_path / "named.mid", melody="highest")[0].tokens.tolist() == [tok(84)] * 2


@pytest.mark.parametrize("tokens", [
    [tok(60), tok(60), tok(62), 0, 0, tok(64), tok(64), tok(64)],
    [0, 0, tok(72), tok(71), tok(69), 0, 0, 0],  # leading and trailing rests survive
    [tok(21), tok(108), tok(108), tok(55)],
])
def test_tokens_midi_tokens_round_trip(tmp_path: Path, tokens: list[int]) -> None:
    import mido

    path = write_midi(tokens_to_midi([tokens]), tmp_path / "round.mid")
    assert read_midi(path)[0].tokens.tolist() == tokens
    assert mido.MidiFile(str(path)).length == pytest.approx(len(tokens) * 0.4, abs=5e-3)


ABC = """X:1
T:Test jig
M:4/4
L:1/4
Q:1/4=150
K:C
"C" C D E F|"G7" G4|]

X:2
T:Broken
M:4/4
L:1/4
K:C
[C E G|

X:3
T:Repeat
M:4/4
L:1/4
Q:1/4=150
K:C
|:C D E F|G A B c:|
|:c B A G|F E D C:|
"""


def test_abc_tunes_chord_symbols_repeats_and_a_bad_tune(tmp_path: Path) -> None:
    path = tmp_path / "tunes.abc"
    path.write_text(ABC)
    tunes, skipped = read_abc(path)
    by_name = {t.name: t.tokens.tolist() for t in tunes}
    # Q:1/4=150 makes a quarter note 0.4 s: one step per quarter; "C"/"G7" are not melody.
    assert by_name["tunes.abc#1"] == [tok(p) for p in (60, 62, 64, 65, 67, 67, 67, 67)]
    up, down = (60, 62, 64, 65, 67, 69, 71, 72), (72, 71, 69, 67, 65, 64, 62, 60)
    assert by_name["tunes.abc#3"] == [tok(p) for p in up * 2 + down * 2]  # repeats expanded
    assert len(skipped) == (0 if "tunes.abc#2" in by_name else 1)
    assert all(s.startswith("tunes.abc#2") for s in skipped)


def test_abc_without_tunes_is_unusable(tmp_path: Path) -> None:
    (tmp_path / "empty.abc").write_text("% just a comment\n")
    with pytest.raises(UnusableFile, match="no ABC tune"):
        read_abc(tmp_path / "empty.abc")


def test_windows_drop_the_tail_and_overlap() -> None:
    sequence = np.arange(10)
    assert windows(sequence, 4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert windows(sequence, 4, overlap=2).tolist()[:2] == [[0, 1, 2, 3], [2, 3, 4, 5]]
    assert windows(sequence[:3], 4).shape == (0, 4)


def test_corpus_split_by_tune_is_seeded_and_disjoint(tmp_path: Path) -> None:
    random_tunes(tmp_path / "tunes", num=20, steps=70)
    options = MusicOptions(valid_fraction=0.2, test_fraction=0.2, split_seed=3)
    data = build_music_corpus([tmp_path / "tunes"], "t", options, 32)
    tunes = data.manifest["split_tunes"]
    assert set(tunes["train"]).isdisjoint(tunes["test"])
    assert set(tunes["train"]).isdisjoint(tunes["valid"])
    assert set(tunes["valid"]).isdisjoint(tunes["test"])
    assert len(tunes["test"]) == 4 and len(tunes["valid"]) == 4 and len(tunes["train"]) == 12
    assert data.train.shape == (24, 32) and data.test.shape == (8, 32)  # 2 windows per tune
    again = build_music_corpus([tmp_path / "tunes"], "t", options, 32, use_cache=False)
    assert again.manifest["split_tunes"] == tunes
    assert np.array_equal(again.train, data.train)
    other = build_music_corpus([tmp_path / "tunes"], "t", MusicOptions(split_seed=4), 32)
    assert other.manifest["split_tunes"]["test"] != tunes["test"]


def test_bad_files_are_skipped_counted_and_listed(tmp_path: Path) -> None:
    folder = random_tunes(tmp_path / "mixed", num=4, steps=40)
    (folder / "notes.mid").write_text("this is not a MIDI file")
    good = (folder / "tune0.mid").read_bytes()
    (folder / "truncated.mid").write_bytes(good[: len(good) // 2])
    (folder / "empty.mid").write_bytes(b"")
    import pretty_midi

    drums = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes.append(pretty_midi.Note(100, 36, 0, 1))
    drums.instruments.append(kit)
    drums.write(str(folder / "drums.mid"))
    with pytest.warns(DataWarning, match=r"skipped \d of the files") as caught:
        data = build_music_corpus([folder], "mixed", MusicOptions(), 32)
    assert len(caught) == 1
    skipped = {s["item"]: s["reason"] for s in data.manifest["skipped"]}
    assert {"notes.mid", "empty.mid", "drums.mid"} <= set(skipped)
    assert skipped["drums.mid"] == "drum-only"
    assert data.manifest["tunes"] == 4 + ("truncated.mid" not in skipped)
    manifest = json.loads((Path(data.manifest["cache"]) / "manifest.json").read_text())
    assert manifest["skipped"] == data.manifest["skipped"]


def test_no_usable_sequence_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.mid").write_text("nope")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataError, match=r"junk holds 0 usable tune"):
            build_music_corpus([tmp_path / "junk"], "junk", MusicOptions(), 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no MIDI or ABC files"):
        build_music_corpus([tmp_path / "empty"], "none", MusicOptions(), 32)
    with pytest.raises(DataError, match="missing does not exist"):
        build_music_corpus([tmp_path / "missing"], "x", MusicOptions(), 32)


def test_unknown_or_bad_options_name_the_field() -> None:
    with pytest.raises(ConfigError, match="task_options.stepp"):
        MusicOptions.from_options({"stepp": 0.4})
    with pytest.raises(ConfigError, match="task_options.melody"):
        MusicOptions.from_options({"melody": "lowest"})
    assert MusicOptions.from_options({"step": 0.25}).step == 0.25


def test_jukedeck_layout_uses_the_melody_files(tmp_path: Path) -> None:
    write_tune(tmp_path / "MIDI" / "jigs1.mid", [60, 62], chords=[48])
    write_tune(tmp_path / "MIDI" / "melody" / "jigs1.mid", [60, 62])
    (tmp_path / "ABC_cleaned").mkdir()
    (tmp_path / "ABC_cleaned" / "jigs.abc").write_text(ABC)
    files, layout = find_music_files(tmp_path)
    assert layout.startswith("jukedeck") and [f.name for f in files] == ["jigs1.mid"]
    assert files[0].parent.name == "melody"


def test_mse_and_statistics_on_hand_made_sequences() -> None:
    refs = np.array([[40, 40, 42, 44], [50, 50, 50, 50]])
    samples = np.array([[40, 40, 42, 44], [52, 50, 50, 50]])
    assert nearest_mse(samples, refs) == pytest.approx((0 + 4 / 4) / 2)
    c_major = np.array([[tok(p) for p in (60, 62, 64, 65, 67, 69, 71, 72)] + [0, 0]])
    stats = music_statistics(c_major, np.zeros(0, dtype=np.int64))
    assert stats["pitch_range"] == 12 and stats["pitch_classes"] == 7
    assert stats["in_scale"] == 1.0 and stats["rests"] == pytest.approx(0.2)
    assert stats["repeats"] == pytest.approx(1 / 9) and stats["copied_8grams"] == 0.0
    chromatic = np.array([[tok(60 + i) for i in range(12)]])
    assert music_statistics(chromatic)["in_scale"] == pytest.approx(7 / 12)


def test_evaluator_bleu_and_copies() -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(1, 89, (50, 32))
    test = rng.integers(1, 89, (20, 32))
    figures = music_evaluator(train, test)(test[:5])
    assert figures["bleu4"] == pytest.approx(1.0) and figures["mse"] == 0.0
    assert music_evaluator(train, test)(train[:5])["copied_8grams"] == 1.0


def test_evaluator_reference_and_mse_conventions() -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(1, 89, (50, 32))
    test = rng.integers(1, 89, (20, 32))
    samples = rng.integers(1, 89, (8, 32))
    default = music_evaluator(train, test)(samples)
    other = music_evaluator(train, test, bleu_references="train", mse="window_l2")(samples)
    # both conventions reported either way, each under the other's name
    assert default["bleu4"] == other["bleu4_test"] and default["bleu4_train"] == other["bleu4"]
    assert default["mse"] == other["mse_per_token"] == nearest_mse(samples, test)
    assert default["mse_window_l2"] == other["mse"] == pytest.approx(np.sqrt(32 * default["mse"]))
    # a copied training window scores 1.0 against the training windows only
    copied = music_evaluator(train, test, bleu_references="train")(train[:3])
    assert copied["bleu4"] == 1.0 and copied["bleu4_test"] < 1.0
    # one window, hand-computed: every token 3 away from the only test window
    one = music_evaluator(train, test[:1], mse="window_l2")(test[:1] + 3)
    assert one["mse_per_token"] == pytest.approx(9.0) and one["mse"] == pytest.approx(
        np.sqrt(32 * 9.0))


def test_evaluation_options_are_checked_in_one_line() -> None:
    from seqgan_music.app.train import build_config
    from seqgan_music.errors import ConfigError
    from seqgan_music.tasks import load_task

    task = load_task("nottingham")
    for option, value, accepted in (("bleu_references", "valid", "test or train"),
                                    ("mse", "l2", "per_token or window_l2")):
        with pytest.raises(ConfigError, match=f"task_options.{option} = '{value}' is invalid: "
                                              f"expected {accepted}$"):
            build_config(task, "default", None, [f"task_options.{option}={value}"], None, None)


@pytest.mark.skipif(not (SHARED_NOTTINGHAM / "MIDI" / "melody").is_dir(),
                    reason="the staged Nottingham data (../shared/data) is not present")
def test_staged_nottingham_gives_the_papers_counts() -> None:
    data = build_music_corpus([SHARED_NOTTINGHAM], "nottingham", MusicOptions(), 32)
    manifest = data.manifest
    assert manifest["files"] == 1034 and manifest["steps"] == 173_581
    assert manifest["rests"] == 3408
    assert len(data.train) + len(data.valid) + len(data.test) == 4930


def test_folk_task_reads_music21s_bundled_tunes() -> None:
    from seqgan_music.tasks.music import FolkTask

    task = FolkTask()
    roots, label = task.locate(None, {})
    assert "oneills1850" in label and any(roots[0].glob("*.abc"))
    smallest = min(roots[0].parent.joinpath("ryansMammoth").glob("*.abc"),
                   key=lambda p: p.stat().st_size)
    tunes, _ = read_abc(smallest)
    assert tunes and all(len(t.tokens) > 4 for t in tunes)
    with pytest.raises(DataError, match="takes no --data"):
        task.locate(Path("mine"), {})
    with pytest.raises(DataError, match="task_options.corpora"):
        task.locate(None, {"corpora": ["bach"]})
