"""The models shipped inside the package (`seqgan_music/pretrained/`), each with a model card.

A card is a Markdown file whose first lines are a YAML metadata block (Hugging Face style,
between `---` lines): name, task, data, representation, metrics, command, seed, data license,
sha256 of the weights, and `file` (the `.safetensors` file beside it). `seqgan-music models`
lists them; `compose --model NAME` picks one; `default_model()` is the one that sounds best by
the README's music evaluation table.

The block is YAML read with PyYAML's safe loader, with the Hugging Face Hub's fields
(`license`, `library_name`, `tags`, `datasets`, `model-index`) beside ours. `write_card` writes
one for an exported model folder (`config.json`, `model.safetensors`, `README.md`: the shape of
the Hub's `save_pretrained`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from seqgan_music.errors import CheckpointError, ConfigError

DEFAULT_MODEL = "nottingham-form"
CARD_SUFFIX = ".md"
CARD_NAME = "README.md"  # a model folder's card, as on the Hugging Face Hub


@dataclass(frozen=True)
class ShippedModel:
    name: str  # e.g. "nottingham-paper", "nottingham-onset"
    path: Path  # the .safetensors file inside the package
    card: dict[str, Any]  # the YAML metadata block of its model card, parsed
    summary: str  # one line for listings


def parse_card_metadata(text: str) -> dict[str, Any]:
    """The YAML block between the first two `---` lines of a card (empty when none); raises
    ValueError when that block is not a YAML mapping."""
    import yaml

    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        return {}
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as error:
        raise ValueError(f"unreadable card metadata: {' '.join(str(error).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("card metadata is not a YAML mapping")
    return data


def read_folder_card(path: Path) -> dict[str, Any]:
    """The card metadata of a model folder (`README.md` beside `model.safetensors`), or of a
    model file's `<stem>.md`; empty when there is none or it is unreadable."""
    card = path / CARD_NAME if path.is_dir() else path.with_suffix(CARD_SUFFIX)
    try:
        return parse_card_metadata(card.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}


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


def check_card_bytes(path: Path, data: bytes) -> None:
    """`check_shipped_bytes`, and for any other model file with a card beside it (an
    exported model folder's README.md, or NAME.md) that names this file and a sha256: the
    bytes must match it."""
    import hashlib

    check_shipped_bytes(path, data)
    folder_card = path.parent / CARD_NAME
    card_path = folder_card if folder_card.is_file() else path.with_suffix(CARD_SUFFIX)
    if not card_path.is_file():
        return
    card = read_folder_card(path.parent if card_path == folder_card else path)
    expected = str(card.get("sha256") or "").lower()
    if not expected or card.get("file") != path.name:
        return
    found = hashlib.sha256(data).hexdigest()
    if found != expected:
        raise CheckpointError(f"model {path} is damaged or altered: sha256 {found[:16]}..., its "
                              f"card {card_path.name} says {expected[:16]}...")


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


DATA_LICENSES = {"nottingham": "gpl-3.0"}  # task -> the Hub licence id of its public data


def card_text(name: str, meta: dict[str, Any], figures: dict[str, dict[str, float]] | None = None,
              weights: str = "model.safetensors", sha256: str | None = None) -> str:
    """A model card (YAML metadata with the Hub's fields, then Markdown) for an exported model.

    `meta` is the model's metadata (config, task spec, method, vocab_size); `figures` the run's
    final evaluation (figures.json), when there is one."""
    import yaml

    task = str(meta.get("config", {}).get("task", meta.get("task", {}).get("task", "")))
    spec = meta.get("task", {})
    representation = str((spec.get("codec") or {}).get("name", "paper")
                         if isinstance(spec.get("codec"), dict) else spec.get("codec") or "")
    license_id = DATA_LICENSES.get(task, "other")
    final = next(iter(reversed(list((figures or {}).values()))), {}) if figures else {}
    metrics = [{"type": key.split("_")[0], "name": key, "value": float(value)}
               for key, value in final.items() if isinstance(value, (int, float))]
    data: dict[str, Any] = {
        "name": name, "file": weights, "task": task,
        "summary": f"{meta.get('method', 'seqgan')} generator trained on {task}",
        "method": meta.get("method"), "representation": representation or None,
        "license": license_id, "library_name": "seqgan-music",
        "tags": ["seqgan", "gan", *(["music-generation", "midi"] if spec.get("music")
                                    else ["text-generation"])],
        "datasets": [task] if task else [],
    }
    if sha256:  # checked when the model is loaded (`check_card_bytes`)
        data["sha256"] = sha256
    if metrics:
        data["model-index"] = [{"name": name, "results": [{
            "task": {"type": "music-generation" if spec.get("music") else "text-generation"},
            "dataset": {"name": str(spec.get("label") or task), "type": task},
            "metrics": metrics}]}]
    terms = ("the training data's terms (GPL-3.0 for the Nottingham tunes)" if license_id != "other"
             else "the terms of the data it was trained on: set `license` above to them")
    target = name if weights == "model.safetensors" else weights
    files = ("`config.json` (the experiment config), `model.safetensors` (the generator's "
             "weights, readable without torch), this card" if weights == "model.safetensors"
             else f"`{weights}` (the generator's weights with its config, readable without "
                  "torch), this card beside it")
    body = (f"# Model card: `{name}`\n\n"
            f"A SeqGAN generator exported by `seqgan-music export` ({meta.get('method')} on "
            f"`{task}`, {meta.get('vocab_size')} tokens). Load it with "
            f"`seqgan-music compose --model {target}` (music) or `seqgan-music generate --model "
            f"{target}`, or in Python with `seqgan_music.load_model(\"{target}\")`.\n\n"
            f"- Files: {files}.\n"
            f"- Licence: the weights carry {terms}.\n")
    front = yaml.safe_dump({k: v for k, v in data.items() if v is not None}, sort_keys=False,
                           allow_unicode=True)
    return f"---\n{front}---\n{body}"
