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
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seqgan_music.cli import main
from seqgan_music.errors import FileError
from seqgan_music.runs import (
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
         "from seqgan_music.runs import run_lock\n"
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
    from seqgan_music.music.compose import pretrained_model

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
    import seqgan_music.pipeline as pipeline

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
    from seqgan_music.data import Archive, download_archive

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
    from seqgan_music.runs import is_finished, resume_target, write_run_marker

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
