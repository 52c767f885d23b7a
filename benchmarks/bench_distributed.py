"""Throughput of data-parallel training with 1, 2, ... processes on this machine.

Runs `seqgan-music train oracle` (random oracle, V = 5,000, T = 20, 2,000 training sequences,
global batch 64, 16 roll-outs: the paper's synthetic setting, shortened) with `--nproc N` and one
torch thread per process, and reads the per-step seconds from the run's metrics:
MLE sequences per second (training sequences / epoch seconds) and adversarial steps per second
(one generator step with roll-outs + one D step over positives and fresh negatives).

    python benchmarks/bench_distributed.py [--nproc 1 2] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

NUM_TRAIN = 2000
FLAGS = [
    "--preset", "quick", "--seed", "1",
    "--set", f"task_options.num_train={NUM_TRAIN}", "--set", "task_options.num_valid=200",
    "--set", "task_options.num_test=200", "--set", "rollout.num_rollouts=16",
    "--set", "train.batch_size=64", "--set", "train.pretrain_epochs=3",
    "--set", "train.d_pretrain_steps=1", "--set", "train.adversarial_iterations=4",
    "--set", "train.num_eval_samples=200", "--set", "train.eval_every=100",
    "--set", "train.pg_bleu_references=200", "--set", "threads=1",
]


def run(nproc: int, device: str, root: Path) -> dict[str, float]:
    out = root / f"runs-{nproc}"
    result = subprocess.run([sys.executable, "-m", "seqgan_music", "train", "oracle", *FLAGS,
                             "--device", device, "--nproc", str(nproc), "--out", str(out)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    (run_dir,) = (out / "oracle").iterdir()
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    mle = [r["seconds"] for r in records if r.get("phase") == "mle" and "seconds" in r][1:]
    adv = [r["seconds"] for r in records if r.get("phase") == "adversarial" and "seconds" in r][1:]
    return {"mle_seq_s": NUM_TRAIN / statistics.median(mle),
            "adv_steps_s": 1 / statistics.median(adv),
            "nll_oracle": records[-1].get("nll_oracle", float("nan"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}; device {args.device}")
    print(f"{'procs':>5} {'MLE seq/s':>10} {'adv steps/s':>12} {'final NLL-oracle':>17}")
    with tempfile.TemporaryDirectory() as work:
        for nproc in args.nproc:
            row = run(nproc, args.device, Path(work))
            print(f"{nproc:>5} {row['mle_seq_s']:>10.0f} {row['adv_steps_s']:>12.3f} "
                  f"{row['nll_oracle']:>17.3f}", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
