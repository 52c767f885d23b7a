"""The model zoo: music models shipped inside the package (`ShippedModel`, `shipped_models`).

Minimal version on the `studio` branch (one entry, the paper-grid Nottingham model); the model
zoo of the representation work replaces it with the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from seqgan_music.errors import ConfigError


@dataclass(frozen=True)
class ShippedModel:
    """One shipped model: its name, file, model card (parsed, may be empty) and one line."""

    name: str
    path: Path
    card: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


def _pretrained(file: str) -> Path:
    return Path(str(resources.files("seqgan_music").joinpath("pretrained").joinpath(file)))


def shipped_models() -> list[ShippedModel]:
    """Every model shipped with this installation whose file is present, default first."""
    models = [ShippedModel("nottingham-paper", _pretrained("nottingham.safetensors"), {},
                           "Nottingham folk tunes, SeqGAN, paper grid (0.4 s steps)")]
    return [m for m in models if m.path.is_file()]


def find_shipped(name: str) -> ShippedModel:
    """The shipped model called `name`; `ConfigError` naming the accepted ones otherwise."""
    models = shipped_models()
    for model in models:
        if model.name == name:
            return model
    accepted = ", ".join(m.name for m in models) or "none in this installation"
    raise ConfigError(f"shipped model {name!r} is unknown; accepted: {accepted}")


def default_model() -> ShippedModel:
    """The model compose uses when no run and no model file is given."""
    models = shipped_models()
    if not models:
        raise ConfigError("no shipped model is present in this installation; train one with "
                          "`seqgan-music train nottingham`")
    return models[0]
