"""Choose a task's discriminator by measurement: saturation, rewards and what they do to G.

The text `default` preset once used a 1,120-filter D that, like the official 1,720-filter D on
music, separates real from generated sequences almost perfectly after pre-training: rewards near
0 for every sample leave the policy gradient nothing to learn from. This script pre-trains G once
by MLE (the preset's schedule), then for each candidate D: pre-trains it as the preset does,
reports its accuracy on held-out real sequences against fresh samples and the mean reward
D(G(z)), then runs `--iterations` adversarial iterations from the same MLE model and reports the
task's figures beside the MLE model's (evaluation samples drawn with the trainer's eval seed).

    python benchmarks/calibrate_d.py poems --data ../shared/data/poems [--iterations 15]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from typing import Any

import torch

from seqgan_music.app.train import build_config
from seqgan_music.tasks import load_task
from seqgan_music.trainer.loop import Trainer

# name -> discriminator settings (the preset's own D is measured as "preset")
CANDIDATES: dict[str, dict[str, Any]] = {
    "preset": {},
    "160 filters": {"embedding_dim": 32, "filter_widths": [2, 3, 5, 10, 20],
                    "num_filters": [32, 32, 32, 32, 32]},
    "64 filters": {"embedding_dim": 16, "filter_widths": [2, 3, 5, 10],
                   "num_filters": [16, 16, 16, 16]},
}


@torch.inference_mode()
def saturation(trainer: Trainer, num: int = 2000) -> dict[str, float]:
    """D's accuracy on held-out real sequences vs fresh samples, and the mean D(G(z))."""
    d = trainer.discriminator.eval()
    rng = torch.Generator(device=trainer.device).manual_seed(12345)
    fake = trainer.sample(num, generator=rng)
    real = trainer.valid_data[:num]
    p_fake = torch.sigmoid(d(fake).float())
    p_real = torch.sigmoid(d(real).float())
    accuracy = (float((p_fake < 0.5).float().sum()) + float((p_real > 0.5).float().sum())) / (
        len(fake) + len(real))
    return {"d_accuracy_heldout": accuracy, "reward_mean": float(p_fake.mean()),
            "reward_p10": float(p_fake.quantile(0.1)), "reward_p90": float(p_fake.quantile(0.9))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--seed", type=int, default=88)
    parser.add_argument("--only", default="", help="comma-separated candidate names")
    args = parser.parse_args()

    task = load_task(args.task)
    config = build_config(task, args.preset, seed=args.seed, device="cpu")
    corpus = task.prepare(config, args.data)
    config.data.vocab_size = corpus.vocab_size
    print(f"{args.task}: {corpus.spec.get('label', '')}; {torch.get_num_threads()} threads")
    started = time.perf_counter()
    base = Trainer(config, corpus, method="mle")
    base.run()
    mle_state = base.state_dict()
    print(f"MLE pre-training: {time.perf_counter() - started:.0f} s; MLE figures "
          f"{json.dumps(base.evaluate())}")
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(CANDIDATES)
    for name in names:
        started = time.perf_counter()
        trial = copy.deepcopy(config)
        for key, value in CANDIDATES[name].items():
            setattr(trial.discriminator, key, value)
        trial.train.adversarial_iterations = args.iterations
        trial.train.eval_every = max(args.iterations, 1)
        trainer = Trainer(trial, corpus, method="seqgan")
        trainer.generator.load_state_dict(mle_state["generator"])
        trainer.pretrain_optimizer.load_state_dict(mle_state["optimizers"]["pretrain"])
        trainer.progress = {"mle": trial.train.pretrain_epochs}
        trainer.run(stop_after="d_pretrain")
        after_pretrain = saturation(trainer)
        trainer.run()
        filters = sum(trial.discriminator.num_filters)
        print(json.dumps({"candidate": name, "filters": filters,
                          "after_d_pretraining": after_pretrain,
                          "after_adversarial": saturation(trainer),
                          "figures": trainer.evaluate(),
                          "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
