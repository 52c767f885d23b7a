"""seqgan-music: SeqGAN (Yu et al., AAAI 2017) implemented once, correctly and fast.

The package root imports nothing heavy: `import seqgan_music` does not import torch or music21.
The algorithm lives in `models` (Generator, Discriminator), `rollout` (Monte Carlo rewards) and
`training` (Algorithm 1 and the baselines); tasks are plug-ins found through the
`seqgan_music.tasks` entry-point group.
"""

from __future__ import annotations

from seqgan_music.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    SeqganMusicError,
    TaskError,
    TrainingError,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "SeqganMusicError",
    "TaskError",
    "TrainingError",
    "__version__",
]
