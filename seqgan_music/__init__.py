"""seqgan-music: SeqGAN (Yu et al., AAAI 2017) implemented once, correctly and fast.

The Python API (`seqgan_music.api`, loaded on first use):

    import seqgan_music
    tunes = seqgan_music.compose(num=2, seed=7)   # list[Tune]: .notes .key .meter .write(path)
    model = seqgan_music.load_model("nottingham-onset")
    outcome = seqgan_music.train("oracle", preset="quick")

The package root imports nothing heavy: `import seqgan_music` does not import torch or music21.
The folders are the layers, lowest first (docs/architecture.md): `runtime` (threads, processes),
`core` (the SeqGAN algorithm: generator, discriminator, roll-out, training steps), `io` (run
directories, checkpoints, downloads), `eval` (BLEU), the plug-ins `music` and `text`, `trainer`
(the resumable training loop), `tasks` (found through the `seqgan_music.tasks` entry-point
group), `app` (what each command does) and the faces `cli`, `studio` and `api`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seqgan_music import _deprecated
from seqgan_music._version import __version__
from seqgan_music.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    SeqganMusicError,
    TaskError,
    TrainingError,
)

if TYPE_CHECKING:
    from seqgan_music.api import Model, Note, Tune, compose, load_model, train


_deprecated.install()  # the flat layout's module paths, until 0.3 (docs/architecture.md)

_API = ("Model", "Note", "Tune", "compose", "load_model", "train")

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "Model",
    "Note",
    "SeqganMusicError",
    "TaskError",
    "TrainingError",
    "Tune",
    "__version__",
    "compose",
    "load_model",
    "train",
]


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use (so `import seqgan_music` stays light)."""
    if name in _API:
        from seqgan_music import api

        return getattr(api, name)
    raise AttributeError(f"module 'seqgan_music' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
