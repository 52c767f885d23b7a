"""Data-parallel training on torch.distributed: the one module that knows ranks and groups.

A run started by `torchrun --nproc-per-node N -m seqgan_music train ...` (or by
`seqgan-music train ... --nproc N`, which starts the same elastic agent) has N processes. Each
holds the whole model; `setup()` joins the process group that torchrun's environment describes
(gloo on CPU, NCCL on CUDA) and makes every rank start from rank 0's weights. Training then splits
each *global* batch across ranks and averages gradients, so a step means the same for any N:

- `local_share(index)`: the rows of a global batch this rank computes (rows rank, rank+N, ...).
- `reduce_step(model, loss, weight)`: sums weight * gradient (and weight * loss) over ranks in
  one all-reduce, the equivalent of DistributedDataParallel's bucketed all-reduce; weight is
  the rank's share of the global batch for a mean loss, 1 for a sum loss.
- `broadcast_order`: every shuffle is rank 0's, so all ranks agree on each global batch.
- `gather_rows`: pieces made in parallel (negatives for D) joined in rank order on every rank.
- `sum_values` / `batch_mean`: metrics and baselines over the global batch.

With one process (no torchrun environment) every function returns its input unchanged and no
collective runs: a single-process run is bit-identical to one without this module.

What changes with N: random streams. Rank 0 draws from the seeded streams of a one-process run;
rank r > 0 from seed + r * RANK_SEED_STRIDE; samples (generator batches, roll-outs, negatives,
scheduled-sampling coins) are drawn per rank on its rows, so the trajectory differs from a
one-process run by those draws and by floating-point summation order, never by hyper-parameters.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import torch

RANK_SEED_STRIDE = 1_000_003  # rank r's streams are seeded with seed + r * this
TIMEOUT_S = 3600  # a collective waits this long for a silent rank (rank 0 evaluating), then fails


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


_WORLD = World()


def world() -> World:
    return _WORLD


def active() -> bool:
    """Whether more than one process takes part in training."""
    return _WORLD.size > 1


def is_main() -> bool:
    """Rank 0, the one process that writes files and reports progress."""
    return _WORLD.rank == 0


def launched() -> bool:
    """Whether torchrun's environment (WORLD_SIZE, RANK) describes more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def setup(device: str) -> World:
    """Join the process group torchrun's environment describes; a no-op without one.

    Returns the world; `device` ("cpu", "cuda", "auto") chooses the backend: NCCL for CUDA,
    gloo otherwise. On CUDA each process uses GPU LOCAL_RANK.
    """
    global _WORLD
    if not launched() or _WORLD.size > 1:
        return _WORLD
    import torch.distributed as dist

    from seqgan_music.errors import ConfigError

    rank = int(os.environ.get("RANK", "0"))
    size = int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        if local >= torch.cuda.device_count():
            raise ConfigError(f"rank {rank} has local rank {local} but this machine has "
                              f"{torch.cuda.device_count()} GPU(s); start at most that many "
                              "processes per node")
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo",
                                timeout=datetime.timedelta(seconds=TIMEOUT_S))
    _WORLD = World(rank, size, local)
    return _WORLD


def teardown() -> None:
    global _WORLD
    if _WORLD.size > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    _WORLD = World()


def device_for(device: torch.device) -> torch.device:
    """This rank's device: cuda:LOCAL_RANK for CUDA runs."""
    if active() and device.type == "cuda":
        return torch.device("cuda", _WORLD.local_rank)
    return device


def rank_seed(seed: int) -> int:
    """The seed of this rank's random streams (rank 0: `seed` itself)."""
    return (seed + _WORLD.rank * RANK_SEED_STRIDE) % 2**63


def local_share(index: torch.Tensor) -> torch.Tensor:
    """This rank's rows of a global batch: rows rank, rank + N, ... (all of it with one)."""
    if not active():
        return index
    return index[_WORLD.rank :: _WORLD.size]


def local_count(total: int) -> int:
    """How many of `total` rows `local_share` gives this rank."""
    if not active():
        return total
    return len(range(_WORLD.rank, total, _WORLD.size))


def broadcast_order(order: torch.Tensor) -> torch.Tensor:
    """Rank 0's shuffle on every rank (an index permutation, any device)."""
    if not active():
        return order
    import torch.distributed as dist

    dist.broadcast(order, src=0)
    return order


def broadcast_parameters(*modules: torch.nn.Module) -> None:
    """Rank 0's weights and buffers on every rank (what DDP does when it wraps a model)."""
    if not active():
        return
    import torch.distributed as dist

    with torch.no_grad():
        for module in modules:
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)


def reduce_step(model: torch.nn.Module, loss: torch.Tensor, weight: float) -> float:
    """Replace every gradient of `model` by sum over ranks of weight * gradient and return
    sum over ranks of weight * loss: one all-reduce of one flat buffer.

    A rank with no rows passes weight 0: its gradient (possibly NaN from an empty mean) counts
    as zero. The returned loss is the same on every rank, so all of them agree on whether it is
    finite.
    """
    import torch.distributed as dist

    params = [p for p in model.parameters() if p.requires_grad]
    pieces = []
    for p in params:
        if p.grad is None or weight == 0:
            pieces.append(torch.zeros(p.numel(), device=p.device, dtype=p.dtype))
        else:
            pieces.append(p.grad.reshape(-1) * weight)
    value = loss.detach().float().reshape(1) * weight if weight else loss.new_zeros(1).float()
    flat = torch.cat([*pieces, value.to(pieces[0].dtype if pieces else torch.float32)])
    dist.all_reduce(flat)
    offset = 0
    for p in params:
        size = p.numel()
        chunk = flat[offset : offset + size].view_as(p)
        if p.grad is None:
            p.grad = chunk.clone()
        else:
            p.grad.copy_(chunk)
        offset += size
    return float(flat[-1])


def sum_values(*values: float) -> list[float]:
    """Each value summed over ranks (float64; the same list on every rank)."""
    if not active():
        return list(values)
    import torch.distributed as dist

    buffer = torch.tensor(values, dtype=torch.float64)
    if torch.distributed.get_backend() == "nccl":
        buffer = buffer.cuda()
    dist.all_reduce(buffer)
    return [float(v) for v in buffer.cpu()]


def batch_mean(rows: torch.Tensor) -> torch.Tensor:
    """Mean over dim 0 of the global batch whose local rows are `rows`."""
    if not active():
        return rows.mean(dim=0, keepdim=True)
    import torch.distributed as dist

    total = torch.cat([rows.sum(dim=0).reshape(-1).double(),
                       torch.tensor([float(len(rows))], dtype=torch.float64,
                                    device=rows.device)])
    dist.all_reduce(total)
    mean = (total[:-1] / total[-1]).to(rows.dtype)
    return mean.reshape(1, *rows.shape[1:])


def gather_rows(rows: torch.Tensor, total: int) -> torch.Tensor:
    """The global (total, ...) tensor whose rows `local_share` would give each rank `rows`:
    row i of the result is row i // N of rank i % N."""
    if not active():
        return rows
    import torch.distributed as dist

    size = _WORLD.size
    most = local_count_of(0, total)
    padded = rows.new_zeros((most, *rows.shape[1:]))
    padded[: len(rows)] = rows
    parts = [torch.empty_like(padded) for _ in range(size)]
    dist.all_gather(parts, padded)
    out = rows.new_empty((total, *rows.shape[1:]))
    for rank, part in enumerate(parts):
        count = local_count_of(rank, total)
        out[rank::size] = part[:count]
    return out


def local_count_of(rank: int, total: int) -> int:
    return len(range(rank, total, _WORLD.size))


def barrier() -> None:
    if active():
        import torch.distributed as dist

        dist.barrier()


def backend() -> str:
    import torch.distributed as dist

    return str(dist.get_backend()) if dist.is_initialized() else "none"


def check_batch(batch_size: int) -> None:
    """Every process needs at least one row of each global batch."""
    from seqgan_music.errors import ConfigError

    if batch_size < _WORLD.size:
        raise ConfigError(f"train.batch_size = {batch_size} is smaller than the number of "
                          f"processes ({_WORLD.size}); the batch is global and split across "
                          "them: use a batch of at least one row per process")


def peer_lost_message(error: BaseException) -> str:
    """One line for a collective that failed because another process stopped."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    reason = text.rsplit("] ", 1)[-1].split(". ")[0][:120]  # gloo: "[file:line] Read error ..."
    return (f"distributed training stopped on rank {_WORLD.rank}: another process of the run "
            f"stopped or was killed ({reason}).")


def is_peer_lost(error: BaseException) -> bool:
    """Whether `error` is a collective failing because another process went away."""
    import torch.distributed as dist

    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    text = str(error).lower()
    return active() and any(word in text for word in (
        "gloo", "nccl", "connection", "peer", "timed out", "broken pipe"))


def without_nproc(argv: list[str]) -> list[str]:
    """Command-line arguments with `--nproc N` / `--nproc=N` removed."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


MAX_LOCAL_PROCESSES = 256
RUN_NOTE = "SEQGAN_MUSIC_RUN_NOTE"  # file where rank 0 of a `--nproc` run notes its run directory


def note_run_dir(run_dir: Path) -> None:
    """Rank 0 of a `--nproc` run tells the launcher where its run directory is (so that the
    launcher's message names it when a process fails before rank 0 can say so itself)."""
    note = os.environ.get(RUN_NOTE)
    if note and is_main():
        with contextlib.suppress(OSError):  # only the message would lose the path
            Path(note).write_text(str(run_dir), encoding="utf-8")


def _resume_hint(note: Path) -> str:
    """What the launcher says about continuing, from rank 0's note of its run directory."""
    try:
        run_dir = Path(note.read_text(encoding="utf-8").strip())
    except OSError:
        return ("once training had begun, the run directory keeps the last checkpoint: "
                "continue with --resume RUN_DIR (any number of processes)")
    if (run_dir / "checkpoints" / "latest.pt").is_file():
        return (f"the last checkpoint is kept: continue with --resume {run_dir} "
                "(any number of processes)")
    return f"no checkpoint had been saved yet in {run_dir}"


def launch(nproc: int, argv: list[str]) -> None:
    """Run `python -m seqgan_music ARGV` in `nproc` processes on this machine, the way
    `torchrun --standalone --nproc-per-node NPROC` does (same elastic agent, a free port, every
    process stopped when one fails); raises a one-line TrainingError naming the failed rank.

    argv: the CLI arguments after the program name (a `train` command without --nproc).
    """
    from seqgan_music.errors import ConfigError, TrainingError

    if not 1 <= nproc <= MAX_LOCAL_PROCESSES:
        raise ConfigError(f"--nproc {nproc} is invalid; accepted: 1 .. {MAX_LOCAL_PROCESSES}")
    if launched():
        raise ConfigError("--nproc cannot be used inside torchrun; torchrun starts the "
                          "processes itself (drop --nproc)")
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # one line of ours
    if not os.environ.get("OMP_NUM_THREADS"):  # else torchrun gives every process 1 thread
        from seqgan_music.runtime.threads import available_cpus

        os.environ["OMP_NUM_THREADS"] = str(max(1, available_cpus() // nproc))  # cores / N
    args = get_args_parser().parse_args(
        ["--standalone", "--nproc-per-node", str(nproc), "--max-restarts", "0",
         "--module", "seqgan_music", *argv])
    import tempfile

    with tempfile.TemporaryDirectory(prefix="seqgan-music-") as folder:
        note = Path(folder) / "run-dir"  # rank 0 writes its run directory here
        os.environ[RUN_NOTE] = str(note)
        try:
            run(args)
        except ChildFailedError as error:
            # the process that failed first, not those the agent stopped after it (SIGTERM)
            rank, failure = min(error.failures.items(), key=lambda item: (
                item[1].exitcode == -signal.SIGTERM, item[1].timestamp, item[0]))
            how = (f"was killed by signal {failure.signal_name()}" if failure.exitcode < 0
                   else f"exited with code {failure.exitcode}")
            stopped = TrainingError(
                f"distributed training stopped: rank {rank} of {nproc} {how} and the other "
                f"processes were stopped; {_resume_hint(note)}")
            if failure.exitcode == 1:  # a handled error, its one line already printed above
                stopped.replicated = True  # type: ignore[attr-defined]
            raise stopped from None
        finally:
            os.environ.pop(RUN_NOTE, None)


def is_collective_error(error: BaseException) -> bool:
    """Errors every rank meets alike: a lost peer, a non-finite global loss."""
    text = str(error)
    return "another process of the run stopped" in text or "non-finite loss" in text


def mark_replicated(error: BaseException) -> None:
    """On ranks > 0 of a torchrun run, mark an error that rank 0 reports as well (checks of the
    same config and data before training, collective failures): the CLI exits 1 quietly.
    Errors of this rank alone arrive prefixed with "rank N:" and stay loud."""
    rank = int(os.environ.get("RANK", "0") or 0)
    if launched() and rank > 0 and not str(error).startswith(f"rank {rank}:"):
        error.replicated = True  # type: ignore[attr-defined]
