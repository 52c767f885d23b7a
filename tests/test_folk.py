"""What a folk musician plays from: modes, ABC out, chords and accompaniment, the score."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from seqgan_music.errors import ConfigError
from seqgan_music.music.keys import (
    abc_key,
    estimate_mode,
    key_name,
    key_sharps,
    mode_scale,
    move_to_mode,
    parse_key,
    shift_to_c,
)
from seqgan_music.music.melody import Melody

# The Morrison's jig (traditional, K:Edor), the first strain as commonly played.
MORRISON = """X:1
T:The Morrison's Jig
R:jig
M:6/8
L:1/8
K:Edor
|:"Em"E3 B3|EBE AFD|"Em"EDE B3|"D"dcB AFD|
"Em"E3 B3|EBE AFD|"G"G3 FGA|1 "D"BAG FED:|2 "D"BAG FGA||
"""


@pytest.mark.parametrize(("text", "key"), [
    ("D", (2, "major")), ("Dmix", (2, "mixolydian")), ("E dorian", (4, "dorian")),
    ("Gm", (7, "minor")), ("Bb", (10, "major")), ("Ador", (9, "dorian")),
    ("F#m", (6, "minor")), ("A minor", (9, "minor")), ("G Mixolydian", (7, "mixolydian")),
    ("Eb major", (3, "major")), ("Bphr", (11, "phrygian")), ("Flyd", (5, "lydian")),
    ("Bloc", (11, "locrian")), ("Daeolian", (2, "minor")), ("Cion", (0, "major")),
    ("AMix", (9, "mixolydian")), ("c#m", (1, "minor")),
])
def test_key_spellings(text: str, key: tuple[int, str]) -> None:
    assert parse_key(text) == key


@pytest.mark.parametrize("bad", ["H", "G##", "Dfoo", "", "Em7", "mix", "D dorianx"])
def test_bad_keys_are_one_line_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"--key .* is invalid; expected a tonic") as error:
        parse_key(bad)
    assert "\n" not in str(error.value)


def test_modes_share_their_relative_majors_signature() -> None:
    assert key_sharps((4, "dorian")) == 2 and key_sharps((2, "mixolydian")) == 1
    assert key_sharps((7, "minor")) == -2 and key_sharps((9, "dorian")) == 1
    # training moves a mode by its signature, as the relative major: E dorian -> D dorian
    assert shift_to_c((4, "dorian")) == shift_to_c((2, "major")) == -2
    assert shift_to_c((2, "mixolydian")) == shift_to_c((7, "major"))
    assert [abc_key(k) for k in ((4, "dorian"), (2, "mixolydian"), (7, "minor"), (10, "major"))
            ] == ["Edor", "Dmix", "Gm", "Bb"]
    assert key_name((10, "minor")) == "Bb minor" and key_name((6, "dorian")) == "F# dorian"
    assert mode_scale("dorian") == (0, 2, 3, 5, 7, 9, 10)


def test_mode_is_read_from_the_notes_against_the_signature() -> None:
    def tune(pitches: list[int]) -> list[tuple[float, float, int]]:
        return [(float(i), i + 1.0, p) for i, p in enumerate(pitches)]

    # written K:G, all notes of G's scale, ending on A: A dorian; ending on D: D mixolydian
    assert estimate_mode(tune([67, 69, 71, 72, 74, 66, 69]), (7, "major")) == (9, "dorian")
    assert estimate_mode(tune([67, 69, 71, 72, 74, 66, 62]), (7, "major")) == (2, "mixolydian")
    assert estimate_mode(tune([67, 69, 71, 72, 74, 66, 67]), (7, "major")) == (7, "major")
    assert estimate_mode(tune([67, 69, 71, 72, 74, 66, 64]), (7, "major")) == (4, "minor")
    # a final third is a cadence of some songs, not a phrygian tune: the written key stays
    assert estimate_mode(tune([67, 69, 71, 72, 74, 66, 71]), (7, "major")) == (7, "major")


def test_moving_a_tune_into_another_mode_keeps_its_contour() -> None:
    c_major = [(float(i), i + 1.0, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]
    dorian = move_to_mode(c_major, (0, "major"), (2, "dorian"))
    assert [p for _, _, p in dorian] == [62, 64, 65, 67, 69, 71, 72, 74]
    mixolydian = move_to_mode(c_major, (0, "major"), (2, "mixolydian"))
    assert [p % 12 for _, _, p in mixolydian] == [2, 4, 6, 7, 9, 11, 0, 2]


def test_abc_reader_keeps_a_written_mode_and_its_chords() -> None:
    from seqgan_music.music.readers import abc_melody

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        melody = abc_melody(MORRISON)
    assert melody.key == (4, "dorian") and melody.meter == (6, 8)
    assert [name for _, name in melody.chords[:4]] == ["Em", "Em", "D", "Em"]
    assert 67 in {p for _, _, p in melody.notes}  # G natural, not G#


def melody_with_form() -> Melody:
    pitches = [64, 66, 67, 69, 71, 62, 74, 73, 71, 69, 67, 66]
    notes = [(0.5 * i, 0.5 * i + 0.5, pitches[i % 12]) for i in range(36)]
    notes[-1] = (notes[-1][0], notes[-1][0] + 1.5, 64)  # a long note over the bar line
    return Melody(notes, (6, 8), [3.0 * i for i in range(7)], (4, "dorian"),
                  form=[(0.0, "|:"), (6.0, "[1"), (9.0, ":|"), (9.0, "[2"), (12.0, "||")],
                  chords=[(0.0, "Em"), (3.0, "D"), (4.5, "Bm"), (6.0, "Em"), (9.0, "G")])


def test_abc_writes_header_mode_form_chords_and_ties() -> None:
    from seqgan_music.music.abc import abc_tune

    text = abc_tune(melody_with_form(), title="Form test", tempo=120)
    lines = text.splitlines()
    assert lines[:6] == ["X:1", "T:Form test", "M:6/8", "L:1/8", "Q:1/4=120", "K:Edor"]
    body = " ".join(lines[6:])
    assert body.startswith("|: \"Em\"EFGABD")
    for piece in ('"D"', '"Bm"', "|1", ":|2", "||", "-"):
        assert piece in body
    assert "^G" not in body and "^g" not in body  # G is natural in E dorian


def abc_round_trip(melody: Melody) -> Melody:
    from seqgan_music.music.abc import abc_tune
    from seqgan_music.music.readers import abc_melody

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return abc_melody(abc_tune(melody))


def played(melody: Melody) -> list[tuple[float, float, int]]:
    """The notes as heard, from the first: a note tied over a bar line is one note (the
    readers give tied notes apart, so touching notes of one pitch are joined on both sides)."""
    from seqgan_music.music.form import expand_form

    melody = expand_form(melody)
    first = min(n[0] for n in melody.notes)
    out: list[tuple[float, float, int]] = []
    for s, e, p in sorted(melody.notes):
        s, e = round(s - first, 4), round(e - first, 4)
        if out and out[-1][2] == p and abs(out[-1][1] - s) < 1e-6:
            out[-1] = (out[-1][0], e, p)
        else:
            out.append((s, e, p))
    return out


def test_abc_round_trip_of_written_tunes() -> None:
    # accidentals against the signature, a pick-up, flats, notes over bar lines
    pitches = [62, 63, 66, 70, 69, 61, 74, 73, 48, 84, 59, 67]
    tunes = [
        Melody([(0.5 * i, 0.5 * i + 0.5, p) for i, p in enumerate(pitches)], (4, 4),
               [0.0, 4.0], (7, "minor")),
        Melody([(0.0, 1.0, 67), (1.0, 4.0, 71), (4.0, 4.5, 74), (4.5, 7.0, 70)], (3, 4),
               [1.0, 4.0], (2, "mixolydian")),
        Melody([(1.5 * i, 1.5 * i + 1.5, 63 + i) for i in range(8)], (9, 8), [0.0, 4.5, 9.0],
               (10, "major")),
    ]
    for melody in tunes:
        back = abc_round_trip(melody)
        assert played(back) == played(melody)
        assert back.key == melody.key and back.meter == melody.meter


def test_abc_round_trip_expands_the_form_as_played() -> None:
    melody = melody_with_form()
    back = abc_round_trip(melody)
    # |: bars 1-2 [1 bar 3 :| [2 bar 4 || bars 5-6: bars 1 2 3 1 2 4 5 6 are played
    bar = [n for n in melody.notes]
    order = [0, 1, 2, 0, 1, 3, 4, 5]
    expected = []
    for index, source in enumerate(order):
        expected += [(s - 3.0 * source + 3.0 * index, e - 3.0 * source + 3.0 * index, p)
                     for s, e, p in bar if source * 3.0 <= s < source * 3.0 + 3.0]
    assert played(back) == played(Melody(expected))


def oneill_tunes(count: int) -> list[tuple[str, str]]:
    """ABC texts of O'Neill's 1850 tunes shipped with music21 (modes included)."""
    import music21

    from seqgan_music.music.readers import split_abc_tunes

    folder = Path(music21.__file__).parent / "corpus" / "oneills1850"
    texts: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.abc")):
        header, tunes = split_abc_tunes(path.read_text(encoding="utf-8", errors="replace"))
        texts += [(f"{path.name}#{i}", header + t) for i, t in enumerate(tunes[:6])]
    modal = [t for t in texts if any(f"K:{m}" in t[1] for m in ("Ador", "Dmix", "Amix", "Edor",
                                                                  "Gm", "Dm"))]
    return (modal[: count // 3] + texts)[:count]


def test_abc_round_trip_over_many_tunes() -> None:
    from seqgan_music.music.readers import UnusableFile, abc_melody

    checked = 0
    for name, text in oneill_tunes(45):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                melody = abc_melody(text)
        except UnusableFile:
            continue
        back = abc_round_trip(melody)
        assert played(back) == played(melody), name
        assert back.key == melody.key and back.meter == melody.meter, name
        checked += 1
    assert checked >= 40


def test_harmonise_follows_the_melody_and_closes_on_the_tonic() -> None:
    from seqgan_music.music.harmony import chord_statistics, harmonise, slots

    # G major: a bar of G B D, a bar of D F# A C, a bar of C E G, ending D then G
    arpeggios = [[67, 71, 74, 71], [62, 66, 69, 72], [60, 64, 67, 64], [62, 66, 69, 66],
                 [67, 71, 74, 79]]
    notes = [(4.0 * b + i, 4.0 * b + i + 1, p) for b, bar in enumerate(arpeggios)
             for i, p in enumerate(bar)]
    melody = Melody(notes, (4, 4), [4.0 * b for b in range(5)], (7, "major"))
    assert len(slots(melody)) == 10  # half bars
    chords = harmonise(melody)
    names = [name for _, name in chords]
    assert names[0] == "G" and names[-1] == "G"
    assert any(name in ("D", "D7") for name in names) and "C" in names
    stats = chord_statistics(melody, chords)
    assert stats["in_chord"] >= 0.9 and stats["cadences"] == 1


def test_accompaniment_follows_the_meter() -> None:
    from seqgan_music.music.render import accompany

    for meter, bar, bass_at in (((2, 4), 2.0, [0.0]), ((4, 4), 4.0, [0.0, 2.0]),
                                ((3, 4), 3.0, [0.0]), ((6, 8), 3.0, [0.0, 1.5])):
        notes = [(bar * b, bar * b + bar, 67) for b in range(2)]
        melody = Melody(notes, meter, [0.0, bar], (7, "major"), chords=[(0.0, "G"), (bar, "D")])
        played_notes = accompany(melody)
        low = sorted({s for s, _, p, _ in played_notes if p < 55 and s < bar})
        assert low == bass_at, meter
        assert {p % 12 for s, _, p, _ in played_notes if s >= bar} <= {2, 6, 9}


@pytest.fixture(scope="module")
def composed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped default model continuing the Morrison's jig: every output format."""
    from seqgan_music.app.compose import ComposeOptions, compose

    folder = tmp_path_factory.mktemp("folk")
    primer = folder / "morrison.abc"
    primer.write_text(MORRISON, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compose(ComposeOptions(out=folder / "jig.mid", primer=primer, length=96, seed=3,
                               musicxml=True, abc=True, svg=True))
    return {kind: folder / f"jig.{kind}" for kind in ("mid", "musicxml", "abc", "svg")}


def test_a_dorian_primer_is_continued_in_dorian(composed: dict[str, Path]) -> None:
    import pretty_midi

    abc = composed["abc"].read_text()
    assert "\nK:Edor\n" in abc
    xml = composed["musicxml"].read_text()
    assert "<fifths>2</fifths>" in xml and "<mode>dorian</mode>" in xml
    midi = pretty_midi.PrettyMIDI(str(composed["mid"]))
    assert midi.key_signature_changes[0].key_number == 11 + 12  # B minor: two sharps
    assert [t.text for t in midi.text_events] == ["K:Edor"]
    from seqgan_music.music.readers import abc_melody, midi_melody

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        primer = [p for _, _, p in sorted(abc_melody(MORRISON).notes)][:12]  # 2 bars
    pitches = [n.pitch for n in sorted(midi.instruments[0].notes, key=lambda n: n.start)]
    assert pitches[: len(primer)] == primer  # as written: G natural, no G#
    continuation = pitches[len(primer):]
    assert len(continuation) > 8
    dorian = {(4 + step) % 12 for step in mode_scale("dorian")}
    assert sum(p % 12 in dorian for p in continuation) >= 0.9 * len(continuation)
    assert midi_melody(composed["mid"]).key == (4, "dorian")


def test_chords_are_in_every_output_format(composed: dict[str, Path]) -> None:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(composed["mid"]))
    assert [i.name for i in midi.instruments] == ["melody", "accompaniment"]
    assert midi.instruments[1].notes and midi.instruments[1].program == 25
    assert "<harmony" in composed["musicxml"].read_text()
    body = composed["abc"].read_text().split("K:Edor", 1)[1]
    assert body.count('"') >= 4
    svg = composed["svg"].read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "harm" in svg


def test_abc_out_alone_and_no_chords(tmp_path: Path) -> None:
    import pretty_midi

    from seqgan_music.app.compose import ComposeOptions, compose

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compose(ComposeOptions(out=tmp_path / "t.abc", length=64, seed=2,
                                        key="Dmix", chords=False))
    assert result.files == [tmp_path / "t.abc"] and result.keys == ["D mixolydian"]
    text = (tmp_path / "t.abc").read_text()
    assert "\nK:Dmix\n" in text and '"' not in text.split("K:Dmix", 1)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compose(ComposeOptions(out=tmp_path / "n.mid", length=64, seed=2, chords=False))
    assert len(pretty_midi.PrettyMIDI(str(tmp_path / "n.mid")).instruments) == 1
    with pytest.raises(ConfigError, match="--accompaniment-program = 300 is invalid"):
        compose(ComposeOptions(out=tmp_path / "x.mid", accompaniment_program=300))
    with pytest.raises(ConfigError, match=r"must end in \.mid, \.midi or \.abc"):
        compose(ComposeOptions(out=tmp_path / "x.txt"))


def test_generate_writes_an_abc_tune_book(tmp_path: Path) -> None:
    import torch

    from seqgan_music.music.codecs import OnsetCodec
    from seqgan_music.tasks.music import NottinghamTask

    codec = OnsetCodec()
    row = codec.parse_primer("A4 - B4 - | C5 - D5 - E5 - - - | A4 - - -")
    tokens = torch.tensor([codec.prefix((2, 4)) + row + [codec.END]] * 2)
    (path,) = NottinghamTask().export(tokens, {"codec": codec.spec()}, tmp_path / "s.abc")
    text = path.read_text()
    assert text.count("X:") == 2 and "T:Sample 2" in text and "M:2/4" in text
    assert "K:Am" in text  # A minor read from the notes
