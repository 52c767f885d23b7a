"""Which installed distributions each main job imports: the measurement behind the package's
dependencies and extras (pyproject.toml).

Each job runs in a fresh Python process on tiny settings; at exit the process lists the
distributions that own the modules it imported. Jobs whose data is absent are skipped.

    python benchmarks/bench_imports.py [--data-root DIR]    # DIR holds nottingham/, poems/
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = r"""
import atexit, json, sys
def _report():
    from importlib.metadata import packages_distributions
    owners = packages_distributions()
    found = set()
    for name in list(sys.modules):
        top = name.split('.')[0]
        for dist in owners.get(top, []):
            found.add(dist)
    with open(OUT, 'w') as handle:
        json.dump(sorted(found), handle)
atexit.register(_report)
"""

JOBS: dict[str, str] = {
    "help": "from seqgan_music.cli import main; main(['--help'])",
    "api-import": "import seqgan_music; seqgan_music.compose",
    "compose": "from seqgan_music.cli import main; main(['compose', '--out', '{tmp}/t.mid'])",
    "studio": (
        "from seqgan_music.studio.app import Studio, create_app; "
        "from seqgan_music.studio import adapter; from pathlib import Path; "
        "app = create_app(Studio(runs=Path('{tmp}/runs'))); adapter.warm_up(); "
        "from seqgan_music.cli import main; main(['compose', '--out', '{tmp}/s.mid'])"),
    "train-oracle": (
        "from seqgan_music.cli import main; main(['train', 'oracle', '--preset', 'quick', "
        "'--out', '{tmp}/runs', '--set', 'threads=1', '--set', 'train.pretrain_epochs=1', "
        "'--set', 'train.adversarial_iterations=1', '--set', 'task_options.num_train=200', "
        "'--set', 'train.num_eval_samples=200'])"),
    "train-nottingham": (
        "from seqgan_music.cli import main; main(['train', 'nottingham', '--preset', 'quick', "
        "'--data', '{data}/nottingham', '--out', '{tmp}/runs', '--set', 'threads=1', "
        "'--set', 'train.pretrain_epochs=1', '--set', 'train.adversarial_iterations=1', "
        "'--set', 'train.num_eval_samples=100'])"),
    "evaluate": (
        "from pathlib import Path; from seqgan_music.cli import main; "
        "run = sorted(Path('{tmp}/runs/nottingham').iterdir())[-1]; "
        "main(['evaluate', '--model', str(run), '-n', '50', '--data', '{data}/nottingham'])"),
    "text": (
        "from seqgan_music.cli import main; main(['train', 'poems', '--preset', 'quick', "
        "'--data', '{data}/poems', '--out', '{tmp}/runs', '--set', 'threads=1', "
        "'--set', 'train.pretrain_epochs=1', '--set', 'train.adversarial_iterations=1', "
        "'--set', 'train.num_eval_samples=100'])"),
}
NEEDS = {"train-nottingham": "nottingham", "evaluate": "nottingham", "text": "poems"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path,
                        default=Path(os.environ.get("SEQGAN_MUSIC_DATA", "data")))
    parser.add_argument("--jobs", default=",".join(JOBS))
    args = parser.parse_args()
    results: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for job in args.jobs.split(","):
            need = NEEDS.get(job)
            if need and not (args.data_root / need).exists():
                print(f"{job}: skipped ({args.data_root / need} is absent)")
                continue
            out = Path(tmp) / f"{job}.json"
            code = (f"OUT = {str(out)!r}\n" + PROBE
                    + JOBS[job].format(tmp=tmp, data=args.data_root.resolve()))
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
            if not out.exists():
                print(f"{job}: failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
                continue
            results[job] = [d for d in json.loads(out.read_text())
                            if d.lower() not in ("seqgan-music", "seqgan_music")]
    every = sorted({d for dists in results.values() for d in dists}, key=str.lower)
    print("distributions imported per job (x: imported)")
    print(f"{'':22}" + "".join(f"{j[:9]:>10}" for j in results))
    for dist in every:
        print(f"{dist[:22]:22}" + "".join(f"{'x' if dist in results[j] else '.':>10}"
                                          for j in results))


if __name__ == "__main__":
    main()
