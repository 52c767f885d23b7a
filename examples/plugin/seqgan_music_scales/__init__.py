"""An example third-party task: random walks on a scale, scored by how often they stay in it.

It shows everything a plug-in needs: a `Task` subclass with `prepare` (data -> `Corpus`), an
evaluator, `decode`, its own presets as a dict, and a command group (`seqgan-music scales
show`). It uses only the public API of seqgan-music and changes nothing in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from seqgan_music.tasks import Task

NAMES = ("C", "D", "E", "F", "G", "A", "B", "c", "d", "e", "f", "g")
IN_SCALE = 7  # tokens 0..6 are the scale; 7..11 are off-scale notes


class ScalesTask(Task):
    name = "scales"
    summary = "example plug-in: scale walks (in-scale share as the metric)"

    def source(self) -> str:
        return "generated from the seed (no files)"

    def data_status(self, data: Path | None = None) -> str:
        return "present (generated)"

    def defaults(self) -> dict[str, Any]:
        return {"data": {"seq_len": 12, "vocab_size": len(NAMES)}}

    def preset_names(self) -> list[str]:
        return ["quick"]

    def preset(self, name: str) -> dict[str, Any]:
        return {"generator": {"embedding_dim": 8, "hidden_dim": 16},
                "discriminator": {"embedding_dim": 8, "filter_widths": [2, 3],
                                  "num_filters": [8, 8]},
                "train": {"pretrain_epochs": 3, "d_pretrain_steps": 1, "d_pretrain_epochs": 1,
                          "adversarial_iterations": 2, "d_steps": 1, "d_epochs": 1,
                          "num_eval_samples": 64},
                "rollout": {"num_rollouts": 2}}

    def prepare(self, config: Any, data: Path | None = None) -> Any:
        import torch

        from seqgan_music.trainer.loop import Corpus

        rng = torch.Generator().manual_seed(config.seed)
        steps = torch.randint(-1, 2, (600, config.data.seq_len), generator=rng)
        walks = (steps.cumsum(1) + 3).remainder(IN_SCALE)

        def evaluate(samples: torch.Tensor) -> dict[str, float]:
            return {"in_scale": float((samples < IN_SCALE).float().mean())}

        return Corpus(walks[:500], walks[500:550], walks[550:], len(NAMES), evaluate,
                      {"label": "600 random scale walks"})

    def decode(self, tokens: Any, spec: dict[str, Any]) -> list[str]:
        return [" ".join(NAMES[int(t)] for t in row) for row in tokens]

    def commands(self) -> typer.Typer:
        app = typer.Typer(help="The scales plug-in's own commands.", no_args_is_help=True)

        @app.command("show")
        def show() -> None:
            """Print the scale this task walks on."""
            print(" ".join(NAMES[:IN_SCALE]))

        @app.command("about")
        def about() -> None:
            """Say what this plug-in is."""
            print(self.summary)

        return app
