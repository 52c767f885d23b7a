"""Flags that several commands share (typer annotations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

PresetOpt = Annotated[str, typer.Option(
    "--preset", help="quick (a smoke test: runs in about a minute, its samples are not meant "
    "to be good), default or paper; e.g. --preset quick.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="A TOML config file.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="KEY=VALUE",
    help="Override one field, e.g. --set train.batch_size=32 (repeatable).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (0 .. 2**63 - 1).")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")]

MODEL_HELP = ("Run directory, checkpoint, model folder or a shipped model's name (seqgan-music "
              "models).")
