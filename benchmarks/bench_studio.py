"""Speed of `seqgan-music studio` as a user meets it.

Prints the studio's start-up time (the command launched until its page answers, process start
and imports included) and the compose round trip of one tune through the HTTP API (the compose
request, then its WAV: what the page waits for before it plays), first call and warm median.

Targets on a 2-core CPU: start-up < 3 s, one round trip < 1 s.

    OMP_NUM_THREADS=1 python benchmarks/bench_studio.py [--repeats 3] [--tunes 10] [--length N]
        [--model shipped:nottingham-paper]
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

import httpx


def start(runs: Path) -> tuple[subprocess.Popen[str], str, float]:
    """Launch the studio; returns it, its URL and the seconds until its page answered."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "seqgan_music", "studio", "--no-browser", "--port", "0",
         "--runs", str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("seqgan-music studio: "):
        process.kill()
        raise SystemExit(f"the studio did not start: {line}{process.stderr.read()}")
    url = line.split(": ", 1)[1].strip()
    while True:
        try:
            if httpx.get(url, follow_redirects=True).status_code == 200:
                return process, url, time.perf_counter() - began
        except httpx.TransportError:
            time.sleep(0.02)


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(2)  # Ctrl-C
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def round_trip(client: httpx.Client, length: int | None, seed: int, model: str,
               beats: list[float]) -> float:
    """One compose request (the page's: `length` None = a whole tune) and its WAV, seconds."""
    began = time.perf_counter()
    answer = client.post("/api/compose", json={"length": length, "seed": seed, "model": model})
    if answer.status_code != 200:
        raise SystemExit(f"compose failed: {answer.text}")
    tune = answer.json()["tunes"][0]
    wav = client.get(tune["wav"])
    assert wav.content[:4] == b"RIFF"
    beats.append(float(tune["beats"]))
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="studio launches")
    parser.add_argument("--tunes", type=int, default=10, help="round trips per launch")
    parser.add_argument("--length", type=int, default=None,
                        help="steps per tune (default: the page's, a whole tune)")
    parser.add_argument("--model", default="shipped:nottingham-onset",
                        help="shipped:NAME (default: the page's default model)")
    args = parser.parse_args()
    starts, firsts, warm = [], [], []
    beats: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            process, url, seconds = start(Path(folder) / "runs")
            starts.append(seconds)
            base, token = url.split("/?token=")
            try:
                with httpx.Client(base_url=base, headers={"X-Studio-Token": token},
                                  timeout=60) as client:
                    firsts.append(round_trip(client, args.length, 0, args.model, beats))
                    warm.extend(round_trip(client, args.length, seed, args.model, beats)
                                for seed in range(1, args.tunes))
            finally:
                stop(process)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPU cores: {os.cpu_count()}, load average (1 min): {load:.2f}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"studio start-up (launch -> page answers): median {statistics.median(starts):.2f} s, "
          f"max {max(starts):.2f} s over {len(starts)} launches (target < 3 s)")
    what = f"{args.length} steps" if args.length else "a whole tune"
    print(f"compose round trip ({args.model}), {what} (median {statistics.median(beats):.0f} "
          f"quarter notes, max {max(beats):.0f}) + its WAV: first "
          f"{statistics.median(firsts):.3f} s (median of {len(firsts)}), warm median "
          f"{statistics.median(warm):.3f} s, max {max(warm):.3f} s over {len(warm)} "
          "(target < 1 s)")


if __name__ == "__main__":
    main()
