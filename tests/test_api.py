"""The Python API (`seqgan_music.compose`, `load_model`, `Tune`), the package's metadata and
model cards, and the t-test that replaced scipy."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seqgan_music
from seqgan_music.config import tomllib
from seqgan_music.errors import CheckpointError, ConfigError
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[1]


def midi_notes(path_or_midi: object) -> list[tuple[float, float, int]]:
    import pretty_midi

    midi = (path_or_midi if isinstance(path_or_midi, pretty_midi.PrettyMIDI)
            else pretty_midi.PrettyMIDI(str(path_or_midi)))
    melody = [i for i in midi.instruments if i.name == "melody"] or midi.instruments[:1]
    return sorted((round(n.start, 6), round(n.end, 6), n.pitch)
                  for inst in melody for n in inst.notes)  # not the accompaniment


# ----- the API gives the CLI's tune ----------------------------------------------------------

@pytest.mark.parametrize("flags, kwargs", [
    ([], {}),
    (["--seed", "7", "--key", "D", "--meter", "6/8"], {"seed": 7, "key": "D", "meter": "6/8"}),
    (["--model", "nottingham-paper", "--seed", "3"], {"model": "nottingham-paper", "seed": 3}),
    (["--primer", "D4 - E4 F#4 | G4", "--seed", "2"], {"primer": "D4 - E4 F#4 | G4", "seed": 2}),
])
def test_api_compose_gives_the_cli_tune(flags: list[str], kwargs: dict[str, object],
                                        tmp_path: Path) -> None:
    result = run("compose", "--out", str(tmp_path / "cli.mid"), "--runs",
                 str(tmp_path / "no-runs"), *flags)
    assert result.returncode == 0, result.stderr
    (tune,) = seqgan_music.compose(**kwargs)  # type: ignore[arg-type]
    assert midi_notes(tmp_path / "cli.mid") == midi_notes(tune.to_pretty_midi())
    assert [(round(n.start, 6), round(n.end, 6), n.pitch) for n in tune.notes] == \
        midi_notes(tmp_path / "cli.mid")
    assert tune.key in result.stdout or "paper" in tune.representation


def test_api_compose_writes_nothing_and_describes_each_tune(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.chdir(tmp_path)
    tunes = seqgan_music.compose(3, seed=5, key="A minor", meter="3/4")
    assert list(tmp_path.iterdir()) == []
    assert len(tunes) == 3 and len({tuple(t.notes) for t in tunes}) == 3
    for tune in tunes:
        assert tune.key == "A minor" and tune.meter == "3/4" and tune.notes
        assert all(21 <= n.pitch <= 108 and n.end > n.start for n in tune.notes)
        assert "nottingham-form" in tune.model and tune.seconds > 0


def test_tune_write_routes_by_suffix_and_never_overwrites_silently(tmp_path: Path) -> None:
    (tune,) = seqgan_music.compose(seed=1)
    midi = tune.write(tmp_path / "t.mid")
    assert midi_notes(midi) == midi_notes(tune.to_pretty_midi())
    xml = tune.write(tmp_path / "t.musicxml")
    assert "<score-partwise" in xml.read_text()
    with pytest.raises(ConfigError, match="exists"):
        tune.write(tmp_path / "t.mid")
    tune.write(tmp_path / "t.mid", force=True)
    with pytest.raises(ConfigError, match="accepted"):
        tune.write(tmp_path / "t.ogg")
    score = tune.to_music21()  # the tune as written: each strain once, with repeat signs
    import music21

    pitches = [p.midi for n in score.flatten().notes  # chord symbols are harmony, not notes
               if not isinstance(n, music21.harmony.ChordSymbol) for p in n.pitches]
    written = tune._melody
    assert written.form and pitches == [p for _, _, p in sorted(written.notes)]
    assert "<repeat direction=\"backward\"" in xml.read_text()


def test_tune_writes_abc_when_the_abc_writer_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("seqgan_music.music.abc")
    (tune,) = seqgan_music.compose(seed=1, meter="6/8")
    text = tune.write(tmp_path / "t.abc").read_text()
    assert "X:1" in text and "M:6/8" in text


def test_to_pretty_midi_is_a_copy() -> None:
    (tune,) = seqgan_music.compose(seed=2)
    copy = tune.to_pretty_midi()
    copy.instruments.clear()
    assert tune.notes


def test_load_model_by_name_path_and_default(tmp_path: Path) -> None:
    default = seqgan_music.load_model()
    assert default.name == "nottingham-form" and default.representation == "form"
    assert default.card["license"] == "gpl-3.0"
    paper = seqgan_music.load_model("nottingham-paper")
    assert paper.representation == "paper" and paper.task == "nottingham"
    by_path = seqgan_music.load_model(paper.path)
    assert by_path.path == paper.path
    (a,) = seqgan_music.compose(model=paper, seed=4)
    (b,) = seqgan_music.compose(model=paper.path, seed=4)
    assert a.notes == b.notes
    with pytest.raises(ConfigError, match="shipped models"):
        seqgan_music.load_model("no-such-model")
    with pytest.raises(CheckpointError, match="does not exist"):
        seqgan_music.compose(model=tmp_path / "missing" / "run")


def test_api_errors_are_the_library_errors() -> None:
    with pytest.raises(ConfigError, match="unknown option"):
        seqgan_music.compose(colour="blue")
    with pytest.raises(ConfigError):
        seqgan_music.compose(meter="5/0")


def test_import_is_light_and_api_names_are_lazy() -> None:
    code = ("import sys, seqgan_music\n"
            "assert 'torch' not in sys.modules and 'seqgan_music.api' not in sys.modules\n"
            "assert callable(seqgan_music.compose) and 'torch' not in sys.modules\n"
            "print(sorted(n for n in dir(seqgan_music) if not n.startswith('_')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("compose", "load_model", "train", "Tune"):
        assert name in result.stdout


def test_example_api_script_runs(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "api.py"),
                             str(tmp_path / "out")], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "tune-1.mid").is_file()


def test_api_train_runs_the_cli_pipeline(tmp_path: Path) -> None:
    from tests.conftest import TINY_ORACLE_FLAGS

    sets = [TINY_ORACLE_FLAGS[i + 1] for i, f in enumerate(TINY_ORACLE_FLAGS) if f == "--set"]
    outcome = seqgan_music.train("oracle", preset="quick", out=tmp_path / "runs", seed=1,
                                 overrides=sets, device="cpu")
    assert outcome.run_dir.is_dir() and outcome.figures


# ----- package metadata ----------------------------------------------------------------------

def test_pyproject_declares_licence_urls_markers_and_lean_dependencies() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    assert "MIT" in project["license"] and "GPL-3.0" in project["license"]
    assert (ROOT / "LICENSE").is_file() and "MIT License" in (ROOT / "LICENSE").read_text()
    assert project["urls"]
    names = [d.split(">")[0].split("=")[0].split(";")[0].strip().lower()
             for d in project["dependencies"]]
    assert "scipy" not in names and "mido" not in names and "pyyaml" in names
    for heavy_tool in ("pytest", "selenium", "mypy", "ruff", "nltk"):
        assert heavy_tool not in names
    markers = meta["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("slow:") for m in markers)


def test_sdist_manifest_keeps_the_tests_runnable() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text()
    for folder in ("tests", "docs", "examples", "benchmarks"):
        assert f"graft {folder}" in manifest
    for name in ("conftest.py", "reference.py", "__init__.py"):
        assert (ROOT / "tests" / name).is_file()


# ----- model cards ---------------------------------------------------------------------------

def test_every_shipped_card_has_the_hub_fields_and_a_licence() -> None:
    from seqgan_music.music.zoo import shipped_models

    models = shipped_models()
    assert models
    for model in models:
        card = model.card
        assert card["license"] and card["library_name"] == "seqgan-music", model.name
        assert card["tags"] and card["datasets"], model.name
        (entry,) = card["model-index"]
        assert entry["name"] == model.name and entry["results"][0]["metrics"]
        text = model.path.with_suffix(".md") if model.path.with_suffix(".md").exists() else None
        if text is not None:
            assert "GPL" in text.read_text(encoding="utf-8")


def test_card_metadata_is_real_yaml() -> None:
    from seqgan_music.music.zoo import parse_card_metadata

    card = parse_card_metadata("---\nname: x\ntags: [a, b]\nsummary: >\n  folded\n  text\n"
                               "model-index:\n- name: x\n  results: []\n---\n# body\n")
    assert card == {"name": "x", "tags": ["a", "b"], "summary": "folded text\n",
                    "model-index": [{"name": "x", "results": []}]}
    assert parse_card_metadata("no front matter") == {}
    with pytest.raises(ValueError):
        parse_card_metadata("---\n- a list\n---\n")
    with pytest.raises(ValueError):
        parse_card_metadata("---\nkey: [unclosed\n---\n")


# ----- the t-test that replaced scipy --------------------------------------------------------

def test_welch_p_value_matches_scipy() -> None:
    from seqgan_music.tasks.oracle import student_t_p_value, welch_p_value

    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 50), rng.normal(0.3, 2, 80)
    # scipy.stats.ttest_ind(a, b, equal_var=False).pvalue, and 2 * scipy.stats.t.sf(|t|, df)
    assert welch_p_value(a, b) == pytest.approx(0.5081153566260936, rel=1e-10)
    for t, df, expected in [(0.5, 3, 0.651447964848151), (2.0, 10.5, 0.0720338001569683),
                            (5, 100, 2.450173413503802e-06), (-1.2, 7.3, 0.2676306665516561),
                            (30, 4, 7.352856097661319e-06)]:
        assert student_t_p_value(t, df) == pytest.approx(expected, rel=1e-10)
    assert math.isnan(welch_p_value(np.ones(1), np.ones(5)))
    assert math.isnan(welch_p_value(np.ones(4), np.ones(5)))


# ----- provenance in run.json ----------------------------------------------------------------

def test_run_json_records_provenance(tmp_path: Path) -> None:
    import json

    from tests.conftest import TINY_ORACLE_FLAGS

    done = run("train", "oracle", "--out", str(tmp_path / "runs"), "--seed", "3",
               *TINY_ORACLE_FLAGS)
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "runs" / "oracle").iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    (entry,) = info["provenance"]
    assert entry["command"].startswith("seqgan-music train oracle --out")
    assert "--seed 3" in entry["command"] and entry["seed"] == 3
    assert entry["preset"] == "quick" and entry["method"] == "seqgan"
    assert "data.vocab_size=12" in entry["overrides"] and entry["processes"] == 1
    assert entry["device"].startswith("cpu")
    assert entry["versions"]["seqgan-music"] == seqgan_music.__version__
    assert entry["versions"]["torch"] and entry["versions"]["python"]
    assert entry["git"] is None or len(entry["git"]["commit"]) == 40
    resumed = run("train", "oracle", "--resume", str(run_dir),
                  "--set", "train.adversarial_iterations=3")
    info = json.loads((run_dir / "run.json").read_text())
    if resumed.returncode == 0:  # a second entry says how it was continued
        assert len(info["provenance"]) == 2 and info["provenance"][1]["resume"] == str(run_dir)


# ----- CLI messages that once misled ---------------------------------------------------------

def test_compose_messages_fit_what_happened(tmp_path: Path) -> None:
    meter = run("compose", "--meter", "6/8", "--out", str(tmp_path / "a.mid"))
    assert meter.returncode == 0, meter.stderr
    assert "primer" not in meter.stdout  # --meter is no primer
    cut = run("compose", "-n", "2", "--length", "3", "--out", str(tmp_path / "b.mid"))
    assert cut.returncode == 0, cut.stderr
    said = " ".join(cut.stdout.split())
    assert "none ended by the model (all 2 stop at --length)" in said
    primed = run("compose", "--primer", "D4 - E4 F#4 | G4", "--out", str(tmp_path / "c.mid"))
    assert "primer" in primed.stdout and "steps kept" in primed.stdout


@pytest.mark.slow
def test_piped_training_says_data_and_run_directory_first(tmp_path: Path) -> None:
    from tests.conftest import TINY_ORACLE_FLAGS

    done = run("train", "oracle", "--out", str(tmp_path / "runs"), *TINY_ORACLE_FLAGS)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "note: training in" in out and "figures on" in out
    assert out.index("note: training in") < out.index("figures on")
    assert out.count("run directory:") == 1  # the summary line at the end, once


# ----- evaluation in bounded chunks ----------------------------------------------------------

def test_heldout_nll_in_bounded_batches_gives_the_whole_batch_figure(
        tiny_config: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from seqgan_music.trainer import loop as training
    from seqgan_music.trainer.loop import Corpus, Trainer

    data = torch.randint(0, 8, (50, 6))
    trainer = Trainer(tiny_config, Corpus(train=data, valid=data[:20], test=data[:20],  # type: ignore[arg-type]
                                          vocab_size=8))
    whole = trainer.heldout_nll(data, batch=1024)
    monkeypatch.setattr(training, "EVAL_LOGITS", 6 * 8 * 7)  # 7 rows a batch
    assert trainer.heldout_nll(data) == pytest.approx(whole, rel=1e-6)
