"""The fast MIDI reader (symusic) gives pretty_midi's notes, or hands the file to pretty_midi."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from seqgan_music.music import midi_notes
from seqgan_music.music.midi_notes import read_tracks
from seqgan_music.music.readers import UnusableFile, midi_melody_notes, read_midi

pytest.importorskip("symusic")

NOTTINGHAM = Path(__file__).resolve().parents[2] / "shared" / "data" / "nottingham" / "MIDI"


def write(path: Path, tracks: list[list[mido.Message | mido.MetaMessage]],
          ticks: int = 480) -> Path:
    midi = mido.MidiFile(type=1, ticks_per_beat=ticks)
    for events in tracks:
        midi.tracks.append(mido.MidiTrack(events))
    midi.save(str(path))
    return path


def note(pitch: int, wait: int, length: int, channel: int = 0) -> list[mido.Message]:
    return [mido.Message("note_on", channel=channel, note=pitch, velocity=80, time=wait),
            mido.Message("note_off", channel=channel, note=pitch, velocity=0, time=length)]


def canonical(result: tuple[list[midi_notes.MidiTrack], float]) -> tuple[object, float]:
    tracks, end = result
    return sorted((t.name, t.is_drum, sorted(t.notes)) for t in tracks), end


def both(path: Path) -> tuple[object, object]:
    return canonical(read_tracks(path, "symusic")), canonical(read_tracks(path, "pretty_midi"))


def test_tempo_changes_give_pretty_midis_seconds_to_the_last_bit(tmp_path: Path) -> None:
    conductor = [mido.MetaMessage("set_tempo", tempo=600000, time=0),
                 mido.MetaMessage("set_tempo", tempo=600000, time=700),  # a repeat: no change
                 mido.MetaMessage("set_tempo", tempo=433333, time=500),
                 mido.MetaMessage("time_signature", numerator=6, denominator=8, time=9000)]
    melody = [mido.MetaMessage("track_name", name="Melody")]
    for k, pitch in enumerate([60, 62, 64, 65, 67, 69, 71, 72]):
        melody += note(pitch, 37 * k % 101, 229 + 13 * k)
    melody.append(mido.Message("control_change", control=64, value=0, time=4000))
    path = write(tmp_path / "tempo.mid", [conductor, melody], ticks=384)
    fast, slow = both(path)
    assert fast == slow  # same floats, not just close ones
    assert slow[1] > 10  # the time signature at tick 10,200 ends the file, as pretty_midi says


def test_files_that_pretty_midi_reads_otherwise_go_to_pretty_midi(tmp_path: Path) -> None:
    restarted = [mido.Message("note_on", note=60, velocity=80, time=0),
                 mido.Message("note_on", note=60, velocity=80, time=100),
                 mido.Message("note_off", note=60, velocity=0, time=100),
                 mido.Message("note_off", note=60, velocity=0, time=300)]
    late_tempo = note(62, 0, 480) + [mido.MetaMessage("set_tempo", tempo=300000, time=0)] + \
        note(64, 0, 480)
    for name, tracks in (("restarted", [[], restarted]), ("tempo", [note(55, 0, 960), late_tempo])):
        path = write(tmp_path / f"{name}.mid", tracks)
        assert midi_notes._read_symusic(path) is None, name
        fast, slow = both(path)
        assert fast == slow, name


def test_the_first_of_several_melody_parts_is_pretty_midis(tmp_path: Path) -> None:
    # one track, two programs on one channel and a second channel: three parts named "lead",
    # which the two parsers list in different orders
    events = [mido.MetaMessage("track_name", name="lead"),
              mido.Message("program_change", program=5, time=0)]
    events += note(60, 0, 480) + [mido.Message("program_change", program=7, time=0)]
    events += note(72, 0, 480) + note(48, 0, 480, channel=1)
    path = write(tmp_path / "parts.mid", [events])
    fast, slow = both(path)
    assert fast == slow
    expected = midi_notes._read_pretty_midi(path)[0]
    assert midi_melody_notes(path)[0] == expected[0].notes  # pretty_midi's first part


def test_corrupt_and_drum_only_files_say_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\xff\x90")
    with pytest.raises(UnusableFile, match="not a readable MIDI file"):
        read_midi(bad)
    drums = write(tmp_path / "drums.mid", [note(36, 0, 120, channel=9)])
    with pytest.raises(UnusableFile, match="drum-only"):
        read_midi(drums)


def test_the_environment_can_force_pretty_midi(monkeypatch: pytest.MonkeyPatch) -> None:
    assert midi_notes.reader_name() == "symusic"
    monkeypatch.setenv("SEQGAN_MUSIC_MIDI_READER", "pretty_midi")
    assert midi_notes.reader_name() == "pretty_midi"


@pytest.mark.skipif(not NOTTINGHAM.is_dir(), reason="the staged Nottingham corpus is absent")
def test_the_nottingham_files_read_the_same_with_both_parsers() -> None:
    files = sorted(NOTTINGHAM.glob("*.mid"))
    assert len(files) > 1000
    for path in files:
        fast, slow = both(path)
        assert fast == slow, path.name
    for path in files[::50]:  # and the melody tokens through the reader
        tokens = read_midi(path)[0].tokens
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SEQGAN_MUSIC_MIDI_READER", "pretty_midi")
            assert np.array_equal(tokens, read_midi(path)[0].tokens), path.name
