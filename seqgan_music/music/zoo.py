"""The models shipped inside the package (`seqgan_music/pretrained/`), each with a model card.

A card is a Markdown file whose first lines are a YAML metadata block (Hugging Face style,
between `---` lines): name, task, data, representation, metrics, command, seed, data license,
sha256 of the weights, and `file` (the `.safetensors` file beside it). `seqgan-music models`
lists them; `compose --model NAME` picks one; `default_model()` is the one that sounds best by
the README's music evaluation table.

The block is read with a small reader of the YAML subset the cards use (nested maps by
two-space indentation, `- ` lists, plain/quoted scalars), so no YAML library is needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from seqgan_music.errors import CheckpointError, ConfigError

DEFAULT_MODEL = "nottingham-onset"
CARD_SUFFIX = ".md"


@dataclass(frozen=True)
class ShippedModel:
    name: str  # e.g. "nottingham-paper", "nottingham-onset"
    path: Path  # the .safetensors file inside the package
    card: dict[str, Any]  # the YAML metadata block of its model card, parsed
    summary: str  # one line for listings


def _scalar(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    if text[0] in "\"'" and text[-1] == text[0] and len(text) >= 2:
        return json.loads(text) if text[0] == '"' else text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_card_metadata(text: str) -> dict[str, Any]:
    """The YAML block between the first two `---` lines of a card (empty when none)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        return {}
    root: dict[str, Any] = {}
    stack: list[tuple[int, Any]] = [(-1, root)]
    pending: tuple[int, dict[str, Any], str] | None = None  # a `key:` awaiting its block
    for raw in lines[1:end]:
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        if pending is not None:
            p_indent, p_parent, p_key = pending
            pending = None
            if indent > p_indent:
                container: Any = [] if line.startswith("- ") else {}
                p_parent[p_key] = container
                stack.append((p_indent, container))
        while len(stack) > 1 and indent <= stack[-1][0]:
            stack.pop()
        parent = stack[-1][1]
        if line.startswith("- ") and isinstance(parent, list):
            parent.append(_scalar(line[2:]))
            continue
        if ":" not in line or not isinstance(parent, dict):
            raise ValueError(f"unreadable card metadata line: {raw!r}")
        key, _, value = line.partition(":")
        key = key.strip()
        if value.strip():
            parent[key] = _scalar(value)
        else:
            parent[key] = None
            pending = (indent, parent, key)
    return root


def _pretrained_dir() -> Path:
    return Path(str(resources.files("seqgan_music").joinpath("pretrained")))


def shipped_models() -> list[ShippedModel]:
    """Every model in the package that has its card and its weights, sorted by name."""
    folder = _pretrained_dir()
    found: list[ShippedModel] = []
    if not folder.is_dir():
        return found
    for card_path in sorted(folder.glob(f"*{CARD_SUFFIX}")):
        try:
            card = parse_card_metadata(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not card.get("name") or not card.get("file"):
            continue
        weights = folder / str(card["file"])
        if not weights.is_file():
            continue
        summary = str(card.get("summary") or card.get("representation") or "")
        found.append(ShippedModel(str(card["name"]), weights, card, summary))
    return sorted(found, key=lambda m: m.name)


def check_shipped_bytes(path: Path, data: bytes) -> None:
    """Refuse the bytes of a shipped model (a file in the package's `pretrained/` folder named
    by a card) whose sha256 is not its card's: a damaged or altered installation."""
    import hashlib

    try:
        folder = _pretrained_dir().resolve()
        if path.resolve().parent != folder:
            return
    except OSError:
        return
    for model in shipped_models():
        if model.path.name != path.name:
            continue
        expected = str(model.card.get("sha256") or "").lower()
        found = hashlib.sha256(data).hexdigest()
        if not expected:
            raise CheckpointError(f"shipped model {model.name} ({path}) has no sha256 in its "
                                  "card; the installation is incomplete (reinstall seqgan-music)")
        if found != expected:
            raise CheckpointError(f"shipped model {model.name} ({path}) is damaged or altered: "
                                  f"sha256 {found[:16]}..., its card says {expected[:16]}...; "
                                  "reinstall seqgan-music")


def find_shipped(name: str) -> ShippedModel:
    models = shipped_models()
    for model in models:
        if model.name == name:
            return model
    names = ", ".join(m.name for m in models) or "none (this installation ships no model)"
    raise ConfigError(f"--model {name!r} is neither a file, a run directory nor a shipped model; "
                      f"shipped models: {names} (seqgan-music models lists them)")


def default_model() -> ShippedModel:
    """The shipped model compose uses when there is no finished run and no --model."""
    models = shipped_models()
    for model in models:
        if model.name == DEFAULT_MODEL:
            return model
    if models:
        return models[0]
    raise CheckpointError("the shipped pretrained models are missing from this installation; "
                          "train one with `seqgan-music train nottingham` or pass --model")
