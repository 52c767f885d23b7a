"""Sampling a trained generator with numpy alone, and model files that need no torch to read.

`seqgan-music compose` runs here: the generator is small (an LSTM of a few dozen units), so a
numpy loop samples a tune in milliseconds, and with a `.safetensors` model (the shipped one,
or `seqgan-music export --out model.safetensors`) the command never imports torch, which alone
takes over a second to import on a small CPU. `.pt` checkpoints are read with torch and sampled
here the same way, so the same weights and seed give the same tune from either file.

The numpy cell is the PyTorch LSTM (gate order i, f, g, o) fed like `core.generator.Generator`: the
start token at step 0, then the previous token; tests check its log-probabilities against the
torch model's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqgan_music.app.schema import GENERATOR_KEYS, check_checkpoint_model, check_model, unusable
from seqgan_music.errors import CheckpointError

METADATA_KEY = "seqgan_music"
MODEL_FORMAT = "seqgan-music-model"
MODEL_VERSION = 1  # of the metadata; files without one (older exports) are version 1


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


@dataclass
class NumpyGenerator:
    """The generator's weights as float64 arrays (embedding folded into an input-gate table)."""

    table: np.ndarray  # (V, 4H): embedding @ W_ih^T + b_ih + b_hh
    w_hh: np.ndarray  # (H, 4H)
    head_w: np.ndarray  # (H, V)
    head_b: np.ndarray  # (V,)
    start_token: int
    positions: np.ndarray | None = None  # (ids, 4H): the metrical ids' input-gate rows
    metrical: Any = None  # the representation's constraint (music/constraint.py), if any

    @classmethod
    def from_state(cls, weights: dict[str, np.ndarray], start_token: int,
                   metrical: Any = None) -> NumpyGenerator:
        missing = [k for k in GENERATOR_KEYS if k not in weights]
        if missing:
            raise CheckpointError(f"generator weights lack {', '.join(missing)}")
        w = {k: np.asarray(weights[k], dtype=np.float64) for k in GENERATOR_KEYS}
        table = w["embedding.weight"] @ w["lstm.weight_ih_l0"].T + w["lstm.bias_ih_l0"] \
            + w["lstm.bias_hh_l0"]
        positions = None
        if metrical is not None and "position.weight" in weights:
            positions = np.asarray(weights["position.weight"], dtype=np.float64) \
                @ w["lstm.weight_ih_l0"].T
        return cls(table, w["lstm.weight_hh_l0"].T.copy(), w["head.weight"].T.copy(),
                   w["head.bias"], start_token, positions,
                   metrical if positions is not None else None)

    @property
    def hidden(self) -> int:
        return self.w_hh.shape[0]

    def step(self, tokens: np.ndarray, h: np.ndarray, c: np.ndarray,
             ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feed tokens (B,) (with their metrical ids (B, 2) when the model has them); return
        the next-token logits (B, V) and the new state."""
        gates = self.table[tokens] + h @ self.w_hh
        if self.positions is not None and ids is not None:
            gates = gates + self.positions[ids[:, 0]] + self.positions[ids[:, 1]]
        i, f, g, o = np.split(gates, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return h @ self.head_w + self.head_b, h, c

    def log_probs(self, sequences: np.ndarray) -> np.ndarray:
        """log G(y_t | Y_1:t-1) (B, T) for sequences (B, T), teacher-forced."""
        batch = len(sequences)
        h = np.zeros((batch, self.hidden))
        c = np.zeros_like(h)
        token = np.full(batch, self.start_token)
        out = np.empty(sequences.shape)
        ids = self.metrical.track(sequences) if self.metrical is not None else None
        for t in range(sequences.shape[1]):
            logits, h, c = self.step(token, h, c, ids[:, t] if ids is not None else None)
            logits = logits - logits.max(1, keepdims=True)
            log_z = np.log(np.exp(logits).sum(1))
            out[:, t] = logits[np.arange(batch), sequences[:, t]] - log_z
            token = sequences[:, t]
        return out

    def sample(self, num: int, length: int, prefix: list[int] | None = None,
               temperature: float = 1.0, seed: int = 0,
               progress: Callable[[int], None] | None = None, independent: bool = False,
               first_choices: list[int] | None = None, stop_token: int | None = None,
               constraint: Any = None) -> np.ndarray:
        """`num` sequences (num, length) continuing `prefix` (not included); seeded.

        `progress(steps_done)` is called after each step when given. With `independent`, row k
        draws from its own generator seeded by (seed, k), so tune k of a call does not depend
        on `num`. `first_choices` limits the first sampled token to those tokens; once every
        row has sampled `stop_token`, the rest is filled with it without sampling.
        `constraint` (default: the model's `metrical` one) masks what would break the tune's
        form and gives the metrical ids.
        """
        rules = constraint if constraint is not None else self.metrical
        track = rules.start(num) if rules is not None else None
        rng = np.random.default_rng(seed)
        rngs = [np.random.default_rng([seed, k]) for k in range(num)] if independent else []
        h = np.zeros((num, self.hidden))
        c = np.zeros_like(h)
        token = np.full(num, self.start_token)
        for given in prefix or []:
            _, h, c = self.step(token, h, c, rules.ids(track) if rules is not None else None)
            token = np.full(num, given)
            if rules is not None:
                rules.advance(track, token)
        out = np.empty((num, length), dtype=np.int64)
        stopped = np.zeros(num, dtype=bool)
        for t in range(length):
            if stop_token is not None and stopped.all():
                out[:, t:] = stop_token
                if progress is not None:
                    progress(length)
                break
            logits, h, c = self.step(token, h, c,
                                     rules.ids(track) if rules is not None else None)
            logits = logits / temperature
            if rules is not None:
                logits = np.where(rules.allowed(track), logits, -np.inf)
            if t == 0 and first_choices:
                mask = np.full(logits.shape[1], -np.inf)
                mask[first_choices] = 0.0
                logits = logits + mask
            probs = np.exp(logits - logits.max(1, keepdims=True))
            cdf = np.cumsum(probs, axis=1)
            uniform = (np.array([r.random() for r in rngs]) if independent
                       else rng.random(num))
            draws = uniform * cdf[:, -1]
            token = np.minimum((cdf < draws[:, None]).sum(1), cdf.shape[1] - 1)
            if stop_token is not None:
                token = np.where(stopped, stop_token, token)
                stopped |= token == stop_token
            out[:, t] = token
            if rules is not None:
                rules.advance(track, token)
            if progress is not None:
                progress(t + 1)
        return out


@dataclass
class ModelFile:
    """What a model file holds: the generator weights (numpy) and its description."""

    weights: dict[str, np.ndarray]
    config: dict[str, Any]
    task: dict[str, Any]
    method: str
    vocab_size: int

    def generator(self) -> NumpyGenerator:
        metrical = None
        if self.task.get("music") and "position.weight" in self.weights:
            from seqgan_music.music.codecs import codec_from_spec

            make = getattr(codec_from_spec(self.task.get("codec"), self.task), "constraint",
                           None)
            metrical = make() if make is not None else None
        return NumpyGenerator.from_state(self.weights,
                                         int(self.config["generator"]["start_token"]), metrical)


def read_model(path: Path) -> ModelFile:
    """A `.safetensors` model (no torch needed) or a checkpoint / run directory (torch).

    A finished run directory holds `model.safetensors`, its final generator; it is used when it
    is at least as new as the run's `checkpoints/latest.pt`.
    """
    if path.is_dir():
        exported, latest = path / "model.safetensors", path / "checkpoints" / "latest.pt"
        if exported.is_file() and (not latest.is_file()
                                   or exported.stat().st_mtime >= latest.stat().st_mtime):
            path = exported
    if path.is_file() and path.suffix == ".safetensors":
        return _read_safetensors(path)
    from seqgan_music.io.runs import load_checkpoint

    state = load_checkpoint(path)
    meta = check_checkpoint_model(path, state)
    weights = {k: v.float().numpy() for k, v in state["generator"].items()
               if k in (*GENERATOR_KEYS, "position.weight")}
    return ModelFile(weights, meta["config"], meta["task"], meta["method"], meta["vocab_size"])


def _read_safetensors(path: Path) -> ModelFile:
    """A `.safetensors` model, its metadata and shapes checked against the schema.

    The bytes are read once: a shipped model's (or one with a card naming its sha256, as an
    exported model folder's README.md does) are checked against the card first, then the
    same bytes are parsed (nothing can change between the check and the use).
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    from seqgan_music.io.runs import file_error
    from seqgan_music.music.zoo import check_card_bytes

    try:
        with path.open("rb") as handle:
            data = handle.read()
    except OSError as error:
        raise file_error(path, error, "read") from None
    check_card_bytes(path, data)
    try:
        weights = load(data)
        size = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8 : 8 + size]).get("__metadata__") or {}
    except (SafetensorError, OSError, ValueError, TypeError, AttributeError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise unusable(path, f"not a readable safetensors file ({first})") from None
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise unusable(path, f"its safetensors metadata lacks the {METADATA_KEY!r} entry")
    try:
        meta = json.loads(metadata[METADATA_KEY])
    except (ValueError, TypeError, RecursionError):
        raise unusable(path, f"its {METADATA_KEY!r} metadata is not JSON") from None
    if isinstance(meta, dict):
        _check_format(path, meta)
    meta = check_model(path, meta, weights)
    return ModelFile(weights, meta["config"], meta["task"], meta["method"], meta["vocab_size"])


def _check_format(path: Path, meta: dict[str, Any]) -> None:
    """Refuse a model whose metadata names another format or a version this one cannot
    read (as a `.pt` checkpoint of another version is refused)."""
    found = meta.get("format", MODEL_FORMAT)
    if found != MODEL_FORMAT:
        raise CheckpointError(f"{path} is a {str(found)[:60]!r} file, not a seqgan-music model")
    version = meta.get("version", MODEL_VERSION)
    if version != MODEL_VERSION or isinstance(version, bool):
        raise CheckpointError(f"{path} has model format version {str(version)[:20]}; this "
                              f"seqgan-music reads version {MODEL_VERSION}")


def write_safetensors_model(path: Path, weights: dict[str, Any], meta: dict[str, Any]) -> Path:
    """Write generator weights (tensors or arrays) with `meta` as JSON metadata (marked with
    the format and its version), atomically."""
    from safetensors.numpy import save

    from seqgan_music.io.runs import atomic_write

    arrays = {k: np.ascontiguousarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v,
                                      dtype=np.float32) for k, v in weights.items()}
    meta = {"format": MODEL_FORMAT, "version": MODEL_VERSION, **meta}
    blob = save(arrays, metadata={METADATA_KEY: json.dumps(meta)})
    with atomic_write(path, "wb") as handle:
        handle.write(blob)
    return path
