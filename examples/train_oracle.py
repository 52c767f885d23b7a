"""Train SeqGAN on the synthetic oracle through the Python API (no CLI), then sample from it.

    python examples/train_oracle.py [--oracle-params target_params.npz]

Runs the `quick` preset (about half a minute on a laptop CPU) and prints NLL-oracle for the MLE
start and the SeqGAN model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from seqgan_music.app.train import build_config
from seqgan_music.tasks import load_task
from seqgan_music.trainer.loop import Trainer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--oracle-params", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/example-oracle"))
    args = parser.parse_args()

    task = load_task("oracle")
    config = build_config(task, preset="quick", seed=1)
    corpus = task.prepare(config, args.oracle_params)
    print(corpus.spec["label"])

    trainer = Trainer(config, corpus, method="seqgan", run_dir=args.out)
    trainer.run(stop_after="mle")
    print("MLE   ", trainer.evaluate())
    trainer.run()
    print("SeqGAN", trainer.evaluate())
    print(trainer.sample(3))


if __name__ == "__main__":
    main()
