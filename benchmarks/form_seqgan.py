"""SeqGAN on whole tunes from a finished `form` MLE run: D pre-training, then adversarial
iterations with roll-outs from bar lines only (`rollout.reward_at = "bar"`), in a new run folder.

    python benchmarks/form_seqgan.py RUN_DIR OUT_DIR [--iterations 30] [--rollouts 4]
        [--batch 16] [--d-steps 4]

The MLE model is `RUN_DIR/checkpoints/mle.pt`; OUT_DIR gets the checkpoints, metrics.jsonl and
`model.safetensors` (SeqGAN's generator), comparable with `bench_form.py --model`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch


def main() -> None:
    from seqgan_music.app.model import export_model
    from seqgan_music.config import ExperimentConfig
    from seqgan_music.io.runs import load_checkpoint
    from seqgan_music.tasks import load_task
    from seqgan_music.trainer.loop import Trainer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/nottingham"))
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--rollouts", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--d-steps", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    state = load_checkpoint(args.run / "checkpoints" / "mle.pt")
    config = ExperimentConfig.from_dict(state["config"])
    config.rollout.reward_at = "bar"
    config.rollout.num_rollouts = args.rollouts
    config.train.batch_size = args.batch
    config.train.adversarial_iterations = args.iterations
    config.train.d_pretrain_steps = args.d_steps
    config.train.eval_every = max(args.iterations, 1)
    config.threads = 1
    corpus = load_task("nottingham").prepare(config, args.data)
    trainer = Trainer(config, corpus, method="seqgan")
    trainer.load_state_dict(state, resume_metrics=False)
    trainer.attach_run_dir(args.out)
    trainer.save(args.out / "checkpoints" / "mle.pt")
    started = time.perf_counter()
    trainer.run()
    print(f"D pre-training + {args.iterations} adversarial iterations: "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    export_model(args.out / "checkpoints" / "latest.pt", args.out / "model.safetensors")


if __name__ == "__main__":
    main()
