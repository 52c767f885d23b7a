"""Reading large MIDI corpora: files per second and peak memory as the corpus grows.

Writes synthetic corpora of small MIDI files (64 notes of 0.4 s each, one in 500 corrupt) into
a temporary folder and reads each with `build_music_corpus` in a fresh process, three ways:

- cold: empty cache (every file parsed, in worker processes), per MIDI parser of `--readers`
  (`music/midi_notes.py`: symusic, else pretty_midi);
- parsed: the per-file cache filled, the corpus cache removed (the case "once cached");
- cached: the whole corpus cached (memory-mapped windows + manifest).

Prints files/s and the peak resident memory of the reading process and of its largest worker.
Targets: flat memory, linear time, >= 500 files/s on 2 cores once cached (issue 11); 100,000
files cold in under 2 minutes on 2 cores (issue 25).

    python benchmarks/bench_corpus.py [--sizes 1000 10000 100000] [--workdir DIR]
    python benchmarks/bench_corpus.py --sizes 10000 --readers pretty_midi symusic
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORRUPT_EVERY = 500
NOTES = 64
TICKS_PER_BEAT = 480
STEP_TICKS = 384  # 0.4 s at 120 bpm


def midi_bytes(pitches: list[int]) -> bytes:
    """A format-0 MIDI file holding `pitches` one after another, 0.4 s each."""
    def varlen(value: int) -> bytes:
        out = [value & 0x7F]
        value >>= 7
        while value:
            out.append(0x80 | (value & 0x7F))
            value >>= 7
        return bytes(reversed(out))

    events = bytearray(b"\x00\xff\x51\x03\x07\xa1\x20")  # tempo 500,000 us per beat
    for pitch in pitches:
        events += b"\x00" + bytes([0x90, pitch, 90])
        events += varlen(STEP_TICKS) + bytes([0x80, pitch, 0])
    events += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT)
    return header + b"MTrk" + struct.pack(">I", len(events)) + bytes(events)


def write_corpus(folder: Path, num: int, seed: int = 0) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    walks = np.clip(62 + np.cumsum(rng.integers(-2, 3, size=(num, NOTES)), axis=1), 48, 84)
    for i in range(num):
        sub = folder / f"{i // 1000:04d}"  # 1,000 files per sub-folder, as large corpora are
        if i % 1000 == 0:
            sub.mkdir(exist_ok=True)
        data = (b"MThd garbage" if i % CORRUPT_EVERY == CORRUPT_EVERY - 1
                else midi_bytes([int(p) for p in walks[i]]))
        (sub / f"tune{i:06d}.mid").write_bytes(data)


def measure(folder: Path) -> dict[str, float]:
    """Read `folder` once (in this process); seconds and peak memory in MiB."""
    import warnings

    from seqgan_music.music.corpus import MusicOptions, build_music_corpus

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = build_music_corpus([folder], "bench", MusicOptions(), seq_len=32)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "files": data.manifest["files"],
        "skipped": len(data.manifest["skipped"]),
        "windows": len(data.train) + len(data.valid) + len(data.test),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def read_in_child(folder: Path, cache: Path, reader: str = "auto") -> dict[str, float]:
    env = {**os.environ, "SEQGAN_MUSIC_CACHE": str(cache), "SEQGAN_MUSIC_MIDI_READER": reader}
    result = subprocess.run([sys.executable, __file__, "--measure", str(folder)], env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--readers", nargs="+", default=["auto"],
                        choices=["auto", "symusic", "pretty_midi"],
                        help="MIDI parsers to compare (auto: symusic when installed)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return
    root = Path(tempfile.mkdtemp(prefix="bench-corpus-", dir=args.workdir))
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}; folder {root}")
    print(f"{'files':>8} {'kind':>17} {'seconds':>8} {'files/s':>8} {'skipped':>7} "
          f"{'windows':>8} {'peak MiB':>9} {'worker MiB':>10}")
    try:
        for size in args.sizes:
            folder, cache = root / f"midi-{size}", root / f"cache-{size}"
            start = time.perf_counter()
            write_corpus(folder, size)
            print(f"{size:>8} {'write':>17} {time.perf_counter() - start:>8.1f}", flush=True)
            for reader, kind in [(r, "cold") for r in args.readers] + [
                    (args.readers[-1], "parsed"), (args.readers[-1], "cached")]:
                if kind == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                if kind == "parsed":
                    shutil.rmtree(cache / "corpora", ignore_errors=True)
                row = read_in_child(folder, cache, reader)
                label = f"{kind} {reader}" if len(args.readers) > 1 else kind
                print(f"{size:>8} {label:>17} {row['seconds']:>8.1f} "
                      f"{row['files'] / row['seconds']:>8.0f} {row['skipped']:>7} "
                      f"{row['windows']:>8} {row['peak_mib']:>9.0f} "
                      f"{row['worker_peak_mib']:>10.0f}", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
