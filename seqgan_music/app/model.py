"""A trained model as the library's functions use it: load, sample, write samples, export.

`load_model` reads a run directory, checkpoint, model folder, exported file or shipped model
into a `LoadedModel` (generator, config, task); `generate` samples from it; `write_samples`
writes the samples in the format the output's suffix names; `export_model` writes the
generator alone (a small `.safetensors` or `.pt`, or a model folder with its card).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqgan_music.config import ExperimentConfig
from seqgan_music.errors import CheckpointError, ConfigError
from seqgan_music.io.runs import FIGURES_FILE, run_dir_of
from seqgan_music.tasks import Task, load_task


@dataclass
class LoadedModel:
    """A trained generator with its config, task and tokenizer spec."""

    config: ExperimentConfig
    task: Task
    generator: Any
    state: dict[str, Any]
    path: Path


def resolve_model_path(model: Path) -> Path:
    """The file or run directory a `--model` value names: an existing path (a model folder
    becomes its model.safetensors), else a shipped model's name (`seqgan-music models`)."""
    if model.exists():
        if model.is_dir() and (model / "model.safetensors").is_file() \
                and not (model / "checkpoints" / "latest.pt").exists():
            return model / "model.safetensors"
        return model
    name = str(model)
    if "/" not in name and "\\" not in name and not model.suffix:
        from seqgan_music.music.zoo import find_shipped, shipped_models

        if shipped_models():
            return find_shipped(name).path
    raise CheckpointError(f"--model {model} does not exist; pass a run directory, a checkpoint, "
                          "a model folder or a shipped model's name (seqgan-music models)")


def load_model(model: Path, device: str = "cpu") -> LoadedModel:
    """Load the generator of a run directory, checkpoint, model folder, exported model file or
    shipped model (by name)."""
    import torch

    from seqgan_music.app.schema import GENERATOR_KEYS
    from seqgan_music.core.generator import Generator
    from seqgan_music.io.runs import load_checkpoint

    model = resolve_model_path(model)
    if model.suffix == ".safetensors":
        from seqgan_music.app.inference import read_model

        found = read_model(model)
        state: dict[str, Any] = {
            "config": found.config, "task": found.task, "method": found.method,
            "vocab_size": found.vocab_size,
            "generator": {k: torch.from_numpy(v) for k, v in found.weights.items()}}
    else:
        from seqgan_music.app.schema import check_checkpoint_model

        state = load_checkpoint(model, map_location=device)
        check_checkpoint_model(model, state)
    config = ExperimentConfig.from_dict(state["config"])
    from seqgan_music.trainer.loop import metrical_for

    generator = Generator(config.generator, int(state["vocab_size"]),
                          metrical_for(state.get("task") or {}))
    keys = (*GENERATOR_KEYS, *(["position.weight"] if generator.metrical is not None else []))
    try:
        generator.load_state_dict({k: state["generator"][k] for k in keys})
    except RuntimeError as error:  # pragma: no cover - the schema checked every shape
        raise CheckpointError(f"{model} does not hold a usable generator: {error}") from None
    generator.to(device).eval()
    return LoadedModel(config, load_task(config.task), generator, state, model)


SLIM_KEYS = ("config", "method", "progress", "generator", "task", "vocab_size")


def export_model(model: Path, out: Path, force: bool = False) -> Path:
    """Write the generator of a run (or checkpoint) alone: a small file that `generate`,
    `compose` and `--model` accept, without the discriminator and optimizer states.

    `.safetensors` needs no torch to read (compose starts fastest from it); `.pt` is a slim
    checkpoint. A name without a suffix is a model folder in the shape of the Hugging Face
    Hub's `save_pretrained`: `config.json`, `model.safetensors` and `README.md`, the model card
    (its YAML metadata carries the Hub's fields). None carries paths of this machine.
    """
    from seqgan_music.io.runs import check_output, load_checkpoint, save_checkpoint

    folder = out.suffix == ""
    if folder:
        _check_model_folder(out, force)
    else:
        check_output(out, force)
        if out.suffix == ".safetensors":  # its model card goes beside it (as the shipped ones)
            check_output(out.with_suffix(".md"), force)
    if not folder and out.suffix not in (".pt", ".safetensors"):
        raise ConfigError(f"--out {out} must end in .safetensors or .pt, or name a folder "
                          "(no suffix: config.json, model.safetensors and a model card)")
    state = load_checkpoint(model)
    missing = [k for k in SLIM_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{model} lacks {', '.join(missing)}; not a training checkpoint")
    from seqgan_music.app.schema import check_checkpoint_model

    check_checkpoint_model(model, state)  # never pass a lying model on
    slim = {k: state[k] for k in SLIM_KEYS}
    spec = dict(state["task"])
    slim["task"] = {k: v for k, v in spec.items() if k not in ("manifest", "data_path")}
    if spec.get("data_path") and isinstance(spec.get("label"), str):
        slim["task"]["label"] = spec["label"].replace(spec["data_path"],
                                                      Path(spec["data_path"]).name)
    slim["exported_from"] = run_dir_of(model).name
    if folder:
        return _export_folder(model, out, slim)
    if out.suffix == ".safetensors":
        from seqgan_music.app.inference import write_safetensors_model

        meta = {k: v for k, v in slim.items() if k != "generator"}
        write_safetensors_model(out, slim["generator"], meta)
        _write_card(out.with_suffix(".md"), out.stem, meta, model, out.name)
        return out
    save_checkpoint(out, slim)
    return out


FOLDER_FILES = ("config.json", "model.safetensors", "README.md")


def _check_model_folder(out: Path, force: bool) -> None:
    from seqgan_music.io.runs import check_folder

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; a name without a suffix is a model folder")
    taken = [out / name for name in FOLDER_FILES if (out / name).exists()]
    if taken and not force:
        raise ConfigError(f"output {taken[0]} exists; pass --force to overwrite the model folder")
    check_folder(out if out.is_dir() else out.parent)


def _export_folder(model: Path, out: Path, slim: dict[str, Any]) -> Path:
    """config.json, model.safetensors and README.md (the card) in `out`."""
    import json

    from seqgan_music.app.inference import write_safetensors_model
    from seqgan_music.io.runs import atomic_write

    meta = {k: v for k, v in slim.items() if k != "generator"}
    out.mkdir(parents=True, exist_ok=True)
    write_safetensors_model(out / "model.safetensors", slim["generator"], meta)
    with atomic_write(out / "config.json") as handle:
        json.dump({"library_name": "seqgan-music", "model_type": "seqgan-generator",
                   "vocab_size": meta["vocab_size"], "method": meta["method"],
                   **meta["config"]}, handle, indent=2)
        handle.write("\n")
    _write_card(out / "README.md", out.name, meta, model)
    return out


def _write_card(path: Path, name: str, meta: dict[str, Any], model: Path,
                weights: str = "model.safetensors") -> None:
    """The model card of an exported model, with the run's final figures when it has them."""
    import hashlib
    import json

    from seqgan_music.io.runs import atomic_write
    from seqgan_music.music.zoo import card_text

    figures: Any = None
    with suppress(OSError, ValueError, KeyError, TypeError):
        figures = json.loads((run_dir_of(model) / FIGURES_FILE).read_text())["figures"]
    digest = None  # the weights' sha256, checked when the model is loaded (issue 23)
    with suppress(OSError):
        digest = hashlib.sha256((path.parent / weights).read_bytes()).hexdigest()
    with atomic_write(path) as handle:
        handle.write(card_text(name, meta, figures if isinstance(figures, dict) else None,
                               weights, sha256=digest))


SAMPLE_BATCH = 4096  # sequences sampled together (`Generator.sample`'s batch)


def generate(loaded: LoadedModel, num: int, temperature: float = 1.0, seed: int = 0,
             length: int | None = None, reporter: Any = None) -> Any:
    """Sample `num` sequences (num, length) int64 from a loaded model, reproducibly by seed.

    Every size is checked first (`limits`): `num` and `length` against their stated limits and
    the memory the output needs. `reporter` (a `trainer.loop.Reporter`) hears of the phase
    "sample", one step per batch of `SAMPLE_BATCH` sequences.
    """
    import torch

    from seqgan_music import limits

    limits.check_count(num, "--num", limits.MAX_SAMPLES, unit="samples")
    temperature = limits.check_temperature(temperature)
    limits.check_seed(seed)
    length = limits.check_count(length or default_length(loaded), "--length",
                                limits.MAX_LENGTH, unit="tokens")
    config = loaded.config
    limits.check_memory(
        limits.sampling_bytes(num, length, config.generator.hidden_dim, config.data.vocab_size),
        f"--num {num} samples of {length} tokens", "ask for fewer samples")
    device = next(loaded.generator.parameters()).device
    rng = torch.Generator(device=device).manual_seed(seed)
    if reporter is not None:
        reporter.phase("sample", -(-num // SAMPLE_BATCH), 0)
    parts = []
    with torch.inference_mode():
        # Batch by batch with one generator: the same draws as one call of the whole size.
        for lo in range(0, num, SAMPLE_BATCH):
            parts.append(loaded.generator.sample(min(SAMPLE_BATCH, num - lo), length,
                                                 temperature=temperature, generator=rng,
                                                 batch_size=SAMPLE_BATCH).cpu())
            if reporter is not None:
                reporter.advance("sample", {})
    return torch.cat(parts)


def default_length(loaded: LoadedModel) -> int:
    """Tokens to sample: a whole tune for a music representation with an end token (its
    codec's default length; the tune stops at the end token), else the training window."""
    spec = loaded.state.get("task", {})
    if spec.get("music"):
        from seqgan_music.music.codecs import codec_from_spec

        codec = codec_from_spec(spec.get("codec"), spec)
        if codec.end_token() is not None:
            return int(codec.default_length)
    return int(loaded.config.data.seq_len)


TEXT_SUFFIXES = (".txt", ".text")
JSONL_SUFFIX = ".jsonl"


def output_format(task: Task, out: Path) -> str:
    """How samples of `task` are written to `out`, chosen by its suffix: "export" (the task's
    own format: MIDI for music), "text" (one decoded sample per line) or "jsonl".

    Raises:
        ConfigError: the suffix is not one the task can write (e.g. a text model to `.mid`).
    """
    suffix = out.suffix.lower()
    if suffix in task.export_suffixes:
        return "export"
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix == JSONL_SUFFIX:
        return "jsonl"
    accepted = ", ".join(dict.fromkeys((*task.export_suffixes, *TEXT_SUFFIXES, JSONL_SUFFIX)))
    raise ConfigError(f"--out {out} does not suit a {task.name} model: suffix "
                      f"{suffix or '(none)'} is not one of {accepted}")


def write_samples(loaded: LoadedModel, tokens: Any, out: Path) -> list[Path]:
    """Write samples (N, T) int64 to `out` in the format its suffix names (`output_format`)."""
    import json

    from seqgan_music.io.runs import atomic_write

    kind = output_format(loaded.task, out)
    spec = loaded.state.get("task", {})
    if kind == "export":
        return loaded.task.export(tokens, spec, out)
    lines = loaded.task.decode(tokens, spec)
    with atomic_write(out) as handle:
        if kind == "jsonl":
            handle.writelines(json.dumps({"text": line}, ensure_ascii=False) + "\n"
                              for line in lines)
        else:
            handle.write("".join(line + "\n" for line in lines))
    return [out]
