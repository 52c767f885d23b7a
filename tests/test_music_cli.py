"""`train nottingham`, `evaluate` and `compose` end to end on a few generated tunes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import help_in_fresh_process, random_tunes, write_tune
from tests.test_cli import run

TINY_MUSIC = [
    "--preset", "quick", "--device", "cpu",
    "--set", "generator.hidden_dim=16", "--set", "discriminator.filter_widths=[2, 4]",
    "--set", "discriminator.num_filters=[4, 4]", "--set", "train.pretrain_epochs=2",
    "--set", "train.adversarial_iterations=2", "--set", "rollout.num_rollouts=2",
    "--set", "train.num_eval_samples=32",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("music")
    random_tunes(base / "tunes", num=9, steps=70)
    result = run("train", "nottingham", "--data", str(base / "tunes"), "--out",
                 str(base / "runs"), *TINY_MUSIC)
    assert result.returncode == 0, result.stderr
    for text in ("BLEU-4", "MSE", "Paper SeqGAN", "Data (valid)", "copied 8-grams",
                 "9 tunes"):
        assert text in result.stdout
    (run_dir,) = (base / "runs" / "nottingham").iterdir()
    assert (run_dir / "samples" / "seqgan.mid").is_file()
    assert (run_dir / "model.safetensors").is_file()  # compose reads it without torch
    assert (run_dir / "samples" / "seqgan.txt").read_text().count("\n") == 100
    return run_dir


def read_tokens(path: Path) -> list[int]:
    from seqgan_music.music.readers import read_midi

    return read_midi(path)[0].tokens.tolist()


def test_evaluate_a_music_run(trained: Path) -> None:
    result = run("evaluate", "--model", str(trained), "-n", "16")
    assert result.returncode == 0, result.stderr
    assert "MLE" in result.stdout and "SeqGAN" in result.stdout and "BLEU-4" in result.stdout


def test_compose_is_seeded_numbered_and_never_overwrites(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "tune.mid"
    first = run("compose", "--model", str(trained), "--out", str(out), "--seed", "5")
    assert first.returncode == 0, first.stderr
    tokens = read_tokens(out)
    assert len(tokens) == 32 and any(tokens)
    again = run("compose", "--model", str(trained), "--out", str(out), "--seed", "5")
    assert again.returncode == 1 and "exists" in again.stderr and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    forced = run("compose", "--model", str(trained), "--out", str(out), "--seed", "5", "--force")
    assert forced.returncode == 0 and read_tokens(out) == tokens  # same seed, same tune
    many = run("compose", "--model", str(trained), "--out", str(tmp_path / "set.mid"), "-n",
               "3", "--seed", "6", "--length", "40")
    assert many.returncode == 0, many.stderr
    tunes = [read_tokens(tmp_path / f"set-{i}.mid") for i in (1, 2, 3)]
    assert all(len(t) == 40 for t in tunes) and tunes[0] != tunes[1]
    assert not (tmp_path / "set.mid").exists()


def test_compose_primer_program_tempo_and_extras(trained: Path, tmp_path: Path) -> None:
    import mido
    import pretty_midi

    primer_pitches = [62, 66, 69, 74, 74, 69]
    primer = write_tune(tmp_path / "primer.mid", primer_pitches)
    primer_tokens = read_tokens(primer)
    kept = run("compose", "--model", str(trained), "--out", str(tmp_path / "kept.mid"),
               "--primer", str(primer), "--length", "10", "--program", "40", "--tempo", "120",
               "--plot", "--musicxml")
    assert kept.returncode == 0, kept.stderr
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "kept.mid"))
    assert midi.instruments[0].program == 40
    assert midi.get_tempo_changes()[1][0] == pytest.approx(120)
    assert mido.MidiFile(str(tmp_path / "kept.mid")).length == pytest.approx(16 * 0.5, abs=5e-3)
    # at 120 qpm one step is 0.5 s; read back on that grid, the primer opens the tune
    from seqgan_music.music.readers import read_midi

    steps = read_midi(tmp_path / "kept.mid", step=0.5)[0].tokens.tolist()
    assert steps[:6] == primer_tokens and len(steps) == 16
    assert (tmp_path / "kept.png").stat().st_size > 1000
    assert "<score-partwise" in (tmp_path / "kept.musicxml").read_text()
    dropped = run("compose", "--model", str(trained), "--out", str(tmp_path / "drop.mid"),
                  "--primer", str(primer), "--length", "10", "--no-keep-primer")
    assert dropped.returncode == 0, dropped.stderr
    assert len(read_tokens(tmp_path / "drop.mid")) == 10


@pytest.mark.parametrize("args, message", [
    (["--program", "200"], "--program = 200 is invalid"),
    (["--tempo", "0"], "--tempo = 0 is invalid"),
    (["--out", "tune.wav"], "must end in .mid"),
    (["--primer", "nope.mid"], "--primer nope.mid does not exist"),
    (["--model", "no/run"], "--model no/run does not exist"),
    (["-n", "0"], "--num = 0 is invalid"),
])
def test_compose_errors_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = run("compose", *args, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_compose_refuses_a_text_or_oracle_model(tmp_path: Path) -> None:
    from tests.conftest import TINY_ORACLE_FLAGS

    trained = run("train", "oracle", *TINY_ORACLE_FLAGS, "--out", str(tmp_path / "runs"))
    assert trained.returncode == 0, trained.stderr
    (run_dir,) = (tmp_path / "runs" / "oracle").iterdir()
    result = run("compose", "--model", str(run_dir), "--out", str(tmp_path / "t.mid"))
    assert result.returncode == 1 and "compose needs a music model" in result.stderr
    assert not (tmp_path / "t.mid").exists()


def test_compose_with_nothing_trained_uses_the_shipped_model(tmp_path: Path) -> None:
    from seqgan_music.music.zoo import default_model

    result = run("compose", "--out", "tune.mid", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"pretrained model {default_model().name} shipped" in result.stdout
    assert len(read_tokens(tmp_path / "tune.mid")) > 8
    paper = run("compose", "--model", "nottingham-paper", "--out", "paper.mid", cwd=tmp_path)
    assert paper.returncode == 0, paper.stderr
    assert len(read_tokens(tmp_path / "paper.mid")) == 32
    listed = run("models")
    assert listed.returncode == 0 and "nottingham-paper" in listed.stdout
    assert "(default)" in listed.stdout
    wrong = run("compose", "--model", "nottingham-jazz", "--out", "x.mid", cwd=tmp_path)
    assert wrong.returncode == 1 and "shipped models: " in wrong.stderr
    assert "nottingham-paper" in wrong.stderr


@pytest.fixture(scope="module")
def onset_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("onset")
    random_tunes(base / "tunes", num=9, steps=40)
    result = run("train", "nottingham", "--data", str(base / "tunes"), "--out",
                 str(base / "runs"), *TINY_MUSIC, "--set", "task_options.representation=onset",
                 "--set", "data.seq_len=16")
    assert result.returncode == 0, result.stderr
    (run_dir,) = (base / "runs" / "nottingham").iterdir()
    text = (run_dir / "samples" / "seqgan.txt").read_text()
    assert "<start 4/4>" in text or "|" in text  # samples are written in the codec's names
    return run_dir


@pytest.mark.slow
def test_onset_compose_whole_tunes_keys_meters_and_seeds(onset_run: Path, tmp_path: Path
                                                         ) -> None:
    import pretty_midi

    many = run("compose", "--model", str(onset_run), "--out", str(tmp_path / "set.mid"), "-n",
               "3", "--seed", "4", "--length", "64")
    assert many.returncode == 0, many.stderr
    assert "onset representation" in many.stdout
    one = run("compose", "--model", str(onset_run), "--out", str(tmp_path / "one.mid"),
              "--seed", "4", "--length", "64")
    assert one.returncode == 0, one.stderr
    # tune k of -n N --seed S does not depend on N
    assert (tmp_path / "one.mid").read_bytes() == (tmp_path / "set-1.mid").read_bytes()
    primed = run("compose", "--model", str(onset_run), "--out", str(tmp_path / "p.mid"),
                 "--primer", "D4 - E4 - F#4 - G4 - | A4", "--key", "D", "--meter", "6/8",
                 "--length", "32", "--musicxml")
    assert primed.returncode == 0, primed.stderr
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "p.mid"))
    assert midi.key_signature_changes[0].key_number == 2  # D major
    meter = midi.time_signature_changes[0]
    assert (meter.numerator, meter.denominator) == (6, 8)
    assert [n.pitch for n in midi.instruments[0].notes[:5]] == [62, 64, 66, 67, 69]
    xml = (tmp_path / "p.musicxml").read_text()
    assert "<fifths>2</fifths>" in xml and "<beat-type>8</beat-type>" in xml
    bad = run("compose", "--model", str(onset_run), "--out", str(tmp_path / "b.mid"),
              "--key", "H")
    assert bad.returncode == 1 and "--key 'H' is invalid" in bad.stderr


def test_music_tasks_are_listed_and_missing_data_is_explained(tmp_path: Path) -> None:
    listed = run("tasks")
    assert listed.returncode == 0
    for name in ("nottingham", "folk", "midi"):
        assert name in listed.stdout
    missing = run("train", "nottingham", "--preset", "quick", cwd=tmp_path)
    assert missing.returncode == 1 and "seqgan-music data download nottingham" in missing.stderr
    assert "--data" in missing.stderr
    no_data = run("train", "midi", "--preset", "quick", cwd=tmp_path)
    assert no_data.returncode == 1 and "pass --data FOLDER" in no_data.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_export_writes_a_small_generator_only_model(trained: Path, tmp_path: Path) -> None:
    latest = trained / "checkpoints" / "latest.pt"
    for name in ("model.pt", "model.safetensors"):
        out = tmp_path / name
        result = run("export", "--model", str(trained), "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert out.stat().st_size < latest.stat().st_size / 4
        composed = run("compose", "--model", str(out), "--out", str(tmp_path / f"{name}.mid"),
                       "--seed", "9")
        assert composed.returncode == 0, composed.stderr
    from seqgan_music.io.runs import load_checkpoint

    state = load_checkpoint(tmp_path / "model.pt")
    assert "discriminator" not in state and "optimizers" not in state
    assert "data_path" not in state["task"] and state["task"]["music"]
    # the same weights and seed give the same tune whichever file holds them
    direct = run("compose", "--model", str(trained), "--out", str(tmp_path / "run.mid"),
                 "--seed", "9")
    assert direct.returncode == 0, direct.stderr
    tunes = {read_tokens(tmp_path / f) == read_tokens(tmp_path / "run.mid")
             for f in ("model.pt.mid", "model.safetensors.mid")}
    assert tunes == {True}
    generated = run("generate", "--model", str(tmp_path / "model.safetensors"), "-n", "2")
    assert generated.returncode == 0 and len(generated.stdout.splitlines()) == 2
    again = run("export", "--model", str(trained), "--out", str(tmp_path / "model.pt"))
    assert again.returncode == 1 and "exists" in again.stderr


def test_compose_help_imports_neither_torch_nor_music21() -> None:
    out = help_in_fresh_process(["compose", "--help"], ("torch", "music21", "pretty_midi"))
    assert "--primer" in out and "--keep-primer" in out


@pytest.mark.slow
def test_export_writes_a_model_folder_that_compose_generate_and_the_api_load(
        onset_run: Path, tmp_path: Path) -> None:
    import json

    import seqgan_music
    from seqgan_music.music.zoo import parse_card_metadata

    folder = tmp_path / "my-tunes"
    done = run("export", "--model", str(onset_run), "--out", str(folder))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json",
                                                        "model.safetensors"]
    card = parse_card_metadata((folder / "README.md").read_text())
    assert card["license"] == "gpl-3.0" and card["library_name"] == "seqgan-music"
    assert card["tags"] and card["datasets"] == ["nottingham"] and card["model-index"]
    assert json.loads((folder / "config.json").read_text())["task"] == "nottingham"
    again = run("export", "--model", str(onset_run), "--out", str(folder))
    assert again.returncode == 1 and "--force" in again.stderr
    composed = run("compose", "--model", str(folder), "--out", str(tmp_path / "t.mid"),
                   "--seed", "4")
    assert composed.returncode == 0, composed.stderr
    (tune,) = seqgan_music.compose(model=folder, seed=4)
    import pretty_midi

    written = pretty_midi.PrettyMIDI(str(tmp_path / "t.mid")).instruments[0].notes
    assert [(n.pitch, round(n.start, 6)) for n in written] == \
        [(n.pitch, round(n.start, 6)) for n in tune.notes]
    assert seqgan_music.load_model(folder).representation == "onset"
    printed = run("generate", "--model", str(folder), "-n", "2")
    assert printed.returncode == 0, printed.stderr
    single = tmp_path / "tunes.safetensors"  # a file export: its card goes beside it
    done = run("export", "--model", str(onset_run), "--out", str(single))
    assert done.returncode == 0 and "model card" in done.stdout, done.stderr
    beside = parse_card_metadata(single.with_suffix(".md").read_text())
    assert beside["file"] == "tunes.safetensors" and beside["license"] == "gpl-3.0"
    single.unlink()
    again = run("export", "--model", str(onset_run), "--out", str(single))
    assert again.returncode == 1 and "tunes.md exists" in again.stderr and not single.exists()


@pytest.mark.slow
def test_generate_and_evaluate_accept_shipped_names_and_print_whole_tunes(
        tmp_path: Path) -> None:
    printed = run("generate", "--model", "nottingham-onset", "-n", "3", "--seed", "1")
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:  # a tune up to its end token, never a window padded with end tokens
        assert line.count("<end>") <= 1 and "|" in line
    random_tunes(tmp_path / "tunes", num=9, steps=70)
    scored = run("evaluate", "--model", "nottingham-onset", "-n", "8", "--data",
                 str(tmp_path / "tunes"))
    assert scored.returncode == 0, scored.stderr
    assert "SeqGAN" in scored.stdout
