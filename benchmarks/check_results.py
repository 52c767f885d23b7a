"""Re-run the default Nottingham training and compare its figures with docs/results.md.

docs/results.md pins the figures of `seqgan-music train nottingham --seed 88 --set threads=1`
(the paper's music table on this code) in a comment block:

    <!-- pinned nottingham-default {"MLE": {"bleu4": ...}, "SeqGAN": {...}} -->

This script trains the same run in a temporary folder (about 5 minutes on a quiet 2-core CPU,
longer on a busy one), reads its `figures.json` and prints, for every pinned figure, the value
found and whether it is identical. It exits 1 when a figure differs. The suite does not run it
(too slow); run it after a change to training, sampling or the evaluators, on the machine kind
docs/results.md names (bf16 autocast and roll-out precision `auto` follow the CPU, so another
machine may give other digits).

    python benchmarks/check_results.py --data ../shared/data/nottingham [--threads 1]
        [--results docs/results.md] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nottingham"
PIN = re.compile(r"<!-- pinned nottingham-default (\{.*?\}) -->", re.S)


def pinned(results: Path) -> dict[str, dict[str, float]]:
    """The pinned figures of docs/results.md."""
    match = PIN.search(results.read_text(encoding="utf-8"))
    if match is None:
        raise SystemExit(f"{results} has no '<!-- pinned nottingham-default {{...}} -->' block")
    figures: dict[str, dict[str, float]] = json.loads(match.group(1))
    return figures


def train(data: Path, threads: int, out: Path) -> tuple[dict[str, dict[str, float]], float]:
    """Runs the default training; returns figures.json's figures and the wall time."""
    command = [sys.executable, "-m", "seqgan_music", "train", "nottingham", "--data", str(data),
               "--seed", "88", "--set", f"threads={threads}", "--out", str(out)]
    print("running:", " ".join(command[1:]), flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stderr.strip()}")
    (run_dir,) = [p for p in (out / "nottingham").iterdir() if p.is_dir()]
    figures = json.loads((run_dir / "figures.json").read_text())["figures"]
    return figures, seconds


def compare(expected: dict[str, dict[str, float]], found: dict[str, dict[str, float]]) -> bool:
    """Prints every pinned figure beside the one found; True when all are identical (to the
    digits docs/results.md writes, which are the figures' full float repr)."""
    same = True
    for model, row in expected.items():
        for key, value in row.items():
            got = found.get(model, {}).get(key)
            ok = got is not None and float(got) == float(value)
            same &= ok
            print(f"{model:>12} {key:>14}: pinned {value!r:>22}  found {got!r:>22}  "
                  f"{'identical' if ok else 'DIFFERS'}")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", type=Path, default=ROOT / "docs" / "results.md")
    parser.add_argument("--keep", type=Path, default=None,
                        help="train into this folder (kept) instead of a temporary one")
    args = parser.parse_args()
    expected = pinned(args.results)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        found, seconds = train(args.data, args.threads, args.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            found, seconds = train(args.data, args.threads, Path(tmp))
    print(f"trained in {seconds:.0f} s with {args.threads} thread(s)")
    if not compare(expected, found):
        raise SystemExit("the default Nottingham run no longer gives the figures of "
                         f"{args.results}: re-measure them there (and say why they moved)")
    print(f"every pinned figure of {args.results} reproduced exactly")


if __name__ == "__main__":
    main()
