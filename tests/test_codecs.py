"""Representations (`seqgan_music.music.codecs`), the model zoo and the WAV synthesiser search."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from seqgan_music.errors import ConfigError
from seqgan_music.music.codecs import OnsetCodec, PaperCodec, codec_from_spec
from seqgan_music.music.keys import parse_key, parse_meter
from seqgan_music.music.melody import Melody

# A 3/4 tune in G major with a one-beat pick-up: D5 | G5 G5 (repeated) A5 (dotted) B5 ... .
PICKUP_TUNE = Melody(
    notes=[(2.0, 3.0, 74), (3.0, 3.5, 79), (3.5, 4.0, 79), (4.0, 5.5, 81), (5.5, 6.0, 83),
           (6.0, 9.0, 79)],
    meter=(3, 4), bars=[0.0, 3.0, 6.0], key=(7, "major"), end=9.0)


def test_onset_codec_keeps_holds_repeats_bars_and_the_pickup() -> None:
    codec = OnsetCodec()
    encoded = codec.encode(PICKUP_TUNE)
    names = [codec.token_name(t) for t in encoded.tokens]
    # moved from G major to C major (up a fourth), a bar line after the one-beat pick-up
    assert names[:8] == ["<start 3/4>", "G5", "-", "-", "-", "|", "C6", "-"]
    assert names[8:10] == ["C6", "-"]  # a repeated note is a new onset, not a hold
    assert names[-1] == "<end>" and names.count("|") == 2
    assert encoded.notes == encoded.kept == encoded.on_grid == 6
    decoded = codec.decode(encoded.tokens)
    assert decoded.meter == (3, 4) and decoded.ended and decoded.pickup() == 1.0
    assert [(s, e, p - 5) for s, e, p in decoded.notes] == [
        (s - 2.0, e - 2.0, p) for s, e, p in PICKUP_TUNE.notes]


def test_onset_codec_counts_notes_lost_between_grid_steps() -> None:
    grace = Melody(notes=[(0.0, 0.1, 60), (0.1, 1.0, 62), (1.0, 2.0, 64)], key=(0, "major"))
    encoded = OnsetCodec().encode(grace)
    assert (encoded.notes, encoded.kept, encoded.on_grid) == (3, 2, 2)


def test_onset_windows_cover_the_whole_tune_and_pad_with_end() -> None:
    codec = OnsetCodec()
    tokens = codec.encode(PICKUP_TUNE).tokens
    cut = codec.windows(tokens, 16)
    assert cut.shape == (int(np.ceil(len(tokens) / 16)), 16)
    assert cut.ravel()[: len(tokens)].tolist() == tokens.tolist()
    assert set(cut.ravel()[len(tokens):].tolist()) <= {codec.END}


def test_inline_primers_per_codec() -> None:
    paper = PaperCodec()
    assert paper.parse_primer("D4 - r E4") == [42, 42, 0, 44]
    onset = OnsetCodec()
    tokens = onset.parse_primer("C4 - D4 | E4 r")
    assert [onset.token_name(t) for t in tokens] == ["C4", "-", "D4", "|", "E4", "r"]
    with pytest.raises(ConfigError, match="note name"):
        onset.parse_primer("H4")


def test_keys_meters_and_specs() -> None:
    assert parse_key("Em") == (4, "minor") and parse_key("Bb") == (10, "major")
    assert parse_key("F# minor") == (6, "minor") and parse_key("D major") == (2, "major")
    assert parse_meter("6/8") == (6, 8)
    for bad in ("H", "G##"):
        with pytest.raises(ConfigError, match="--key"):
            parse_key(bad)
    with pytest.raises(ConfigError, match="--meter"):
        parse_meter("7/5")
    assert codec_from_spec(None, {"step": 0.25}).spec() == {"name": "paper", "vocab_size": 89,
                                                          "step": 0.25}
    onset = codec_from_spec(OnsetCodec().spec())
    assert isinstance(onset, OnsetCodec) and onset.vocab_size == 103
    with pytest.raises(ConfigError, match="not installed"):
        codec_from_spec({"name": "someone-elses"})


def test_writers_carry_meter_key_pickup_and_spelling(tmp_path: Path) -> None:
    import pretty_midi

    from seqgan_music.music.render import melodies_to_midi, write_melody_musicxml, write_midi

    melody = Melody(notes=[(0.0, 1.0, 66), (1.0, 2.0, 70), (2.0, 5.0, 71)], meter=(3, 4),
                    bars=[1.0, 4.0], key=(11, "major"), end=5.0)  # B major: F#, A#, B
    path = write_midi(melodies_to_midi([melody], tempo=120), tmp_path / "t.mid")
    midi = pretty_midi.PrettyMIDI(str(path))
    signature = midi.time_signature_changes[0]
    assert (signature.numerator, signature.denominator) == (3, 4)
    assert midi.key_signature_changes[0].key_number == 11
    assert midi.instruments[0].notes[0].start == pytest.approx(1.0)  # 2 beats of silence
    xml = write_melody_musicxml(melody, tmp_path / "t.musicxml", 120).read_text()
    assert "<fifths>5</fifths>" in xml and "<beats>3</beats>" in xml
    assert "<step>A</step>" in xml and "<alter>1</alter>" in xml and "<step>B</step>" in xml
    first = xml.split('number="0">', 1)[1].split("</measure>", 1)[0]
    assert first.count("<note") == 1 and "<rest" not in first  # the pick-up: a short bar 0


def test_zoo_cards_and_names() -> None:
    from seqgan_music.music.zoo import (
        default_model,
        find_shipped,
        parse_card_metadata,
        shipped_models,
    )

    card = parse_card_metadata("---\nname: x\nmetrics:\n  bleu4: 0.5\n  ok: true\n"
                               "tags:\n  - a\n  - b\nsha256: \"ab\"\n---\n# text\n")
    assert card == {"name": "x", "metrics": {"bleu4": 0.5, "ok": True}, "tags": ["a", "b"],
                    "sha256": "ab"}
    names = [m.name for m in shipped_models()]
    assert "nottingham-paper" in names and default_model().name in names
    paper = find_shipped("nottingham-paper")
    assert paper.path.name == "nottingham.safetensors" and paper.card["representation"] == "paper"
    with pytest.raises(ConfigError, match="nottingham-paper"):
        find_shipped("nope")


def test_every_shipped_model_matches_its_card() -> None:
    """The card's sha256 is the file's, and the file's codec is the card's representation."""
    import hashlib

    from seqgan_music.app.inference import read_model
    from seqgan_music.music.zoo import shipped_models

    for model in shipped_models():
        assert hashlib.sha256(model.path.read_bytes()).hexdigest() == model.card["sha256"]
        codec = codec_from_spec(read_model(model.path).task.get("codec"))
        assert codec.name == model.card["representation"], model.name


def test_wav_uses_fluidsynth_when_found_else_says_sine(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from seqgan_music.music import render

    melody = Melody(notes=[(0.0, 1.0, 60)], end=1.0)
    midi = render.melodies_to_midi([melody])
    fake = tmp_path / "bin" / "fluidsynth"
    fake.parent.mkdir()
    fake.write_text("#!/usr/bin/env python3\nimport sys, wave\n"
                    "out = sys.argv[sys.argv.index('-F') + 1]\n"
                    "w = wave.open(out, 'wb'); w.setnchannels(2); w.setsampwidth(2)\n"
                    "w.setframerate(44100); w.writeframes(b'\\x10\\x00' * 2 * 4410); w.close()\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    font = tmp_path / "gm.sf2"
    font.write_bytes(b"RIFF")
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    synth = render.write_wav(midi, tmp_path / "a.wav", soundfont=font)
    assert synth.startswith("FluidSynth with") and (tmp_path / "a.wav").stat().st_size > 4410
    monkeypatch.setattr(render, "SOUNDFONT_DIRS", ())
    monkeypatch.delenv("SEQGAN_MUSIC_SOUNDFONT", raising=False)
    synth = render.write_wav(midi, tmp_path / "b.wav")
    assert synth == render.SINE_NOTE and "fluid-soundfont-gm" in synth
    with pytest.raises(ConfigError, match="--soundfont"):
        render.write_wav(midi, tmp_path / "c.wav", soundfont=tmp_path / "missing.sf2")


def test_anykey_codec_spreads_tunes_over_keys_deterministically() -> None:
    from seqgan_music.music.codecs import AnyKeyOnsetCodec, make_codec

    codec = make_codec("onset-anykey")
    assert isinstance(codec, AnyKeyOnsetCodec) and not codec.transpose
    tokens = codec.encode(PICKUP_TUNE).tokens  # kept in G major
    plain = OnsetCodec(transpose=False).windows(tokens, 16)
    moved = codec.windows(tokens, 16)
    assert moved.shape == plain.shape and np.array_equal(moved, codec.windows(tokens, 16))
    onsets = (plain >= codec.FIRST_ONSET) & (plain < codec.FIRST_START)
    shift = {int(d) for d in (moved - plain)[onsets]}
    assert len(shift) == 1 and shift.pop() == codec.shift_of(tokens)  # one key per tune
    assert np.array_equal(moved[~onsets], plain[~onsets])  # holds, bars, meter, end unchanged
    shifts = {codec.shift_of(np.append(tokens, i)) for i in range(60)}
    assert len(shifts) >= 10  # the tunes of a corpus land in (nearly) every key
    assert codec_from_spec(codec.spec()).name == "onset-anykey"


def test_onset_corpus_through_the_store_uses_the_codec_windows(tmp_path: Path) -> None:
    from seqgan_music.music.codecs import make_codec
    from seqgan_music.music.corpus import MusicOptions, build_music_corpus
    from seqgan_music.music.readers import midi_melody
    from tests.conftest import random_tunes

    folder = random_tunes(tmp_path / "tunes", num=6, steps=40)
    options = MusicOptions(representation="onset")
    data = build_music_corpus([folder], "t", options, 16, use_cache=False)
    codec = make_codec("onset")
    expected = {name: codec.windows(codec.encode(midi_melody(folder / name)).tokens, 16)
                for name in sorted(p.name for p in folder.iterdir())}
    got = np.concatenate([data.train, data.valid, data.test])
    assert len(got) == sum(len(w) for w in expected.values())
    assert {tuple(r) for r in got.tolist()} == {tuple(r) for w in expected.values()
                                                for r in w.tolist()}
    assert data.manifest["notes_kept"] == data.manifest["notes"] > 0
    assert (got[:, 0] >= codec.FIRST_START).sum() == len(expected)  # one start token per tune


def test_a_plugin_codec_is_found_by_its_entry_point(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from seqgan_music.music.codecs import codec_classes, make_codec

    package = tmp_path / "my_codec.py"
    package.write_text(
        "from seqgan_music.music.codecs import OnsetCodec\n"
        "class TripletCodec(OnsetCodec):\n"
        "    name = 'triplets'\n"
        "    def __init__(self, per_quarter=12, transpose=True):\n"
        "        super().__init__(12, transpose)\n"
        "    @classmethod\n"
        "    def from_spec(cls, spec):\n"
        "        return cls()\n")
    info = tmp_path / "my_codec-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-codec\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[seqgan_music.codecs]\ntriplets = my_codec:TripletCodec\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "triplets" in codec_classes()
    codec = make_codec("triplets")
    assert codec.per_quarter == 12  # type: ignore[attr-defined]
    assert codec_from_spec(codec.spec()).name == "triplets"
    sys.modules.pop("my_codec", None)
