"""The one schema a model file must meet, checked when it is read.

A model is a generator's weights with its description: the resolved config, the task spec,
the training method and the vocabulary size V. `check_model` checks a `.safetensors` model's
metadata and a checkpoint's entries alike: the config validates, V is an integer that fits the
start token, every weight of `GENERATOR_KEYS` is there with the shape the config
says (embedding (V, E), LSTM (4H, E), (4H, H), (4H,), (4H,), head (V, H), (V,)) and finite
values, and a text model's vocabulary has V entries. `check_training_checkpoint` adds what
`train --resume` needs. Any mismatch is `CheckpointError("X is not a usable seqgan-music
model: why")`, never a KeyError or TypeError from deep inside a command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seqgan_music.config import METHODS
from seqgan_music.errors import CheckpointError, ConfigError

GENERATOR_KEYS = ("embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                  "lstm.bias_hh_l0", "head.weight", "head.bias")
TRAINING_KEYS = ("config", "method", "progress", "generator", "discriminator", "rollout",
                 "optimizers", "rng", "task", "vocab_size")


def unusable(path: Path | str, why: str) -> CheckpointError:
    """The error for a model file that fails the schema."""
    return CheckpointError(f"{path} is not a usable seqgan-music model: {why}")


def expected_shapes(vocab_size: int, embedding_dim: int, hidden_dim: int
                    ) -> dict[str, tuple[int, ...]]:
    """The generator's weight shapes for V, E and H (`core.generator.Generator`'s state dict)."""
    v, e, h = vocab_size, embedding_dim, hidden_dim
    return {"embedding.weight": (v, e), "lstm.weight_ih_l0": (4 * h, e),
            "lstm.weight_hh_l0": (4 * h, h), "lstm.bias_ih_l0": (4 * h,),
            "lstm.bias_hh_l0": (4 * h,), "head.weight": (v, h), "head.bias": (v,)}


def check_model(path: Path | str, meta: Any, weights: Any) -> dict[str, Any]:
    """Check a model's description `meta` (config, task, method, vocab_size) and its generator
    `weights` (name -> array-like with `.shape`); returns `meta` with the config resolved
    (every field, defaults filled in) and `task` as a dict.

    Raises:
        CheckpointError: "PATH is not a usable seqgan-music model: why".
    """
    from seqgan_music.config import ExperimentConfig

    if not isinstance(meta, dict):
        raise unusable(path, f"its description is a {type(meta).__name__}, not a table")
    missing = [k for k in ("config", "method", "vocab_size") if k not in meta]
    if missing:
        raise unusable(path, f"it lacks {', '.join(missing)}")
    if not isinstance(meta["config"], dict):
        raise unusable(path, "its config is not a table")
    try:
        config = ExperimentConfig.from_dict(meta["config"])
    except ConfigError as error:
        raise unusable(path, f"its config is invalid ({error})") from None
    vocab = meta["vocab_size"]
    if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 2:
        raise unusable(path, f"vocab_size = {vocab!r} is not an integer >= 2")
    start = config.generator.start_token
    if not 0 <= start < vocab:
        raise unusable(path, f"generator.start_token = {start} is outside the vocabulary "
                             f"0..{vocab - 1}")
    if not isinstance(meta["method"], str):
        raise unusable(path, f"method = {meta['method']!r} is not a name")
    task = meta.get("task", {})
    if not isinstance(task, dict):
        raise unusable(path, "its task description is not a table")
    _check_vocabulary(path, task, vocab)
    metrical = False
    if task.get("music"):
        from seqgan_music.music.codecs import codec_from_spec

        codec_spec = task.get("codec")
        if codec_spec is not None and not isinstance(codec_spec, dict):
            raise unusable(path, "its representation (task codec) is not a table")
        try:
            codec = codec_from_spec(codec_spec, task)
        except (ConfigError, TypeError, ValueError) as error:
            raise unusable(path, str(error)) from None
        if vocab != codec.vocab_size:
            raise unusable(path, f"it is marked as a music model but V = {vocab}, not the "
                                 f"{codec.vocab_size} tokens of its {codec.name!r} "
                                 "representation")
        metrical = hasattr(codec, "constraint")
    if not isinstance(weights, dict):
        raise unusable(path, "its generator weights are not a table of tensors")
    shapes = expected_shapes(vocab, config.generator.embedding_dim, config.generator.hidden_dim)
    if metrical:  # the metrical input of a representation with a constraint (music/constraint)
        from seqgan_music.music.constraint import NUM_IDS

        shapes["position.weight"] = (NUM_IDS, config.generator.embedding_dim)
    absent = [k for k in shapes if k not in weights]
    if absent:
        raise unusable(path, f"the generator weights lack {', '.join(absent)}")
    for name, shape in shapes.items():
        found = tuple(getattr(weights[name], "shape", ()) or ())
        if not hasattr(weights[name], "shape") or found != shape:
            raise unusable(path, f"weight {name} has shape {found}, expected {shape} for "
                                 f"V = {vocab}, E = {config.generator.embedding_dim}, "
                                 f"H = {config.generator.hidden_dim}")
        values = _as_numpy(weights[name])
        if values.dtype.kind not in "fiu":
            raise unusable(path, f"weight {name} holds {values.dtype}, not numbers")
        if not np.isfinite(values).all():
            raise unusable(path, f"weight {name} holds NaN or infinite values (a diverged or "
                                 "damaged model)")
    return {**meta, "config": config.to_dict(), "task": task}


def _check_vocabulary(path: Path | str, task: dict[str, Any], vocab_size: int) -> None:
    """A text model's vocabulary: what `Vocabulary.from_dict` reads, with V tokens."""
    if "vocab" not in task:
        return
    from seqgan_music.errors import DataError
    from seqgan_music.text.tokenizers import Vocabulary

    try:
        vocab = Vocabulary.from_dict(task["vocab"])
    except DataError as error:
        raise unusable(path, f"its text vocabulary is invalid ({error})") from None
    if len(vocab) != vocab_size:
        raise unusable(path, f"its text vocabulary has {len(vocab)} tokens, the model "
                             f"V = {vocab_size}")



def _as_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor (bf16 has no numpy dtype: go through float)
        value = value.detach().cpu()
        return value.float().numpy() if value.is_floating_point() else value.numpy()
    return np.asarray(value)


def check_checkpoint_model(path: Path | str, state: dict[str, Any]) -> dict[str, Any]:
    """`check_model` for a checkpoint dict (its `generator` entry holds the weights)."""
    weights = state.get("generator")
    return check_model(path, {k: v for k, v in state.items() if k != "generator"}, weights)


def check_training_checkpoint(state: dict[str, Any], path: Path | str) -> None:
    """What `train --resume` needs beyond a usable generator: every training entry.

    Raises:
        CheckpointError: "PATH is not a usable seqgan-music model: why" (an exported
        generator-only file, a checkpoint without config, ...).
    """
    missing = [k for k in TRAINING_KEYS if k not in state]
    if missing:
        raise unusable(path, f"it lacks {', '.join(missing)}, so training cannot continue from "
                             "it (an exported model holds the generator alone)")
    check_checkpoint_model(path, state)
    for key in ("progress", "optimizers", "rng", "discriminator", "rollout"):
        if not isinstance(state[key], dict):
            raise unusable(path, f"its {key} entry is not a table")
    if state["method"] not in METHODS:
        raise unusable(path, f"method {state['method']!r} is unknown; accepted: "
                             f"{', '.join(METHODS)}")
    progress = state["progress"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
               for v in progress.values()):
        raise unusable(path, "its progress counts are not integers >= 0")
