"""Speed of the music pipeline on this machine, as a user meets it.

Prints: `seqgan-music --help` and `compose --help` wall time (no torch or music21 import),
`seqgan-music compose --out tune.mid` wall time for one tune with the shipped model (process
start included), reading the Nottingham melodies cold (empty cache) and warm, and the music
evaluators on 10,000 samples.

Targets on a 2-core CPU: help < 0.5 s, compose < 2 s, evaluators < 1 s.

    python benchmarks/bench_music.py [--data ../shared/data/nottingham] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nottingham"


def wall(args: list[str], repeats: int, cwd: Path, env: dict[str, str]) -> float:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        result = subprocess.run([*args, *(["--force"] if "compose" in args and i else [])],
                                capture_output=True, text=True, cwd=cwd, env=env)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "seqgan_music"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "SEQGAN_MUSIC_CACHE": str(work / "cache")}
        print(f"cpu cores: {os.cpu_count()}")
        seconds = wall([*cli, "--help"], args.repeats, work, env)
        print(f"seqgan-music --help:          {seconds:.2f} s")
        print(f"seqgan-music compose --help:  "
              f"{wall([*cli, 'compose', '--help'], args.repeats, work, env):.2f} s")
        seconds = wall([*cli, "compose", "--out", "tune.mid"], args.repeats, work, env)
        print(f"compose one tune (shipped model, process start included): {seconds:.2f} s")

        from seqgan_music.music.corpus import MusicOptions, build_music_corpus
        from seqgan_music.music.metrics import music_evaluator

        if not args.data.is_dir():
            print(f"no data at {args.data}: reading and evaluator timings skipped")
            return
        os.environ["SEQGAN_MUSIC_CACHE"] = str(work / "cache")
        start = time.perf_counter()
        data = build_music_corpus([args.data], "nottingham", MusicOptions(), 32)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        build_music_corpus([args.data], "nottingham", MusicOptions(), 32)
        warm = time.perf_counter() - start
        manifest = data.manifest
        print(f"read {manifest['files']} files ({manifest['steps']} steps, "
              f"{sum(manifest['windows_per_split'].values())} windows): cold {cold:.2f} s, "
              f"warm {warm:.3f} s")
        import numpy as np

        evaluate = music_evaluator(data.train, data.test)
        samples = np.random.default_rng(0).integers(0, 89, (10_000, 32))
        start = time.perf_counter()
        evaluate(samples)
        print(f"evaluators on 10,000 samples vs {len(data.test)} test windows: "
              f"{time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
