"""Distributed training: two CPU processes with gloo (`train --nproc 2`, torchrun's agent)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqgan_music.runtime import distributed
from tests.conftest import TINY_ORACLE_FLAGS, random_tunes
from tests.test_cli import run
from tests.test_music_cli import TINY_MUSIC

# Final NLL-oracle of the tiny oracle run (seqgan, 16 evaluation samples), one process, seeds
# 1-6: 2.846 3.129 2.907 2.746 2.625 3.132 (standard deviation 0.20); two processes with the
# same seeds differed from one by 0.067 at most. BLEU-4 of the tiny tunes below (seqgan), one
# process, seeds 1-4: 0.0096 0.0090 0.0096 0.0128 (range 0.0038); two processes differed from
# one by 0.0025 at most (pg-bleu: 0.0006).
ORACLE_SPREAD = 0.20
BLEU_SPREAD = 0.004


def final_record(runs: Path, task: str) -> dict[str, float]:
    (run_dir,) = (runs / task).iterdir()
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return records[-1]


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_one_process_leaves_everything_as_it_is() -> None:
    index = torch.arange(7)
    assert not distributed.active() and distributed.is_main()
    assert distributed.local_share(index) is index
    assert distributed.local_count(7) == 7
    assert distributed.gather_rows(index, 7) is index
    assert distributed.rank_seed(5) == 5
    rows = torch.rand(5, 3)
    assert torch.equal(distributed.batch_mean(rows), rows.mean(dim=0, keepdim=True))


def test_nproc_is_taken_out_of_the_workers_arguments() -> None:
    assert distributed.without_nproc(["train", "oracle", "--nproc", "2", "--seed", "1"]) == [
        "train", "oracle", "--seed", "1"]
    assert distributed.without_nproc(["train", "--nproc=4", "oracle"]) == ["train", "oracle"]


@pytest.mark.slow
def test_two_processes_train_oracle_like_one(tmp_path: Path) -> None:
    flags = [*TINY_ORACLE_FLAGS, "--seed", "3"]
    one = run("train", "oracle", *flags, "--out", str(tmp_path / "one"), cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    before = files_under(tmp_path)
    two = run("train", "oracle", *flags, "--nproc", "2", "--out", str(tmp_path / "two"),
              cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    assert "distributed: 2 processes (gloo); global batch 8" in two.stdout
    assert two.stdout.count("run directory:") == 1  # rank 0 alone reports
    # rank 0 alone wrote: one run directory, nothing anywhere else
    (run_dir,) = (tmp_path / "two" / "oracle").iterdir()
    assert files_under(tmp_path) - before == files_under(tmp_path / "two")
    assert (run_dir / "checkpoints" / "latest.pt").is_file()
    assert json.loads((run_dir / "run.json").read_text())["finished"] is True
    # provenance tells the two runs of one seed apart: the process count and the command
    (two_said,) = json.loads((run_dir / "run.json").read_text())["provenance"]
    (one_said,) = json.loads(next((tmp_path / "one" / "oracle").iterdir()).joinpath(
        "run.json").read_text())["provenance"]
    assert (one_said["processes"], two_said["processes"]) == (1, 2)
    assert one_said["seed"] == two_said["seed"] == 3
    mle = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
           if '"phase": "mle"' in line][-1]
    mle_one = [json.loads(line) for line in next((tmp_path / "one" / "oracle").iterdir()).joinpath(
        "metrics.jsonl").read_text().splitlines() if '"phase": "mle"' in line][-1]
    # MLE: the same global batches in the same order; only summation order differs
    assert mle["nll_oracle"] == pytest.approx(mle_one["nll_oracle"], abs=1e-4)
    final, final_one = final_record(tmp_path / "two", "oracle"), final_record(tmp_path / "one",
                                                                              "oracle")
    assert final["step"] == final_one["step"] and final["phase"] == "adversarial"
    assert abs(final["nll_oracle"] - final_one["nll_oracle"]) < ORACLE_SPREAD


@pytest.mark.parametrize("method", ["seqgan", "pg-bleu", "ss"])
@pytest.mark.slow
def test_two_processes_train_music_like_one(tmp_path_factory: pytest.TempPathFactory,
                                            method: str) -> None:
    base = tmp_path_factory.mktemp("dist-music")
    tunes = random_tunes(base / "tunes", num=9, steps=70)
    flags = ["--data", str(tunes), *TINY_MUSIC, "--seed", "2", "--method", method,
             "--set", "train.batch_size=16", "--set", "train.pg_bleu_references=50"]
    two = run("train", "nottingham", *flags, "--nproc", "2", "--out", str(base / "two"),
              cwd=base)
    assert two.returncode == 0, two.stderr
    assert len(list((base / "two" / "nottingham").iterdir())) == 1
    final = final_record(base / "two", "nottingham")
    key = next(k for k in final if k.lower().startswith("bleu"))
    assert final["phase"] != "mle" and 0 <= final[key] <= 1
    if method == "seqgan":  # beside one process (the other methods: that they run)
        one = run("train", "nottingham", *flags, "--out", str(base / "one"), cwd=base)
        assert one.returncode == 0, one.stderr
        assert abs(final[key] - final_record(base / "one", "nottingham")[key]) < BLEU_SPREAD


def _rank_pids(marker: str, rank: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"SEQGAN_TEST_MARK={marker}".encode() in env and f"RANK={rank}".encode() in env:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
@pytest.mark.slow
def test_a_killed_rank_stops_the_job_and_the_checkpoint_resumes(tmp_path: Path) -> None:
    flags = [*TINY_ORACLE_FLAGS, "--seed", "4", "--set", "train.adversarial_iterations=60",
             "--set", "train.checkpoint_every=1"]
    env = {**os.environ, "SEQGAN_TEST_MARK": str(tmp_path)}
    job = subprocess.Popen([sys.executable, "-m", "seqgan_music", "train", "oracle", *flags,
                            "--nproc", "2", "--out", str(tmp_path / "runs")], cwd=tmp_path,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(
                (tmp_path / "runs").glob("oracle/*/checkpoints/latest.pt")):
            time.sleep(0.1)
        time.sleep(0.5)
        pids = _rank_pids(str(tmp_path), 1)
        assert pids, "rank 1 not found"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        out, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 1, out + err
    assert "rank 1 of 2 was killed by signal SIGKILL" in err
    assert "Traceback" not in err
    (run_dir,) = (tmp_path / "runs" / "oracle").iterdir()
    assert f"--resume {run_dir}" in err  # rank 0 names the checkpoint to continue from
    resumed = run("train", "oracle", "--resume", str(run_dir), cwd=tmp_path)  # one process now
    assert resumed.returncode == 0, resumed.stderr
    assert final_record(tmp_path / "runs", "oracle")["step"] == 60


@pytest.mark.slow
def test_a_bad_setting_is_one_line_from_all_processes(tmp_path: Path) -> None:
    result = run("train", "oracle", *TINY_ORACLE_FLAGS, "--set", "train.batch_size=1",
                 "--nproc", "2", "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: train.batch_size = 1 is smaller than the number of processes (2); "
                      "the batch is global and split across them: use a batch of at least one "
                      "row per process"], result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()


def _collectives_worker(rank: int, store: str, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    distributed._WORLD = distributed.World(rank, 2, rank)
    try:
        torch.manual_seed(0)  # the same data and model on both ranks
        data, model = torch.randn(5, 3), torch.nn.Linear(3, 1)
        index = torch.arange(5)
        local = distributed.local_share(index)  # 3 rows on rank 0, 2 on rank 1
        loss = model(data[local]).square().mean()
        loss.backward()
        value = distributed.reduce_step(model, loss, len(local) / len(index))
        results = {
            "rows": local.tolist(),
            "value": value,
            "grad": model.weight.grad.flatten().tolist(),
            "gathered": distributed.gather_rows(data[local], 5).tolist(),
            "mean": distributed.batch_mean(data[local]).flatten().tolist(),
            "sums": distributed.sum_values(float(rank), 1.0),
        }
        Path(out, f"rank{rank}.json").write_text(json.dumps(results))
    finally:
        distributed._WORLD = distributed.World()
        dist.destroy_process_group()


@pytest.mark.slow
def test_collectives_give_the_global_batch_on_uneven_shares(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_collectives_worker, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2)
    torch.manual_seed(0)
    data, model = torch.randn(5, 3), torch.nn.Linear(3, 1)
    loss = model(data).square().mean()
    loss.backward()
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["rows"] == [0, 2, 4] and ranks[1]["rows"] == [1, 3]
    for result in ranks:
        assert result["value"] == pytest.approx(float(loss.detach()), rel=1e-6)
        assert result["grad"] == pytest.approx(model.weight.grad.flatten().tolist(), rel=1e-5)
        assert torch.equal(torch.tensor(result["gathered"]), data)
        assert result["mean"] == pytest.approx(data.mean(dim=0).tolist(), abs=1e-6)
        assert result["sums"] == [1.0, 2.0]


@pytest.mark.slow
def test_torchrun_trains_a_text_plug_in_task_with_mle(tmp_path: Path) -> None:
    """The documented torchrun command itself, on the text task (a plug-in like any other)."""
    from tests.test_text import TINY_TEXT, sentences, write_lines

    data = write_lines(tmp_path / "mine.txt", sentences(120))
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "seqgan_music", "train", "text", "--data", str(data), "--tokenizer", "word",
         "--set", "data.seq_len=10", "--method", "mle", "--out", str(tmp_path / "runs"),
         *TINY_TEXT], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("run directory:") == 1 and "BLEU-2" in result.stdout
    (run_dir,) = (tmp_path / "runs" / "text").iterdir()
    assert final_record(tmp_path / "runs", "text")["phase"] == "mle"
    assert (run_dir / "model.safetensors").is_file()
