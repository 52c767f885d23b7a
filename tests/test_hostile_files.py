"""Hostile cases for run directories and the file system (issue 8, section 2: data loss and
run-directory integrity; class 1, "the file system says no").

Each case runs a real command in-process through `seqgan_music.cli.main` and checks the exit
code, that there is no traceback and exactly one `error:` line, that nothing was left behind
(directory listings before and after; no temporary files) and that it ended within a bound.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seqgan_music.cli import main
from seqgan_music.errors import FileError
from seqgan_music.io.runs import (
    MetricsLog,
    atomic_write,
    is_run_dir,
    latest_run,
    load_checkpoint,
    run_lock,
)
from tests.conftest import TINY_ORACLE_FLAGS, random_tunes
from tests.test_download import FILES, make_zip, sums
from tests.test_download import server as download_server  # noqa: F401, F811  (a fixture)

TIME_BOUND = 60.0  # seconds for one command on a shared 2-core machine (tiny models)
MLE_ONLY = [*TINY_ORACLE_FLAGS, "--method", "mle"]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `seqgan-music ARGS` in-process: exit code, stdout, stderr; checks the time bound
    and that no traceback was printed."""
    started = time.monotonic()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    out, err = capsys.readouterr()
    assert time.monotonic() - started < TIME_BOUND, f"{args} took too long"
    assert "Traceback" not in out + err, err
    return code, out, err


def one_error(err: str) -> str:
    """The single `error:` line of a refusal."""
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under `root` with a digest of its content."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        found[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def temporary_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or ".tmp" in p.suffixes]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished tiny oracle run (MLE), made once; tests work on copies of it."""
    root = tmp_path_factory.mktemp("trained") / "runs"
    with pytest.MonkeyPatch.context():
        try:
            main(["train", "oracle", *MLE_ONLY, "--out", str(root)])
        except SystemExit as done:
            assert not done.code
    (run,) = (root / "oracle").iterdir()
    return run


@pytest.fixture
def run_copy(trained_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "runs" / "oracle" / trained_run.name
    shutil.copytree(trained_run, copy)
    return copy


# ----- resume integrity ---------------------------------------------------------------------

def test_resume_of_a_stray_checkpoint_starts_a_new_run_and_leaves_its_folder_alone(
        run_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's repro: RUN/checkpoints/mle.pt copied to P/backup/, then --resume it."""
    folder = tmp_path / "P"
    (folder / "backup").mkdir(parents=True)
    shutil.copy(run_copy / "checkpoints" / "mle.pt", folder / "backup" / "mle.pt")
    (folder / "config.toml").write_text("mine = 1\n")
    (folder / "metrics.jsonl").write_text('{"mine": 1}\n')
    before = snapshot(folder)
    out_root = tmp_path / "new-runs"
    code, out, err = cli(capsys, "train", "oracle", "--resume", folder / "backup" / "mle.pt",
                         "--out", out_root)
    assert code == 0, err
    assert snapshot(folder) == before  # not one byte written beside the stray checkpoint
    (made,) = (out_root / "oracle").iterdir()
    assert is_run_dir(made) and (made / "model.safetensors").is_file()
    assert "new run directory" in out and str(made) in "".join(out.split())
    assert (made / "checkpoints" / "mle.pt").is_file()  # its MLE model, evaluated beside
    assert load_checkpoint(made / "checkpoints" / "latest.pt")["progress"] == {"mle": 2}


def test_a_failing_resume_writes_nothing(run_copy: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """An exported generator-only checkpoint cannot be resumed; the run stays as it was."""
    slim = run_copy / "checkpoints" / "slim.pt"
    assert cli(capsys, "export", "--model", run_copy, "--out", slim)[0] == 0
    (run_copy / "config.toml").write_text("# the user's notes\n", encoding="utf-8")
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "train", "oracle", "--resume", slim, "--out", tmp_path / "runs")
    assert code == 1
    assert "training cannot continue" in one_error(err) and "lacks" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("target", ["folder", "checkpoints-folder"])
def test_resume_of_a_folder_that_is_no_run_is_refused(
        target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], run_copy: Path) -> None:
    folder = tmp_path / "not-a-run"
    (folder / "checkpoints").mkdir(parents=True)
    shutil.copy(run_copy / "checkpoints" / "latest.pt", folder / "checkpoints" / "latest.pt")
    given = folder if target == "folder" else folder / "checkpoints"
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "train", "oracle", "--resume", given)
    assert code == 1 and "not a seqgan-music run directory" in one_error(err)
    assert snapshot(tmp_path) == before


def test_a_run_directory_in_use_is_refused(run_copy: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Two `train --resume RUN` at once: the second gets one line and writes nothing."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from seqgan_music.io.runs import run_lock\n"
         "with run_lock(Path(sys.argv[1])):\n    print('locked', flush=True)\n"
         "    time.sleep(60)\n", str(run_copy)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        before = snapshot(run_copy)
        code, _, err = cli(capsys, "train", "oracle", "--resume", run_copy)
        assert code == 1
        line = one_error(err)
        assert "in use" in line and str(run_copy) in line and str(holder.pid) in line
        assert snapshot(run_copy) == before  # no metrics line written twice
    finally:
        holder.kill()
        holder.wait()
    assert cli(capsys, "train", "oracle", "--resume", run_copy)[0] == 0  # released on exit


def test_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    from seqgan_music.errors import CheckpointError

    with run_lock(tmp_path), pytest.raises(CheckpointError, match="in use"), run_lock(tmp_path):
        pass
    with run_lock(tmp_path):  # released
        pass


def test_a_damaged_metrics_line_does_not_stop_a_resume(
        run_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A torn line among the checkpoint's metrics lines, and lines logged after it."""
    metrics = run_copy / "metrics.jsonl"
    lines = metrics.read_bytes().splitlines()
    count = load_checkpoint(run_copy / "checkpoints" / "latest.pt")["metrics_lines"]
    assert count == len(lines) >= 3
    lines[1] = b'{"phase": "mle", "step"\xff'  # a torn, non-UTF-8 line
    metrics.write_bytes(b"".join(line + b"\n" for line in [*lines, b'{"after": 1}']))
    code, _, err = cli(capsys, "train", "oracle", "--resume", run_copy)
    assert code == 0, err
    kept = metrics.read_bytes().splitlines()
    assert kept == [lines[0], *lines[2:]]  # the torn line and the later line dropped


def test_metrics_log_skips_and_drops_damaged_lines(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"a": 1}\nnot json\n[1, 2]\n{"a": 2}\n{"a": 3}\n{"a": 4')
    log = MetricsLog(path)
    assert log.records() == [{"a": 1}, {"a": 2}, {"a": 3}]
    log.truncate(4)
    assert log.count == 2 and log.records() == [{"a": 1}, {"a": 2}]
    log.append({"a": 5})
    assert log.records() == [{"a": 1}, {"a": 2}, {"a": 5}]


# ----- compose plays the shipped model; --model latest picks the latest finished run ---------

def _fake_nottingham_run(root: Path, name: str, finished: bool, age: float) -> Path:
    """A nottingham run: finished ones hold the shipped model as their model.safetensors; an
    interrupted one only an MLE checkpoint (here unreadable bytes: it must not be opened)."""
    from seqgan_music.app.compose import pretrained_model

    run = root / "nottingham" / name
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.toml").write_text('task = "nottingham"\n')
    (run / "checkpoints" / "latest.pt").write_bytes(b"an interrupted run's checkpoint")
    stamp = time.time() - age
    os.utime(run / "checkpoints" / "latest.pt", (stamp, stamp))
    if finished:
        shutil.copy(pretrained_model(), run / "model.safetensors")
        os.utime(run / "model.safetensors", (stamp + 1, stamp + 1))
    return run


def test_plain_compose_never_picks_a_run(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    _fake_nottingham_run(runs, "20260101-000000", True, 100)
    code, out, err = cli(capsys, "compose", "--runs", runs, "--out", tmp_path / "t.mid")
    assert code == 0, err
    model_line = next(line for line in out.splitlines() if line.startswith("model:"))
    assert "pretrained" in model_line and "--model latest" in " ".join(out.split())
    assert str(runs) not in model_line


@pytest.mark.parametrize("finished_exists", [True, False])
def test_compose_model_latest_uses_the_latest_finished_run_and_says_which(
        finished_exists: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    done = _fake_nottingham_run(runs, "20260101-000000", True, 100) if finished_exists else None
    cut = _fake_nottingham_run(runs, "20260102-000000", False, 10)
    assert latest_run(runs, "nottingham") == cut
    code, out, err = cli(capsys, "compose", "--model", "latest", "--runs", runs, "--out",
                         tmp_path / "t.mid")
    if done is not None:
        assert code == 0, err
        model_line = next(line for line in out.splitlines() if line.startswith("model:"))
        assert str(done) in model_line and "finished" in model_line
        assert (tmp_path / "t.mid").is_file()
    else:
        assert code == 1 and f"{cut}isunfinished" in "".join(err.split())
        assert not (tmp_path / "t.mid").exists()


# ----- the file system says no --------------------------------------------------------------

def _text_file(tmp_path: Path) -> Path:
    path = tmp_path / "lines.txt"
    path.write_text("the cat sat\non the mat\n", encoding="utf-8")
    return path


# Each: (name, argv builder (run, tmp_path, output) -> args, output name).
WRITERS: list[tuple[str, Callable[[Path, Path, Path], list[Any]], str]] = [
    ("generate", lambda run, tmp, out: ["generate", "--model", run, "-n", "2", "--out", out],
     "samples.txt"),
    ("evaluate --json", lambda run, tmp, out: ["evaluate", "--model", run, "-n", "4",
                                               "--json", out], "figures.json"),
    ("export", lambda run, tmp, out: ["export", "--model", run, "--out", out], "model.pt"),
    ("compose", lambda run, tmp, out: ["compose", "--runs", tmp / "no-runs", "--out", out],
     "tune.mid"),
    ("compose --wav --plot", lambda run, tmp, out: ["compose", "--runs", tmp / "no-runs",
                                                    "--out", out, "--wav", "--plot"], "t.mid"),
    ("text vocab", lambda run, tmp, out: ["text", "vocab", _text_file(tmp), "--out", out],
     "vocab.json"),
]


@pytest.mark.parametrize(("name", "argv", "output"), WRITERS, ids=[w[0] for w in WRITERS])
def test_an_output_path_that_is_a_directory_is_refused(
        name: str, argv: Callable[[Path, Path, Path], list[Any]], output: str, run_copy: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / output
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("mine")
    args = argv(run_copy, tmp_path, target)
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, *args, "--force")
    assert code == 1
    assert "is a directory" in one_error(err) and str(target) in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(("name", "argv", "output"), WRITERS, ids=[w[0] for w in WRITERS])
def test_an_unwritable_output_folder_is_refused_before_any_work(
        name: str, argv: Callable[[Path, Path, Path], list[Any]], output: str, run_copy: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    args = argv(run_copy, tmp_path, folder / output)
    before = snapshot(tmp_path)
    _deny_writes(monkeypatch, folder)
    code, _, err = cli(capsys, *args)
    assert code == 1
    line = one_error(err)
    assert str(folder) in line and ("permission denied" in line or "Permission denied" in line)
    assert snapshot(tmp_path) == before


def _deny_writes(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Simulate a folder we may not write in (tests run as root, where chmod denies nothing):
    `os.access` says no and creating a file there fails with EACCES."""
    import tempfile

    real_access, real_mkstemp = os.access, tempfile.mkstemp

    def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
        if Path(path).resolve() == folder.resolve() and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    def mkstemp(*args: Any, dir: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        if dir is not None and Path(dir).resolve() == folder.resolve():
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def test_train_into_an_unwritable_runs_folder_is_refused_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    _deny_writes(monkeypatch, runs)
    code, out, err = cli(capsys, "train", "oracle", *MLE_ONLY, "--out", runs)
    assert code == 1 and str(runs) in one_error(err) and "MLE" not in out
    assert list(tmp_path.rglob("*")) == [runs]


def test_a_write_that_fails_midway_names_the_target_and_leaves_nothing(
        tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(FileError) as caught, atomic_write(target, "wb") as handle:
        handle.write(b"new")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert str(caught.value) == f"cannot write {target}: No space left on device"
    assert caught.value.errno == errno.ENOSPC and isinstance(caught.value, OSError)
    assert target.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [target]


def test_an_os_error_outside_our_writers_ends_in_one_line(
        run_copy: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import seqgan_music.app.model as pipeline

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(pipeline, "load_model", broken)
    code, _, err = cli(capsys, "generate", "--model", run_copy)
    assert code == 1 and one_error(err) == "error: file system error: Input/output error"


def _failing_torch_save(monkeypatch: pytest.MonkeyPatch, good_saves: int,
                        failure: Callable[[], BaseException]) -> list[int]:
    """Let `good_saves` checkpoint writes through, then fail the next one after 100 bytes."""
    import torch

    real_save = torch.save
    calls = [0]

    class Stream:
        def __init__(self, handle: Any) -> None:
            self.handle, self.written = handle, 0

        def write(self, data: Any) -> int:
            if self.written + len(data) > 100:
                raise failure()
            self.written += len(data)
            return int(self.handle.write(data))

        def flush(self) -> None:
            self.handle.flush()

    def save(obj: Any, handle: Any, *args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        if calls[0] <= good_saves:
            real_save(obj, handle, *args, **kwargs)
        else:
            real_save(obj, Stream(handle), *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    return calls


@pytest.mark.parametrize("good_saves", [1, 0])
def test_a_full_disk_during_a_checkpoint_keeps_the_last_good_one(
        good_saves: int, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_torch_save(monkeypatch, good_saves,
                        lambda: OSError(errno.ENOSPC, "No space left on device"))
    code, _, err = cli(capsys, "train", "oracle", *MLE_ONLY, "--set", "train.checkpoint_every=1",
                       "--out", tmp_path / "runs")
    assert code == 1
    line = one_error(err)
    assert "No space left on device" in line and "latest.pt" in line
    (run,) = (tmp_path / "runs" / "oracle").iterdir()
    assert temporary_files(tmp_path) == []
    if good_saves:
        assert "the last good checkpoint" in line and "--resume" in line
        state = load_checkpoint(run / "checkpoints" / "latest.pt")
        assert state["progress"] == {"mle": 1}
    else:
        assert "no checkpoint had been saved yet" in line and "last good" not in line
        assert not (run / "checkpoints" / "latest.pt").exists()


def test_ctrl_c_while_a_checkpoint_is_written_is_a_clean_interrupt(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_torch_save(monkeypatch, 1, KeyboardInterrupt)
    code, _, err = cli(capsys, "train", "oracle", *MLE_ONLY, "--set", "train.checkpoint_every=1",
                       "--out", tmp_path / "runs")
    assert code == 130 and "interrupted" in err and "error:" not in err
    assert temporary_files(tmp_path) == []
    (latest,) = (tmp_path / "runs").glob("oracle/*/checkpoints/latest.pt")
    assert load_checkpoint(latest)["progress"] == {"mle": 1}


@pytest.mark.parametrize("use_cache", [True, False])
def test_an_unreadable_file_in_a_data_folder_is_skipped_and_counted(
        use_cache: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from seqgan_music.music.corpus import MusicOptions, build_music_corpus

    folder = random_tunes(tmp_path / "tunes", num=6, steps=40)
    locked = folder / "tune3.mid"
    real_open, real_read = Path.open, Path.read_bytes

    def deny(path: Path) -> None:
        if path == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        deny(self)
        return real_open(self, *args, **kwargs)

    def read_bytes(self: Path) -> bytes:
        deny(self)
        return real_read(self)

    monkeypatch.setattr(Path, "open", open_)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setenv("SEQGAN_MUSIC_CACHE", str(tmp_path / "cache"))
    options = MusicOptions.from_options({})
    with pytest.warns(UserWarning):
        corpus = build_music_corpus([folder], "tunes", options, 8, use_cache=use_cache)
    skipped = corpus.manifest["skipped"]
    assert {"item": "tune3.mid", "reason": "cannot be read (Permission denied)"} in skipped
    assert len(corpus.train) > 0


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_a_really_read_only_folder_is_refused(
        run_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, _, err = cli(capsys, "generate", "--model", run_copy, "--out", folder / "s.txt")
    finally:
        folder.chmod(0o755)
    assert code == 1 and "permission denied" in one_error(err)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("failing", ["archive", "a.mid"])
def test_a_full_disk_during_a_download_names_the_data_folder_and_leaves_nothing(
        failing: str, tmp_path: Path, download_server: str,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Disk full while the archive arrives or while it is extracted: one FileError, not "the
    download failed, pass --data" or "the archive is damaged"; no staging folder left."""
    from seqgan_music.io.downloads import Archive, download_archive

    make_zip(tmp_path / "www" / "data.zip", FILES)
    real_open = Path.open

    class Full:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *args: object) -> None:
            self.handle.close()

    def open_(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, mode, *args, **kwargs)
        return Full(handle) if self.name == failing and "w" in mode else handle

    monkeypatch.setattr(Path, "open", open_)
    cache = tmp_path / "cache"
    with pytest.raises(FileError) as caught:
        download_archive(Archive("songs", (f"{download_server}/data.zip",), sums(FILES)), cache)
    assert str(caught.value) == (f"cannot write the songs data in {cache}: No space left on "
                                 "device")
    assert list(cache.iterdir()) == []


def test_a_full_disk_midway_through_compose_leaves_no_partial_set(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Tune 1's MIDI and WAV are written, tune 2's WAV meets a full disk: the new files go, a
    file that existed before (replaced with --force) stays."""
    import wave

    kept = tmp_path / "t-1.mid"
    kept.write_bytes(b"the user's file")
    real_open, calls = wave.open, [0]

    def open_(handle: Any, mode: str | None = None) -> Any:
        calls[0] += mode == "wb"  # WAVs written (FluidSynth's output is read with "rb")
        if mode == "wb" and calls[0] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(handle, mode)

    monkeypatch.setattr(wave, "open", open_)
    code, _, err = cli(capsys, "compose", "--runs", tmp_path / "no-runs", "--out",
                       tmp_path / "t.mid", "-n", "2", "--wav", "--force")
    assert code == 1
    assert one_error(err) == f"error: cannot write {tmp_path / 't-2.wav'}: No space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t-1.mid"]


def test_run_markers_decide_what_is_a_run_and_what_is_finished(tmp_path: Path) -> None:
    from seqgan_music.io.runs import is_finished, resume_target, write_run_marker

    run = tmp_path / "runs" / "nottingham" / "a"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "latest.pt").write_bytes(b"x")
    assert not is_run_dir(run)  # neither a marker nor config.toml
    write_run_marker(run, "nottingham")
    assert is_run_dir(run) and not is_finished(run)
    (run / "model.safetensors").write_bytes(b"x")  # e.g. a resumed run still training
    assert not is_finished(run) and latest_run(tmp_path / "runs", finished=True) is None
    write_run_marker(run, "nottingham", finished=True)
    assert is_finished(run) and latest_run(tmp_path / "runs", finished=True) == run
    (run / "run.json").write_text('{"format": "something else"}')
    assert not is_run_dir(run)  # a foreign marker is not ours

    write_run_marker(run, "nottingham")
    latest = run / "checkpoints" / "latest.pt"
    assert resume_target(run) == (latest, run)
    assert resume_target(run / "checkpoints") == (latest, run)
    assert resume_target(latest) == (latest, run)
    stray = tmp_path / "elsewhere" / "checkpoints" / "latest.pt"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    assert resume_target(stray) == (stray, None)  # its grandparent is no run


# Issue 23: files the studio reads, shipped model bytes, FIFOs ---------------------------------


def _studio(tmp_path: Path) -> Any:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from seqgan_music.studio.app import Studio, create_app

    studio = Studio(runs=tmp_path / "runs", hosts=("testserver",), work=tmp_path / "work")
    studio.work.mkdir()
    client = TestClient(create_app(studio))
    client.headers["X-Studio-Token"] = studio.token
    client.studio = studio  # type: ignore[attr-defined]
    return client


def _fake_run(runs: Path, task: str = "oracle", stamp: str = "20260101-000000") -> Path:
    import json

    run = runs / task / stamp
    (run / "samples").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"format": "seqgan-music-run", "task": task,
                                              "created": "2026-01-01T00:00:00",
                                              "finished": False}))
    (run / "samples" / "seqgan.txt").write_text("1 2 3\n")
    return run


@pytest.mark.parametrize("name", ["train.log", "figures.json", "metrics.jsonl",
                                  "samples/seqgan.txt", "config.toml"])
def test_the_studio_never_reads_through_a_link_out_of_the_runs_folder(tmp_path: Path,
                                                                      name: str) -> None:
    """Issue 23, class 2: every file of a run is read through the guarded open."""
    client = _studio(tmp_path)
    run = _fake_run(client.studio.runs)
    secret = tmp_path / "secret.txt"
    secret.write_text('{"figures": "TOPSECRET"}\n')
    (run / name).unlink(missing_ok=True)
    (run / name).symlink_to(secret)
    detail = client.get("/api/run", params={"id": "oracle/20260101-000000"})
    assert detail.status_code == 200 and "TOPSECRET" not in detail.text
    served = client.get("/api/run/file", params={"id": "oracle/20260101-000000", "path": name})
    assert served.status_code in (403, 404) and "TOPSECRET" not in served.text
    assert "TOPSECRET" not in client.get("/api/runs").text
    client.studio.close()


def test_the_studio_refuses_a_run_model_that_links_out(tmp_path: Path) -> None:
    from seqgan_music.music import zoo

    client = _studio(tmp_path)
    run = _fake_run(client.studio.runs, "nottingham")
    (run / "model.safetensors").symlink_to(zoo.default_model().path)
    response = client.post("/api/compose", json={"model": "run:nottingham/20260101-000000"})
    assert response.status_code == 403 and "symbolic link" in response.json()["error"]
    client.studio.close()


@pytest.mark.parametrize("name", ["run.json", ".lock", "metrics.jsonl", "train.log",
                                  "figures.json", "samples/seqgan.txt"])
def test_a_fifo_in_the_runs_folder_never_blocks_the_studio(tmp_path: Path, name: str) -> None:
    """Issue 23, class 13: only regular files are opened (a FIFO would block the open for
    ever: this test would hang, not fail, if one were opened)."""
    client = _studio(tmp_path)
    run = _fake_run(client.studio.runs)
    (run / name).unlink(missing_ok=True)
    os.mkfifo(run / name)
    for path in ("/api/runs", "/api/train/status", "/api/models"):
        assert client.get(path).status_code == 200, path
    detail = client.get("/api/run", params={"id": "oracle/20260101-000000"})
    assert detail.status_code in (200, 404)
    served = client.get("/api/run/file", params={"id": "oracle/20260101-000000", "path": name})
    assert served.status_code in (403, 404)
    client.studio.close()


def test_guarded_open_refuses_links_fifos_folders_and_escapes(tmp_path: Path) -> None:
    from seqgan_music.io.safe_io import open_regular, read_bytes

    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "ok.txt").write_text("fine")
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    (root / "link.txt").symlink_to(outside)
    (root / "inner-link.txt").symlink_to(root / "ok.txt")
    (root / "up").symlink_to(tmp_path)
    os.mkfifo(root / "fifo")
    assert read_bytes(root / "ok.txt", root) == b"fine"
    for path, words in ((root / "link.txt", "symbolic link"), (root / "inner-link.txt", "link"),
                        (root / "up" / "outside.txt", "up is a symbolic link"),
                        (root / "fifo", "FIFO"), (root / ".." / "outside.txt", "leads out"),
                        (root / "sub", "folder"), (root / "absent", "No such file")):
        with pytest.raises(FileError, match=words):
            open_regular(path, root)
    with pytest.raises(FileError, match="more than the 2 read at most"):
        read_bytes(root / "ok.txt", root, limit=2)


def test_a_changed_byte_in_a_shipped_model_is_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """Issue 23, class 3: a shipped model's bytes are checked against its card at load."""
    from seqgan_music.music import zoo

    package = tmp_path / "pretrained"
    shutil.copytree(zoo._pretrained_dir(), package)
    monkeypatch.setattr(zoo, "_pretrained_dir", lambda: package)
    model = zoo.find_shipped("nottingham-paper")
    code, _, err = cli(capsys, "compose", "--model", "nottingham-paper", "--out",
                       tmp_path / "a.mid")
    assert code == 0, err
    data = bytearray(model.path.read_bytes())
    data[-3] ^= 0x01  # one bit of one weight
    model.path.write_bytes(bytes(data))
    for args in (["compose", "--model", "nottingham-paper", "--out", tmp_path / "b.mid"],
                 ["compose", "--model", model.path, "--out", tmp_path / "c.mid"],
                 ["generate", "--model", model.path]):
        code, _, err = cli(capsys, *args)
        assert code == 1 and "is damaged or altered" in one_error(err), err
    assert not (tmp_path / "b.mid").exists() and not (tmp_path / "c.mid").exists()


def test_every_shipped_model_matches_its_card() -> None:
    import hashlib

    from seqgan_music.app.inference import read_model
    from seqgan_music.music import zoo

    models = zoo.shipped_models()
    assert models
    for model in models:
        assert hashlib.sha256(model.path.read_bytes()).hexdigest() == model.card["sha256"]
        read_model(model.path)  # the check passes


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_studio_removes_its_temporary_folder_on_sigterm(tmp_path: Path, signum: int) -> None:
    """Issue 23, class 9: a service manager's SIGTERM ends the studio through its clean-up."""
    temp = tmp_path / "temp"
    temp.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "seqgan_music", "studio", "--no-browser", "--port", "0",
         "--runs", str(tmp_path / "runs")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "TMPDIR": str(temp)})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the temporary folder exists
        assert line.startswith("seqgan-music studio: "), line + process.stderr.read()
        assert [p.name[:14] for p in temp.iterdir()] == ["seqgan-studio-"]
        process.send_signal(signum)
        try:  # a studio that ignores the signal fails the test instead of hanging the suite
            out, err = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"the studio kept running after {signal.Signals(signum).name}: {err}")
        assert process.returncode == 0, err
        assert "Traceback" not in err and "studio stopped" in out
        assert list(temp.iterdir()) == []
    finally:
        if process.poll() is None:
            process.kill()


def test_the_studio_handles_ctrl_c_itself_before_uvicorn_does() -> None:
    """With Python's own SIGINT handler in place, asyncio's runner swaps in one that only
    cancels its main task: a Ctrl-C landing before uvicorn took the signals over cancelled
    uvicorn's start-up and the studio went on serving (1 start in 30 in a loop). The studio's
    handler is in place from before the server starts and raises KeyboardInterrupt."""
    from seqgan_music.studio import _stop_on_signals

    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        previous = _stop_on_signals()
        try:
            handler = signal.getsignal(signal.SIGINT)
            assert callable(handler) and handler is not signal.default_int_handler
            with pytest.raises(KeyboardInterrupt):
                handler(signal.SIGINT, None)
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # ignored by the parent: left ignored
        previous = _stop_on_signals()
        for signum, old in previous.items():
            signal.signal(signum, old)
        assert signal.SIGINT not in previous
    finally:
        signal.signal(signal.SIGINT, outer)


def test_uploads_are_capped_in_number_and_total_bytes(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 23, class 9: a launch keeps a bounded number and size of uploads."""
    from seqgan_music.studio import app as studio_app

    client = _studio(tmp_path)
    midi = b"MThd" + bytes(200)
    monkeypatch.setattr(studio_app, "MAX_UPLOADS", 3)
    for i in range(3):
        assert client.post(f"/api/upload?kind=primer&name={i}.mid",
                           content=midi).status_code == 200
    refused = client.post("/api/upload?kind=primer&name=4.mid", content=midi)
    assert refused.status_code == 413 and "at most 3 uploads" in refused.json()["error"]
    monkeypatch.setattr(studio_app, "MAX_UPLOADS", 100)
    monkeypatch.setattr(studio_app, "UPLOAD_TOTAL", 3 * len(midi) + 100)
    refused = client.post("/api/upload?kind=primer&name=5.mid", content=midi)
    assert refused.status_code == 413 and "bytes of them" in refused.json()["error"]
    assert len(list((client.studio.work / "uploads").iterdir())) == 3
    client.studio.close()


class _FakeProcess:
    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        return 0


def test_a_studio_job_finds_its_own_run_never_another_studios(tmp_path: Path) -> None:
    """Issue 23, class 8: the run of a job is the one whose lock names its process."""
    from seqgan_music.studio.jobs import Job, TrainingJobs

    runs = tmp_path / "runs"
    mine, theirs = runs / "oracle" / "20260101-000001", runs / "oracle" / "20260101-000002"
    for run, pid in ((mine, "4242"), (theirs, "777")):
        run.mkdir(parents=True)
        (run / ".lock").write_text(pid)
    os.utime(theirs, (2e9, 2e9))  # the newer one is the other studio's
    jobs = TrainingJobs(runs, tmp_path)
    log = tmp_path / "job.log"
    log.write_text("MLE pre-training: 2 steps\n")
    job = Job(["python"], "oracle", "quick", "seqgan", log, _FakeProcess(4242),  # type: ignore
              "now", 0.0)
    jobs.job = job
    status = jobs.status()
    assert status["run"] == "oracle/20260101-000001"
    assert (mine / "train.log").read_text() == "MLE pre-training: 2 steps\n"
    assert not (theirs / "train.log").exists()


def test_two_studios_on_one_runs_folder_never_train_at_once(tmp_path: Path) -> None:
    """Issue 23, class 8: the training lock of a runs folder, held by the training itself."""
    from seqgan_music.errors import ConfigError
    from seqgan_music.studio.jobs import TrainingJobs
    from tests.test_studio import tiny_train_overrides

    runs = tmp_path / "runs"
    first = TrainingJobs(runs, tmp_path, tiny_train_overrides(epochs=100000))
    second = TrainingJobs(runs, tmp_path, tiny_train_overrides(epochs=100000))
    job = first.start(task="oracle", preset="quick", method="seqgan", data=None, seed=None)
    try:
        with pytest.raises(ConfigError, match="another studio"):
            second.start(task="oracle", preset="quick", method="seqgan", data=None, seed=None)
        assert second.job is None
    finally:
        job.process.kill()
        job.process.wait()
    first.status()  # the first studio sees its training end and lets the lock go
    from seqgan_music.studio.jobs import _take_lock

    lock = _take_lock(runs / ".studio" / "train.lock")
    assert lock is not None
    os.close(lock)


# Issue 23, classes 5 and 6: kill -9 mid-write, then --resume -------------------------------

KILL_AT = """
import os, signal, sys
import torch
real, seen = torch.save, [0]
def save(obj, handle, *args, **kwargs):
    if sys.argv[1] in os.path.basename(str(getattr(handle, "name", handle))):
        seen[0] += 1
        if seen[0] == int(sys.argv[2]):  # the Nth matching write: half of it, then kill -9
            handle.write(b"PK half a checkpoint")
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    return real(obj, handle, *args, **kwargs)
torch.save = save
from seqgan_music.cli import main
main(sys.argv[3:])
"""
SEQGAN_TINY = [*TINY_ORACLE_FLAGS, "--seed", "3", "--set", "train.checkpoint_every=1",
               "--set", "threads=1"]


def killed_training(root: Path, name: str, nth: int) -> Path:
    """`train oracle` (tiny SeqGAN) killed with SIGKILL in the middle of the `nth` write of a
    file named like `name`; returns its run directory."""
    result = subprocess.run(
        [sys.executable, "-c", KILL_AT, f".{name}.", str(nth), "train", "oracle",
         *SEQGAN_TINY, "--out", str(root)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert result.returncode == -signal.SIGKILL, result.stderr
    (run,) = (root / "oracle").iterdir()
    return run


def generator_of(path: Path) -> dict[str, Any]:
    from seqgan_music.app.inference import read_model

    return read_model(path).weights


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny SeqGAN run, never interrupted."""
    root = tmp_path_factory.mktemp("reference") / "runs"
    try:
        main(["train", "oracle", *SEQGAN_TINY, "--out", str(root)])
    except SystemExit as done:
        assert not done.code
    (run,) = (root / "oracle").iterdir()
    return run


def _assert_same_model(run: Path, reference: Path) -> None:
    import numpy as np

    mine, theirs = generator_of(run / "model.safetensors"), generator_of(
        reference / "model.safetensors")
    assert sorted(mine) == sorted(theirs)
    assert all(np.array_equal(mine[k], theirs[k]) for k in mine)


def test_kill_while_mle_pt_is_written_then_resume_keeps_the_mle_row(
        tmp_path: Path, reference_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    run = killed_training(tmp_path / "runs", "mle.pt", 1)
    assert not (run / "checkpoints" / "mle.pt").exists() and temporary_files(run)
    code, out, err = cli(capsys, "train", "oracle", "--resume", run)
    assert code == 0, err
    assert (run / "checkpoints" / "mle.pt").is_file()
    assert temporary_files(run) == []  # the half-written file is gone
    figures = json.loads((run / "figures.json").read_text())
    assert set(figures["figures"]) == {"MLE", "SeqGAN"}
    _assert_same_model(run, reference_run)


def test_kill_while_latest_pt_is_written_then_resume_cleans_and_finishes(
        tmp_path: Path, reference_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = killed_training(tmp_path / "runs", "latest.pt", 4)  # in D pre-training
    assert [p.name.startswith(".latest.pt.") for p in temporary_files(run)] == [True]
    code, out, err = cli(capsys, "train", "oracle", "--resume", run)
    assert code == 0, err
    assert "removed 1 temporary file" in out + err
    assert temporary_files(run) == []
    _assert_same_model(run, reference_run)


@pytest.mark.parametrize("kill_at, rebuilt", [(3, True), (6, False)])
def test_a_lost_mle_pt_is_rebuilt_or_said(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          kill_at: int, rebuilt: bool) -> None:
    """A run of an older version that lost mle.pt: rebuilt while the generator is still the
    MLE model (D pre-training), else a warning and a note in figures.json."""
    import json

    run = killed_training(tmp_path / "runs", "latest.pt", kill_at)
    (run / "checkpoints" / "mle.pt").unlink()
    code, out, err = cli(capsys, "train", "oracle", "--resume", run)
    assert code == 0, err
    figures = json.loads((run / "figures.json").read_text())
    if rebuilt:
        assert "rebuilt checkpoints/mle.pt" in out + err and "no MLE row" not in out + err
        assert set(figures["figures"]) == {"MLE", "SeqGAN"}
    else:  # said in the table's note (and a warning line), and in figures.json
        assert "no MLE row: checkpoints/mle.pt is missing" in " ".join(out.split())
        assert set(figures["figures"]) == {"SeqGAN"}
        assert "no MLE row: checkpoints/mle.pt is missing" in figures["evaluation"]


def test_the_next_write_in_a_folder_removes_temporaries_of_dead_writers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A killed compose's temporary file goes with the next write in that folder; a live
    process's (this one's) and a foreign-looking file stay."""
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = out / f".t.mid.{dead}-abcdefgh.tmp"
    live = out / f".u.mid.{os.getpid()}-abcdefgh.tmp"
    other = out / "notes.tmp"
    for path in (stale, live, other):
        path.write_bytes(b"x")
    code, _, err = cli(capsys, "compose", "--out", out / "t.mid")
    assert code == 0, err
    assert not stale.exists() and live.exists() and other.exists()


def test_a_compose_into_a_folder_being_written_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23, class 7: the output set is checked and written under the folder's lock."""
    from seqgan_music.io.safe_io import output_lock

    out = tmp_path / "o"
    with output_lock(out):  # another compose, half-way through
        code, _, err = cli(capsys, "compose", "--out", out / "t.mid", "-n", "2")
    assert code == 1 and "being written by another seqgan-music process" in one_error(err)
    assert list(out.iterdir()) == []
    assert cli(capsys, "compose", "--out", out / "t.mid", "-n", "2", "--seed", "1")[0] == 0
    code, _, err = cli(capsys, "compose", "--out", out / "t.mid", "-n", "2", "--seed", "2")
    assert code == 1 and "exists" in one_error(err)


def test_two_composes_into_one_folder_never_mix_their_tunes(tmp_path: Path) -> None:
    """The issue's repro: two processes at once; one writes its whole set, the other is
    refused in one line (whichever order they ran in)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "seqgan_music", "compose", "--out", "o/t.mid", "-n", "6",
               "--model", "nottingham-paper"]
    processes = [subprocess.Popen([*command, "--seed", str(seed)], cwd=tmp_path, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for seed in (1, 2)]
    results = [(p.wait(), p.communicate()) for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    (loser,) = [err for code, (_, err) in results if code == 1]
    assert len([line for line in loser.splitlines() if line.startswith("error:")]) == 1
    winner = 1 if results[0][0] == 0 else 2
    expected = tmp_path / "expected"
    subprocess.run([*command[:5], str(expected / "t.mid"), *command[6:], "--seed", str(winner)],
                   env=env, check=True, capture_output=True)
    written = sorted((tmp_path / "o").iterdir())
    assert [p.name for p in written] == [f"t-{i}.mid" for i in range(1, 7)]
    assert all(p.read_bytes() == (expected / p.name).read_bytes() for p in written)


# Issue 23, classes 10, 12 and 15: hostile corpora ------------------------------------------


def test_names_that_are_not_utf8_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """Class 10: file and folder names in another encoding (downloaded archives)."""
    from seqgan_music.music.corpus import MusicOptions, _corpus_key, build_music_corpus

    folder = random_tunes(tmp_path / "tunes", num=6, steps=60)
    raw = os.fsencode(folder)
    os.mkdir(raw + b"/caf\xe9")
    for i, path in enumerate(sorted(folder.glob("*.mid"))[:3]):
        os.rename(os.fsencode(path), raw + b"/caf\xe9/tune\xff%d.mid" % i)
    (folder / "caf\udce9" / "broken\udcff.mid").write_bytes(b"MThd junk")
    monkeypatch.setenv("SEQGAN_MUSIC_CACHE", str(tmp_path / "cache"))
    with pytest.warns(Warning):  # the broken file is skipped and counted, its name shown
        data = build_music_corpus([folder], "t", MusicOptions(), 16, use_cache=True)
    assert len(data.train) + len(data.valid) + len(data.test) > 0
    files = sorted(folder.rglob("*.mid"))
    assert _corpus_key(files, MusicOptions(), 16)  # the cache key of such names


def test_an_unreadable_subfolder_of_a_corpus_is_warned_about(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """Class 15: never skipped silently (a permission error is simulated: tests may run as
    root, who reads everything)."""
    from seqgan_music.errors import DataWarning
    from seqgan_music.music import corpus

    folder = random_tunes(tmp_path / "tunes", num=2, steps=40)
    (folder / "locked").mkdir()
    (folder / "locked" / "x.mid").write_bytes((folder / "tune0.mid").read_bytes())
    real = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path).name == "locked":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(path)

    monkeypatch.setattr(corpus.os, "scandir", scandir)
    with pytest.warns(DataWarning, match=r"skipped 1 folder\(s\) .* cannot be read, e.g. "
                                         r".*locked \(Permission denied\)"):
        files, _ = corpus.find_music_files(folder)
    assert [p.name for p in files] == ["tune0.mid", "tune1.mid"]


def test_a_huge_midi_file_is_refused_before_it_is_parsed(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Class 15: a size check first (a 50 MB file of millions of notes took minutes)."""
    import pretty_midi

    from seqgan_music.music import readers
    from seqgan_music.music.corpus import read_file

    path = random_tunes(tmp_path / "tunes", num=1, steps=400) / "tune0.mid"
    monkeypatch.setattr(readers, "MAX_MIDI_BYTES", path.stat().st_size - 1)
    parsed = []
    monkeypatch.setattr(pretty_midi, "PrettyMIDI", lambda *a, **k: parsed.append(a))
    with pytest.raises(readers.UnusableFile, match="larger than any melody file"):
        read_file(path, 0.4, "auto")
    assert parsed == []  # refused before any parsing


@pytest.mark.parametrize("meter", ["M:1000000/1", "M:1024/4", "M:4/3", "M:99+99/8",
                                   "M:2+2+2+2+2/8", "L:1/1000000", "M:6/8\nK:G\n[M:512/4]"])
def test_abc_meters_are_checked_before_music21_sees_them(meter: str,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Class 12: a meter music21 would expand without end never reaches it."""
    import music21

    from seqgan_music.music import readers

    parsed = []
    monkeypatch.setattr(music21.converter, "parseData", lambda *a, **k: parsed.append(a))
    text = f"X:1\nT:t\n{meter}\nL:1/8\nK:G\nGABc dedB|\n"
    with pytest.raises(readers.UnusableFile, match="meter|unit note length"):
        readers.abc_melody_notes(text)
    assert parsed == []


def test_folk_meters_pass_and_additive_ones_are_summed() -> None:
    from seqgan_music.music.readers import abc_melody_notes, check_abc_tune

    for meter in ("M:6/8", "M:9/8", "M:12/8", "M:C", "M:C|", "M:none", "M:2/2", "M:3/2"):
        assert check_abc_tune(f"X:1\n{meter}\nK:G\nGAB|\n")
    assert check_abc_tune("X:1\nM:3+3+2/8\nK:G\nAB [M:(2+3)/8] c|") == \
        "X:1\nM:8/8\nK:G\nAB [M:5/8] c|"
    notes = abc_melody_notes("X:1\nT:t\nM:3+3+2/8\nL:1/8\nK:G\nGAB cde fg|\n")
    assert [p for _, _, p in notes] == [67, 69, 71, 72, 74, 76, 78, 79]


def test_an_abc_tune_of_too_many_notes_is_refused_early(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    from seqgan_music.music import readers

    monkeypatch.setattr(readers, "MAX_ABC_NOTES", 100)
    with pytest.raises(readers.UnusableFile, match="notes: more than any tune"):
        readers.check_abc_tune("X:1\nM:4/4\nK:G\n" + "GABc dedB|" * 20)


def test_an_exported_model_folder_is_checked_against_its_card(
        trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23, class 3, beyond the shipped models: an exported folder's README.md records
    the weights' sha256, checked at load."""
    from seqgan_music.music.zoo import read_folder_card

    folder = tmp_path / "mine"
    assert cli(capsys, "export", "--model", trained_run, "--out", folder)[0] == 0
    card = read_folder_card(folder)
    weights = folder / "model.safetensors"
    assert card["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert cli(capsys, "generate", "--model", folder, "-n", "2")[0] == 0
    data = bytearray(weights.read_bytes())
    data[-2] ^= 0x01
    weights.write_bytes(bytes(data))
    code, _, err = cli(capsys, "generate", "--model", folder, "-n", "2")
    assert code == 1 and "is damaged or altered" in one_error(err)
