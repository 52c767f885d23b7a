"""Hostile input as a new user would type it: every case ends in one `error:` line and exit 1.

Issue 8's probe, classes 2 to 6: sizes that ask for unbounded work, model files that lie, task
options of the wrong type, numbers at the edges and checks that differed between commands.
Each case runs the command in-process (`seqgan_music.cli.main`) in an empty working folder and
asserts the exit code, no traceback, the error line naming the problem, nothing left behind
and an end within a time bound.
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seqgan_music.cli import main
from seqgan_music.music.tokens import VOCAB_SIZE

TIME_BOUND = 10.0  # seconds per case
WORDS = ["<pad>", "<eos>", "<unk>", "a", "b", "c", "d", "e"]


def tiny_config(task: str, vocab: int, seq_len: int = 6) -> dict[str, Any]:
    """A resolved config (every field), as seqgan-music saves it."""
    from seqgan_music.config import ExperimentConfig

    return ExperimentConfig.from_dict({
        "task": task, "data": {"seq_len": seq_len, "vocab_size": vocab},
        "generator": {"embedding_dim": 4, "hidden_dim": 8},
        "discriminator": {"embedding_dim": 4, "filter_widths": [1, 2], "num_filters": [3, 3]},
    }).to_dict()


def generator_weights(vocab: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A generator's weights for V = vocab, E = 4, H = 8 (`models.Generator`'s state dict)."""
    rng = np.random.default_rng(seed)
    shapes = {"embedding.weight": (vocab, 4), "lstm.weight_ih_l0": (32, 4),
              "lstm.weight_hh_l0": (32, 8), "lstm.bias_ih_l0": (32,), "lstm.bias_hh_l0": (32,),
              "head.weight": (vocab, 8), "head.bias": (vocab,)}
    return {k: rng.normal(0, 0.5, shape).astype(np.float32) for k, shape in shapes.items()}


def write_safetensors(path: Path, weights: dict[str, np.ndarray], metadata: dict[str, str] | None
                      ) -> Path:
    from safetensors.numpy import save

    path.write_bytes(save(weights, metadata=metadata))
    return path


def model_meta(task: str, vocab: int, spec: dict[str, Any]) -> dict[str, Any]:
    return {"config": tiny_config(task, vocab, 32 if spec.get("music") else 6), "task": spec,
            "method": "seqgan", "vocab_size": vocab}


def write_model(path: Path, task: str, vocab: int, spec: dict[str, Any],
                weights: dict[str, np.ndarray] | None = None, **changes: Any) -> Path:
    """A `.safetensors` model; `changes` replace entries of its metadata (None removes)."""
    meta = {**model_meta(task, vocab, spec), **changes}
    meta = {k: v for k, v in meta.items() if v is not None}
    return write_safetensors(path, weights or generator_weights(vocab),
                             {"seqgan_music": json.dumps(meta)})


MUSIC = {"music": True, "step": 0.4, "melody": "auto"}
TEXT = {"text": True, "vocab": {"kind": "word", "tokens": WORDS, "min_freq": 1}}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good and lying model files, primers and data, outside each case's working folder."""
    import pretty_midi
    import torch

    from seqgan_music.io.runs import save_checkpoint

    folder = tmp_path_factory.mktemp("models")
    write_model(folder / "music.safetensors", "nottingham", VOCAB_SIZE, MUSIC)
    write_model(folder / "text.safetensors", "text", len(WORDS), TEXT)
    write_model(folder / "music12.safetensors", "nottingham", 12, MUSIC)
    oracle = {k: torch.from_numpy(v) for k, v in generator_weights(12).items()}
    save_checkpoint(folder / "oracle.pt", {**model_meta("oracle", 12, {"task": "oracle"}),
                                          "progress": {}, "generator": oracle})
    save_checkpoint(folder / "noconfig.pt", {"method": "seqgan", "progress": {},
                                            "generator": oracle, "vocab_size": 12})
    save_checkpoint(folder / "badvocab.pt", {**model_meta("oracle", 12, {}),
                                            "vocab_size": "12", "generator": oracle})
    write_safetensors(folder / "nometa.safetensors", generator_weights(VOCAB_SIZE), None)
    write_safetensors(folder / "otherkey.safetensors", generator_weights(VOCAB_SIZE),
                      {"author": "me"})
    for name, text in (("list", "[1, 2]"), ("string", '"hello"'), ("notjson", "{oops")):
        write_safetensors(folder / f"{name}.safetensors", generator_weights(VOCAB_SIZE),
                          {"seqgan_music": text})
    write_model(folder / "vocabtext.safetensors", "nottingham", VOCAB_SIZE, MUSIC,
                vocab_size="abc")
    write_model(folder / "vocabfloat.safetensors", "nottingham", VOCAB_SIZE, MUSIC,
                vocab_size=89.5)
    start = model_meta("nottingham", VOCAB_SIZE, MUSIC)["config"]
    start["data"]["vocab_size"] = 5000
    start["generator"]["start_token"] = 200
    write_model(folder / "start.safetensors", "nottingham", VOCAB_SIZE, MUSIC, config=start)
    shapes = generator_weights(VOCAB_SIZE)
    shapes["head.bias"] = shapes["head.bias"][:5]
    write_model(folder / "shape.safetensors", "nottingham", VOCAB_SIZE, MUSIC, weights=shapes)
    lacking = generator_weights(VOCAB_SIZE)
    del lacking["lstm.weight_hh_l0"]
    write_model(folder / "lacking.safetensors", "nottingham", VOCAB_SIZE, MUSIC, weights=lacking)
    nan = generator_weights(VOCAB_SIZE)
    nan["head.weight"][:] = np.nan
    write_model(folder / "nan.safetensors", "nottingham", VOCAB_SIZE, MUSIC, weights=nan)
    write_model(folder / "configlist.safetensors", "nottingham", VOCAB_SIZE, MUSIC,
                config=[1, 2])
    write_model(folder / "shortvocab.safetensors", "text", len(WORDS),
                {"text": True, "vocab": {"kind": "word", "tokens": WORDS[:4]}})
    (folder / "notes.txt").write_text("not a model\n", encoding="utf-8")
    # issue 23, class 11: `h` is a pickle opcode torch's safe unpickler meets with a KeyError
    (folder / "hello.txt").write_text("hello, I am a text file\n", encoding="utf-8")
    # issue 23, class 12: meters music21 would expand without end, in the header or inline
    for name, meter in (("meter.abc", "M:1000000/1"), ("meter1024.abc", "M:1024/4"),
                        ("inline.abc", "M:6/8\nL:1/8\nK:G\nGAB|[M:999/4]cde|\n")):
        (folder / name).write_text(f"X:1\nT:Meter\n{meter}\nL:1/8\nK:G\nGABc dedB|\n",
                                   encoding="utf-8")
    write_model(folder / "v99.safetensors", "nottingham", VOCAB_SIZE, MUSIC, version=99)
    write_model(folder / "otherformat.safetensors", "nottingham", VOCAB_SIZE, MUSIC,
                format="someone-elses-model")
    (folder / "notes.safetensors").write_text("not a model either\n", encoding="utf-8")
    (folder / "lines.txt").write_text("a b c\nd e a\nb c d\n" * 5, encoding="utf-8")
    # A primer holding a 10-hour note: past pretty_midi's tick limit at the usual resolution,
    # and readable (90,000 steps) at a coarse one.
    for name, resolution in (("hours.mid", 220), ("coarse.mid", 24)):
        midi = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=120)
        melody = pretty_midi.Instrument(program=0)
        melody.notes.append(pretty_midi.Note(90, 60, 0.0, 36000.0))
        midi.instruments.append(melody)
        midi.write(str(folder / name))
    return folder


# (id, command with {m} for the models folder, expected words in the error line)
CASES = [
    # 2. One flag, unbounded work: refused before the work, saying the limit.
    ("generate-huge-num", ["generate", "--model", "{m}/oracle.pt", "-n", "1000000000000"],
     "--num = 1000000000000 is invalid"),
    ("continue-huge-length", ["text", "continue", "a b", "--model", "{m}/text.safetensors",
                              "--length", "100000000000"], "--length = 100000000000 is invalid"),
    ("continue-huge-num", ["text", "continue", "a b", "--model", "{m}/text.safetensors",
                           "-n", "900000", "--length", "90000"], "of memory"),
    ("huge-rollouts", ["train", "oracle", "--dry-run", "--set",
                       "rollout.num_rollouts=1000000000"], "needs about"),
    ("compose-long-work", ["compose", "-n", "300", "--length", "100000", "--out", "t.mid"],
     "at most 1,000,000 steps"),
    # 3. Model files that lie.
    ("st-no-metadata", ["compose", "--model", "{m}/nometa.safetensors", "--out", "t.mid"],
     "not a usable seqgan-music model"),
    ("st-other-metadata", ["compose", "--model", "{m}/otherkey.safetensors", "--out", "t.mid"],
     "metadata lacks"),
    ("st-metadata-list", ["compose", "--model", "{m}/list.safetensors", "--out", "t.mid"],
     "description is a list"),
    ("st-metadata-string", ["compose", "--model", "{m}/string.safetensors", "--out", "t.mid"],
     "description is a str"),
    ("st-vocab-text", ["compose", "--model", "{m}/vocabtext.safetensors", "--out", "t.mid"],
     "vocab_size = 'abc'"),
    ("st-vocab-float", ["compose", "--model", "{m}/vocabfloat.safetensors", "--out", "t.mid"],
     "vocab_size = 89.5"),
    ("st-start-token", ["compose", "--model", "{m}/start.safetensors", "--out", "t.mid"],
     "start_token = 200"),
    ("st-wrong-shape", ["compose", "--model", "{m}/shape.safetensors", "--out", "t.mid"],
     "weight head.bias has shape (5,)"),
    ("st-missing-weight", ["text", "continue", "a", "--model", "{m}/lacking.safetensors"],
     "lack lstm.weight_hh_l0"),
    ("st-nan-weights", ["compose", "--model", "{m}/nan.safetensors", "--out", "t.mid"],
     "NaN or infinite"),
    ("st-config-list", ["generate", "--model", "{m}/configlist.safetensors"],
     "config is not a table"),
    ("st-short-vocabulary", ["text", "continue", "a", "--model", "{m}/shortvocab.safetensors"],
     "vocabulary has 4 tokens"),
    ("pt-vocab-string", ["generate", "--model", "{m}/badvocab.pt"], "vocab_size = '12'"),
    ("music-model-wrong-vocabulary", ["compose", "--model", "{m}/music12.safetensors", "--out",
                                      "t.mid"], "marked as a music model but V = 12"),
    ("plain-text-as-model", ["compose", "--model", "{m}/notes.txt", "--out", "t.mid"],
     "not a plain PyTorch file"),
    ("plain-text-as-safetensors", ["compose", "--model", "{m}/notes.safetensors", "--out",
                                   "t.mid"], "not a readable safetensors file"),
    ("resume-without-config", ["train", "oracle", "--resume", "{m}/noconfig.pt"],
     "lacks config"),
    # Issue 23, class 3: a format version this seqgan-music cannot read; class 11: a text
    # file whose first byte is `h`, in every command that takes a model.
    ("st-version-99", ["compose", "--model", "{m}/v99.safetensors", "--out", "t.mid"],
     "model format version 99; this seqgan-music reads version 1"),
    ("st-other-format", ["generate", "--model", "{m}/otherformat.safetensors"],
     "not a seqgan-music model"),
    ("h-text-compose", ["compose", "--model", "{m}/hello.txt", "--out", "t.mid"],
     "not a plain PyTorch file"),
    ("h-text-generate", ["generate", "--model", "{m}/hello.txt"], "not a plain PyTorch file"),
    ("h-text-resume", ["train", "oracle", "--resume", "{m}/hello.txt"],
     "not a plain PyTorch file"),
    ("h-text-continue", ["text", "continue", "a", "--model", "{m}/hello.txt"],
     "not a plain PyTorch file"),
    ("abc-meter-million", ["compose", "--primer", "{m}/meter.abc", "--out", "t.mid"],
     "meter M:1000000/1 is outside what a tune uses"),
    ("abc-meter-1024", ["compose", "--primer", "{m}/meter1024.abc", "--out", "t.mid"],
     "meter M:1024/4"),
    ("abc-meter-inline", ["compose", "--primer", "{m}/inline.abc", "--out", "t.mid"],
     "meter M:999/4"),
    ("abc-meter-paper-model", ["compose", "--model", "nottingham-paper", "--primer",
                               "{m}/meter.abc", "--out", "t.mid"], "meter M:1000000/1"),
    # 4. Task options unvalidated.
    ("oracle-num-train-abc", ["train", "oracle", "--dry-run", "--set",
                              "task_options.num_train=abc"], "task_options.num_train = 'abc'"),
    ("oracle-num-valid-negative", ["train", "oracle", "--dry-run", "--set",
                                   "task_options.num_valid=-5"], "task_options.num_valid = -5"),
    ("oracle-dim-zero", ["train", "oracle", "--dry-run", "--set", "task_options.oracle_dim=0"],
     "task_options.oracle_dim = 0"),
    ("text-max-vocab-abc", ["train", "text", "--data", "{m}/lines.txt", "--set",
                            "task_options.max_vocab=abc"], "task_options.max_vocab = 'abc'"),
    ("text-valid-fraction-abc", ["train", "text", "--data", "{m}/lines.txt", "--set",
                                 "task_options.valid_fraction=abc"],
     "task_options.valid_fraction = 'abc'"),
    ("text-split-seed-negative", ["train", "text", "--dry-run", "--set",
                                  "task_options.split_seed=-1"], "task_options.split_seed = -1"),
    ("text-max-vocab-negative", ["train", "text", "--dry-run", "--set",
                                 "task_options.max_vocab=-10"], "task_options.max_vocab = -10"),
    ("music-step-text", ["train", "midi", "--dry-run", "--set", "task_options.step=abc"],
     "task_options.step = 'abc'"),
    # 5. Numbers at the edges.
    ("train-seed-overflow", ["train", "oracle", "--dry-run", "--seed",
                             "99999999999999999999999"], "seed = 99999999999999999999999"),
    ("generate-seed-overflow", ["generate", "--model", "{m}/oracle.pt", "--seed",
                                "99999999999999999999999"], "--seed = 99999999999999999999999"),
    ("generate-seed-negative", ["generate", "--model", "{m}/oracle.pt", "--seed", "-1"],
     "--seed = -1 is invalid"),
    ("continue-seed-negative", ["text", "continue", "a", "--model", "{m}/text.safetensors",
                                "--seed", "-1"], "--seed = -1 is invalid"),
    ("compose-seed-too-big", ["compose", "--seed", str(2**64), "--out", "t.mid"],
     f"--seed = {2**64} is invalid"),
    # 6. Inconsistent checks.
    ("generate-temperature-nan", ["generate", "--model", "{m}/oracle.pt", "--temperature", "nan"],
     "--temperature = nan is invalid"),
    ("generate-temperature-inf", ["generate", "--model", "{m}/oracle.pt", "--temperature", "inf"],
     "--temperature = inf is invalid"),
    ("continue-temperature-nan", ["text", "continue", "a", "--model", "{m}/text.safetensors",
                                  "--temperature", "nan"], "--temperature = nan is invalid"),
    ("compose-temperature-inf", ["compose", "--temperature", "inf", "--out", "t.mid"],
     "--temperature = inf is invalid"),
    ("infinite-lr", ["train", "oracle", "--dry-run", "--set", "train.generator_lr=inf"],
     "train.generator_lr = inf"),
    ("infinite-clip", ["train", "oracle", "--dry-run", "--set", "train.grad_clip=inf"],
     "train.grad_clip = inf"),
    ("infinite-l2", ["train", "oracle", "--dry-run", "--set", "discriminator.l2_reg=inf"],
     "discriminator.l2_reg = inf"),
    ("overflowing-lr", ["train", "oracle", "--dry-run", "--set", "train.pretrain_lr=1e38"],
     "train.pretrain_lr = 1e+38"),
    ("vocab-max-size-negative", ["text", "vocab", "{m}/lines.txt", "--max-size", "-10"],
     "max_size = -10 is invalid"),
    ("primer-past-tick-limit", ["compose", "--primer", "{m}/hours.mid", "--out", "t.mid"],
     "too long"),
    ("primer-ten-hours", ["compose", "--model", "nottingham-paper", "--primer", "{m}/coarse.mid",
                          "--out", "t.mid"], "90,000 steps long"),
]


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail a case that runs past TIME_BOUND (the unbounded work the probe found)."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {TIME_BOUND} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, TIME_BOUND)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 1
    return 0


@pytest.mark.parametrize("args, message", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_hostile_case_is_one_error_line(args: list[str], message: str, models: Path,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str], deadline: None
                                        ) -> None:
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    code = run_cli([a.replace("{m}", str(models)) for a in args])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], err
    assert "weights_only" not in err and "allow_pickle" not in err
    assert list(tmp_path.iterdir()) == []  # no output, run directory or temporary file
    assert elapsed < TIME_BOUND


def test_the_shipped_model_and_good_files_still_work(models: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    """The schema accepts what seqgan-music writes (the table above is not refusing all)."""
    monkeypatch.chdir(tmp_path)
    assert run_cli(["compose", "--out", "a.mid", "--seed", str(2**63 - 1)]) == 0
    assert run_cli(["compose", "--model", str(models / "music.safetensors"), "--out",
                    "b.mid"]) == 0
    assert run_cli(["generate", "--model", str(models / "oracle.pt"), "-n", "2"]) == 0
    assert run_cli(["text", "continue", "a b", "--model", str(models / "text.safetensors"),
                    "-n", "2", "--seed", "3"]) == 0
    out, err = capsys.readouterr()
    assert "error" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid", "b.mid"]


def test_refusals_never_advise_unsafe_loading(tmp_path: Path) -> None:
    """A pickle that would run code is refused without quoting weights_only/allow_pickle."""
    import os

    import torch

    from seqgan_music.errors import SeqganMusicError
    from seqgan_music.io.runs import load_checkpoint, load_error_reason

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "seqgan-music-checkpoint", "x": Evil()}, path)
    with pytest.raises(SeqganMusicError) as refused:
        load_checkpoint(path)
    assert "weights_only" not in str(refused.value) and "pickled" in str(refused.value)
    numpy_error = ValueError("Object arrays cannot be loaded when allow_pickle=False")
    assert "allow_pickle" not in load_error_reason(numpy_error)


def test_symlink_loops_and_dangling_links_are_skipped_and_counted(tmp_path: Path) -> None:
    from seqgan_music.errors import DataWarning
    from seqgan_music.music.corpus import find_music_files
    from tests.conftest import random_tunes

    folder = random_tunes(tmp_path / "tunes", num=2, steps=40)
    (folder / "loop.mid").symlink_to("loop.mid")
    (folder / "gone.mid").symlink_to("nowhere.mid")
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to("..")
    with pytest.warns(DataWarning, match="skipped 3 symbolic link"):
        files, _ = find_music_files(folder)
    assert [p.name for p in files] == ["tune0.mid", "tune1.mid"]


def test_a_tune_of_hours_supplies_a_bounded_number_of_windows(tmp_path: Path) -> None:
    import pretty_midi

    from seqgan_music.errors import DataWarning
    from seqgan_music.music.corpus import (
        MAX_WINDOWS_PER_TUNE,
        MusicOptions,
        build_music_corpus,
    )
    from tests.conftest import random_tunes

    folder = random_tunes(tmp_path / "tunes", num=4, steps=70)
    midi = pretty_midi.PrettyMIDI(resolution=24, initial_tempo=120)
    melody = pretty_midi.Instrument(program=0)
    melody.notes.append(pretty_midi.Note(90, 60, 0.0, 3 * 3600.0))  # 27,000 steps
    midi.instruments.append(melody)
    midi.write(str(folder / "held.mid"))
    with pytest.warns(DataWarning, match=r"held.mid: 843 windows"):
        data = build_music_corpus([folder], "t", MusicOptions(), 32, use_cache=False)
    total = len(data.train) + len(data.valid) + len(data.test)
    assert total <= MAX_WINDOWS_PER_TUNE + 4 * 2


def test_limits_are_the_same_everywhere() -> None:
    from seqgan_music import limits
    from seqgan_music.config import ExperimentConfig
    from seqgan_music.errors import ConfigError

    for bad in (-1, 2**63, 1.5, True):
        with pytest.raises(ConfigError, match="is invalid; expected an integer in 0.."):
            limits.check_seed(bad)
        with pytest.raises(ConfigError, match="seed"):
            ExperimentConfig.from_dict({"seed": bad})
    for bad_t in (0, -1.0, math.nan, math.inf):
        with pytest.raises(ConfigError, match="finite number > 0"):
            limits.check_temperature(bad_t)
    assert limits.check_seed(2**63 - 1) == 2**63 - 1


def test_ctrl_c_stops_long_compose_cleanly(tmp_path: Path) -> None:
    """Long work stops on Ctrl-C with exit 130, one line, and no partial or temporary file."""
    import subprocess
    import sys

    # the paper model: it never ends a tune itself, so 200 x 5,000 steps are all sampled
    proc = subprocess.Popen([sys.executable, "-m", "seqgan_music", "compose", "-n", "200",
                             "--length", "5000", "--model", "nottingham-paper", "--out", "t.mid"],
                            cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6.0)  # past start-up (1-3 s), well inside the ~20 s of sampling
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "interrupted" in err
    assert list(tmp_path.iterdir()) == []


def test_task_options_are_checked_as_each_task_declares_them() -> None:
    from seqgan_music.errors import ConfigError
    from seqgan_music.tasks import check_task_options, load_task

    # a plug-in that declares nothing keeps receiving its options unchecked
    assert check_task_options("scales", None, {"anything": "abc"}) == {"anything": "abc"}
    text = load_task("text")
    checked = check_task_options("text", text.accepted_options,
                                 {"test_fraction": 0.2, "max_vocab": 0})
    assert checked == {"test_fraction": 0.2, "max_vocab": 0}
    with pytest.raises(ConfigError, match="unknown text option task_options.num_train"):
        check_task_options("text", text.accepted_options, {"num_train": 5})
    with pytest.raises(ConfigError, match=r"task_options.min_freq = True has the wrong type"):
        check_task_options("text", text.accepted_options, {"min_freq": True})
    folk = load_task("folk")
    assert check_task_options("folk", folk.accepted_options, {"corpora": "oneills1850",
                                                             "step": 1})["step"] == 1.0


# The studio: hostile requests (issue 23) ---------------------------------------------------


@pytest.fixture
def studio_client(tmp_path: Path) -> Iterator[Any]:
    """A studio on an empty runs folder and the test client of its app (token header set)."""
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from seqgan_music.studio.app import Studio, create_app

    studio = Studio(runs=tmp_path / "runs", hosts=("testserver",), work=tmp_path / "work")
    studio.work.mkdir()
    studio.runs.mkdir()
    client = TestClient(create_app(studio))
    client.studio = studio  # type: ignore[attr-defined]
    yield client
    studio.close()




def _routes_of(client: Any) -> list[tuple[str, str]]:
    from starlette.applications import Starlette

    app = client.app
    while not isinstance(app, Starlette):  # through the middleware
        app = app.app
    from starlette.routing import Mount, Route

    found = []
    for route in app.routes:
        if isinstance(route, Mount):
            found.append(("GET", f"{route.path}/app.js"))
        elif isinstance(route, Route):
            path = route.path.replace("{tune}", "t1").replace("{kind}", "mid")
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((method, path))
    return found


CROSS_SITE = [  # (id, headers): what a page of another site or port sends
    ("sec-fetch-cross-site", {"Sec-Fetch-Site": "cross-site"}),
    ("sec-fetch-same-site-other-port", {"Sec-Fetch-Site": "same-site"}),
    ("origin-evil", {"Origin": "http://evil.example"}),
    ("origin-null", {"Origin": "null"}),
    ("origin-other-port", {"Origin": "http://testserver:9999"}),
]


@pytest.mark.parametrize("headers", [h for _, h in CROSS_SITE], ids=[i for i, _ in CROSS_SITE])
def test_every_studio_route_refuses_cross_site_requests(studio_client: Any,
                                                        headers: dict[str, str]) -> None:
    """Issue 23, class 1: even with the token (the cookie a same-site page gets), a request a
    browser marks as coming from elsewhere is refused on every route."""
    studio = studio_client.studio
    routes = _routes_of(studio_client)
    assert ("POST", "/api/compose") in routes and ("POST", "/api/train") in routes
    studio_client.cookies.set(studio.cookie, studio.token)
    for method, path in routes:
        response = studio_client.request(method, path, headers=headers,
                                         content=b'{"task": "oracle"}')
        assert response.status_code == 403, (method, path, response.text)
        assert "refused" in response.json()["error"]
    assert studio.jobs.job is None  # no training was started


def test_a_cookie_alone_never_changes_anything(studio_client: Any) -> None:
    """A POST authenticated by the cookie alone (no X-Studio-CSRF, no token header) is refused
    on every state-changing route; the page's own header makes the same request pass."""
    studio = studio_client.studio
    studio_client.cookies.set(studio.cookie, studio.token)
    posts = [(m, p) for m, p in _routes_of(studio_client) if m != "GET"]
    assert {p for _, p in posts} >= {"/api/compose", "/api/train", "/api/train/cancel",
                                     "/api/upload"}
    for method, path in posts:
        for content_type in ("text/plain", "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x", "application/json"):
            response = studio_client.request(method, path, content=b'{"task": "oracle"}',
                                             headers={"Content-Type": content_type})
            assert response.status_code == 403, (path, content_type, response.text)
            assert "X-Studio-CSRF" in response.json()["error"]
    assert studio.jobs.job is None
    ok = studio_client.post("/api/train/cancel", headers={"X-Studio-CSRF": studio.csrf})
    assert ok.status_code == 409  # past the gate: nothing to cancel
    assert studio.csrf in studio_client.get("/").text  # the page carries it


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", ""])
def test_json_routes_take_json_only(studio_client: Any, content_type: str) -> None:
    studio = studio_client.studio
    headers = {"X-Studio-Token": studio.token, "Content-Type": content_type}
    for path in ("/api/compose", "/api/train", "/api/train/cancel"):
        response = studio_client.post(path, content=b'{"task": "oracle"}', headers=headers)
        assert response.status_code == 415, (path, response.text)
        assert "application/json" in response.json()["error"]
    assert studio.jobs.job is None


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "//evil.example",
                                    "///evil.example/x", "/\t/evil.example/"])
def test_the_first_visit_redirect_stays_on_the_studio(studio_client: Any, target: str) -> None:
    """Issue 23, class 4: no open redirect through `//host/?token=` (the raw path, as a
    browser or curl sends it: the ASGI app is called directly)."""
    import asyncio

    studio = studio_client.studio
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": target, "raw_path": target.encode(),
             "query_string": f"token={studio.token}".encode(), "root_path": "",
             "headers": [(b"host", b"testserver")], "scheme": "http", "http_version": "1.1",
             "server": ("testserver", 80), "client": ("127.0.0.1", 1)}
    asyncio.run(studio_client.app(scope, receive, send))
    start = sent[0]
    assert start["status"] == 303
    location = dict(start["headers"])[b"location"].decode()
    assert location == "/", location


# (id, method, path, json or raw body, statuses accepted, words in the error)
STUDIO_CASES: list[tuple[str, str, str, Any, tuple[int, ...], str]] = [
    ("num-1e400", "POST", "/api/compose", b'{"num": 1e400}', (400,), "finite"),
    ("length-minus-1e400", "POST", "/api/compose", b'{"length": -1e400}', (400,), "finite"),
    ("temperature-nan", "POST", "/api/compose", b'{"temperature": NaN}', (400,), "finite"),
    ("seed-infinity", "POST", "/api/compose", b'{"seed": Infinity}', (400,), "finite"),
    ("deep-nesting", "POST", "/api/compose", b"[" * 60000, (400,), "nests deeper"),
    ("deep-object", "POST", "/api/train", b'{"a":' * 5000 + b"1" + b"}" * 5000, (400,),
     "nests deeper"),
    ("huge-integer", "POST", "/api/compose", b'{"seed": ' + b"9" * 5000 + b"}", (400,),
     "digits"),
    ("seed-fraction", "POST", "/api/compose", {"seed": 1.5}, (400,), "seed = 1.5 is invalid"),
    ("num-true", "POST", "/api/compose", {"num": True}, (400,), "num = true is invalid"),
    ("num-list", "POST", "/api/compose", {"num": [1]}, (400,), "num = [1] is invalid"),
    ("seed-negative", "POST", "/api/compose", {"seed": -1}, (400,), "seed = -1 is invalid"),
    ("seed-too-big", "POST", "/api/compose", {"seed": 2**64}, (400,), "seed ="),
    ("train-seed-fraction", "POST", "/api/train", {"task": "oracle", "seed": 1.5}, (400,),
     "seed = 1.5"),
    ("model-object", "POST", "/api/compose", {"model": {"a": 1}}, (400,), "model ="),
    ("key-huge", "POST", "/api/compose", {"key": "C" * 100000}, (400, 413), ""),
    ("body-not-object", "POST", "/api/compose", b"[1, 2]", (400,), "JSON object"),
    ("body-not-utf8", "POST", "/api/compose", b'{"key": "\xff"}', (400,), "UTF-8"),
    ("run-id-too-long", "GET", "/api/run?id=" + "a/" * 2500, None, (400, 404), ""),
    ("run-id-5000", "GET", "/api/run?id=oracle/" + "x" * 5000, None, (400, 404), ""),
    ("run-id-component-too-long", "GET", "/api/run?id=oracle/" + "x" * 300, None, (400, 404),
     ""),
    ("run-file-id-too-long", "GET", "/api/run/file?path=train.log&id=" + "x" * 5000, None,
     (400, 404), ""),
    ("run-audio-nul", "GET", "/api/run/audio?id=oracle/x&name=a%00.mid", None,
     (400, 403, 404), ""),
    ("resume-too-long", "POST", "/api/train", {"resume": "oracle/" + "x" * 5000}, (400, 404),
     ""),
    ("data-too-long", "POST", "/api/train", {"task": "oracle", "data": "/" + "x" * 5000},
     (400,), ""),
    ("data-nul", "POST", "/api/train", {"task": "oracle", "data": "/tmp/a\x00b"}, (400,), ""),
]


@pytest.mark.parametrize("method, path, body, statuses, words",
                         [case[1:] for case in STUDIO_CASES], ids=[c[0] for c in STUDIO_CASES])
def test_hostile_studio_request_is_one_clear_refusal(studio_client: Any, method: str, path: str,
                                                     body: Any, statuses: tuple[int, ...],
                                                     words: str) -> None:
    """Issue 23, class 14: a 4xx with one line naming the problem, never a 500."""
    studio = studio_client.studio
    headers = {"X-Studio-Token": studio.token, "Content-Type": "application/json"}
    if isinstance(body, bytes) or body is None:
        response = studio_client.request(method, path, content=body, headers=headers)
    else:
        response = studio_client.request(method, path, json=body, headers=headers)
    assert response.status_code in statuses, response.text[:300]
    error = response.json()["error"]
    assert words in error and "\n" not in error and "Traceback" not in error
    assert studio.jobs.job is None
    assert studio_client.get("/api/models", headers=headers).status_code == 200


def test_listing_routes_answer_while_composes_are_queued(studio_client: Any,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Issue 23, class 12: a stuck compose (held here on an event, no clock involved) fills
    the studio's own pool; the listings still answer and a compose past the queue gets 503."""
    import threading

    from seqgan_music.studio import adapter
    from seqgan_music.studio.state import MAX_QUEUED

    studio = studio_client.studio
    release = threading.Event()
    entered = threading.Event()

    def stuck(**_: Any) -> list[Any]:
        entered.set()
        release.wait()
        return []

    monkeypatch.setattr(adapter, "compose_tunes", stuck)
    headers = {"X-Studio-Token": studio.token}
    answers: list[int] = []

    def compose() -> None:
        response = studio_client.post("/api/compose", json={"seed": 1}, headers=headers)
        answers.append(response.status_code)

    threads = [threading.Thread(target=compose) for _ in range(MAX_QUEUED)]
    for thread in threads:
        thread.start()
    entered.wait()
    while True:  # until every compose has its place in the queue
        with studio.queue_lock:
            if studio.queued == MAX_QUEUED:
                break
        threading.Event().wait(0.01)
    try:
        for path in ("/api/models", "/api/runs", "/api/train/status", "/api/tasks"):
            assert studio_client.get(path, headers=headers).status_code == 200, path
        busy = studio_client.post("/api/compose", json={"seed": 2}, headers=headers)
        assert busy.status_code == 503 and "busy" in busy.json()["error"]
    finally:
        release.set()
        for thread in threads:
            thread.join()
    assert answers == [200] * MAX_QUEUED
    assert studio.queued == 0
