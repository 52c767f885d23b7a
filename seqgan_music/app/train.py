"""The library functions behind each CLI command: resolve a config, train, load, sample, evaluate.

Everything here is importable and testable without the CLI, which only parses flags and renders.
"""

from __future__ import annotations

import os
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqgan_music.config import ExperimentConfig, resolve_config
from seqgan_music.errors import CheckpointError, ConfigError, FileError
from seqgan_music.tasks import Task, check_task_options, load_task

SAMPLES_WRITTEN = 100  # samples saved in the run directory at the end of training


def build_config(
    task: Task,
    preset: str = "default",
    config_file: Path | None = None,
    overrides: list[str] | None = None,
    seed: int | None = None,
    device: str | None = None,
) -> ExperimentConfig:
    """Task defaults < preset < config file < --set overrides < --seed/--device."""
    if seed is not None:
        from seqgan_music.limits import check_seed

        check_seed(seed)  # named as the user typed it; config seeds are checked in validate
    preset_values = task.preset(preset) if task.preset_names() else {}
    config = resolve_config(task.defaults(), preset_values, config_file, overrides,
                            seed=seed, device=device, task=task.name)
    if config.task != task.name:
        raise ConfigError(f"config field task = {config.task!r} does not match task {task.name}")
    config.task_options = check_task_options(task.name, task.accepted_options,
                                             config.task_options)
    config.check_resources()
    return config


@dataclass
class TrainOutcome:
    run_dir: Path
    config: ExperimentConfig
    data_label: str = ""
    figures: dict[str, dict[str, float]] = field(default_factory=dict)
    evaluation: str = ""  # how the figures were drawn: samples per model and their seed
    rank: int = 0  # in a distributed run, the process that returns it (only rank 0 reports)


def train(
    task_name: str,
    data: Path | None = None,
    preset: str = "default",
    config_file: Path | None = None,
    overrides: list[str] | None = None,
    out_root: Path = Path("runs"),
    resume: Path | None = None,
    seed: int | None = None,
    device: str | None = None,
    method: str = "seqgan",
    reporter: Any = None,
) -> TrainOutcome:
    """Train `method` on a task in a new run directory (or continue `resume`).

    Everything is checked (checkpoint, task, data, config, model shapes) before anything is
    written. `resume` continues a run directory, or a checkpoint inside `RUN/checkpoints/`, in
    that run; any other checkpoint file starts a new run directory from it (the reporter's
    optional `note` says so). The run directory is locked while training (`runs.run_lock`).
    Returns the run directory and the task's figures for the MLE model and the final model.

    Started by torchrun (WORLD_SIZE > 1) every process calls this; they train together
    (`distributed`) and rank 0 alone writes the run directory and reports.
    """
    from seqgan_music import distributed

    if not distributed.launched():
        return _train(task_name, data, preset, config_file, overrides, out_root, resume, seed,
                      device, method, reporter)
    from seqgan_music.errors import SeqganMusicError, TrainingError

    try:
        outcome = _train(task_name, data, preset, config_file, overrides, out_root, resume,
                         seed, device, method, reporter)
    except SeqganMusicError as error:
        distributed.mark_replicated(error)  # rank 0 says it; the others stay quiet
        raise
    except RuntimeError as error:
        if not distributed.is_peer_lost(error):
            raise
        failure = TrainingError(f"{distributed.peer_lost_message(error)} The run directory "
                                "keeps its last checkpoint, if one was saved.")
        distributed.mark_replicated(failure)
        raise failure from None
    distributed.barrier()  # every rank leaves together, after rank 0 has written the run
    distributed.teardown()
    return outcome


def _train(task_name: str, data: Path | None, preset: str, config_file: Path | None,
           overrides: list[str] | None, out_root: Path, resume: Path | None, seed: int | None,
           device: str | None, method: str, reporter: Any) -> TrainOutcome:
    from seqgan_music import distributed
    from seqgan_music.errors import SeqganMusicError
    from seqgan_music.runs import (
        check_folder,
        check_not_in_use,
        load_checkpoint,
        new_run_dir,
        resume_target,
        run_lock,
        write_run_marker,
    )
    from seqgan_music.training import METHODS, Trainer, resolve_device

    if method not in METHODS:
        raise ConfigError(f"method {method!r} is unknown; accepted: {', '.join(METHODS)}")
    task = load_task(task_name)
    main = not distributed.launched() or int(os.environ.get("RANK", "0")) == 0
    if not main:
        reporter = None  # rank 0 alone reports
    with ExitStack() as stack:
        run_dir: Path | None = None
        state: dict[str, Any] | None = None
        if resume is not None:
            checkpoint, run_dir = resume_target(resume)
            if run_dir is not None and main:  # fail at once when another process trains in it
                check_not_in_use(run_dir)
            state = load_checkpoint(checkpoint)
            config, method = _resumable(state, checkpoint, task)
            data = data or _data_path(state)
        else:
            config = build_config(task, preset, config_file, overrides, seed, device)
            if preset == SMOKE_PRESET:
                _note(reporter, SMOKE_NOTE)
            _derive_seq_len(task, config, data, sets_field(task, preset, config_file, overrides,
                                                           "data", "seq_len"), reporter)
        if run_dir is None and main:
            check_folder(out_root, "runs folder")
        if resolve_device(config.device).type == "cpu":  # fails before any folder is made
            from seqgan_music.threads import describe_threads

            _note(reporter, f"CPU: {describe_threads(config.threads)}")
        world = distributed.setup(config.device)
        if world.size > 1:
            distributed.check_batch(config.train.batch_size)
            _note(reporter, f"distributed: {world.size} processes ({distributed.backend()}); "
                            f"global batch {config.train.batch_size}")
        task.reporter = reporter
        if not main:
            distributed.barrier()  # rank 0 reads the data first and fills the cache
        corpus = task.prepare(config, data)
        if main:
            distributed.barrier()
        config.data.vocab_size = corpus.vocab_size
        config.validate()
        config.check_resources()  # with the corpus's vocabulary, before any folder is made
        if data is not None:
            corpus.spec.setdefault("data_path", str(data))
        trainer = Trainer(config, corpus, method=method, reporter=reporter)
        if state is not None:
            trainer.load_state_dict(state)  # a checkpoint that does not fit fails here
        if not main:  # trains beside rank 0, writes nothing
            try:
                trainer.run()
            except SeqganMusicError as error:
                if not distributed.is_collective_error(error):  # its own: say it, with its rank
                    raise type(error)(f"rank {world.rank}: {error}") from None
                raise
            return TrainOutcome(run_dir or out_root, config, rank=world.rank)
        # Everything is checked: only now is anything written.
        seeded = run_dir is None and state is not None
        if run_dir is None:
            run_dir = new_run_dir(out_root, task.name)
        stack.enter_context(run_lock(run_dir))
        if state is not None and not seeded:
            _clean_interrupted_writes(run_dir, reporter)
        distributed.note_run_dir(run_dir)  # for `--nproc`'s message should a process fail
        metrics_lines = int(state.get("metrics_lines", 0)) if state is not None else None
        trainer.attach_run_dir(run_dir, metrics_lines)
        from seqgan_music import provenance

        provenance.record(run_dir, provenance.collect(
            preset=preset, method=method, overrides=overrides, config_file=config_file,
            seed=config.seed, resume=resume, processes=world.size, device=trainer.device,
            threads=config.threads))
        if corpus.spec.get("label"):  # said now, not only at the end of a long piped run
            _note(reporter, f"data: {corpus.spec['label']}")
        _note(reporter, f"training in {run_dir}")
        if _remaining(trainer):  # its model.safetensors (if any) is no longer the final one
            write_run_marker(run_dir, task.name, finished=False)
        if seeded:
            _note(reporter, f"{resume} is not in a run directory's checkpoints/ folder; "
                            f"continuing it in a new run directory {run_dir}")
            trainer.save()  # the new run's first checkpoint: resumable from the start
        if state is not None:
            _restore_mle_checkpoint(trainer, run_dir, None if seeded else reporter)
        return _train_in(trainer, task, run_dir, method, corpus, config)


G_PHASES = ("adversarial", "pg_bleu", "scheduled_sampling")  # phases after MLE that change G


def _clean_interrupted_writes(run_dir: Path, reporter: Any) -> None:
    """Remove the temporary files writes killed mid-way left in a run (the resume holds the
    run's lock: no other process can be writing there)."""
    from seqgan_music.safe_io import clean_temporaries

    removed = [path for folder in (run_dir, run_dir / "checkpoints", run_dir / "samples")
               for path in clean_temporaries(folder, every=True)]
    if removed:
        _note(reporter, f"removed {len(removed)} temporary file(s) of an interrupted write "
                        f"(e.g. {removed[0].relative_to(run_dir)})")


def _restore_mle_checkpoint(trainer: Any, run_dir: Path, reporter: Any) -> None:
    """A resumed run whose MLE phase is done needs checkpoints/mle.pt for the final table's
    MLE row: rebuilt from the checkpoint while nothing after MLE has changed the generator,
    else the loss is said now and in the final table (never silently)."""
    mle = run_dir / "checkpoints" / "mle.pt"
    done = trainer.progress.get("mle", 0) >= trainer.config.train.pretrain_epochs
    if not done or mle.is_file():
        return
    if not any(trainer.progress.get(phase, 0) for phase in G_PHASES):
        trainer.save(mle)  # the generator is still exactly the MLE model
        _note(reporter, f"rebuilt {mle.relative_to(run_dir)} (the MLE model, kept to evaluate "
                        "beside the final one) from the checkpoint")
        return
    if trainer.method == "mle":
        return  # its final model is the MLE model: no second row to lose
    import warnings

    from seqgan_music.errors import DataWarning

    warnings.warn(f"{mle} is missing (a write interrupted before this version kept it safe) "
                  "and cannot be rebuilt: the generator has trained past MLE; the final table "
                  "will have no MLE row", DataWarning, stacklevel=2)


def _resumable(state: dict[str, Any], checkpoint: Path, task: Task) -> tuple[ExperimentConfig,
                                                                                str]:
    """The config and method of a checkpoint that training can continue from."""
    from seqgan_music.schema import check_training_checkpoint

    check_training_checkpoint(state, checkpoint)  # every training entry, the model's shapes
    config = ExperimentConfig.from_dict(state["config"])
    if config.task != task.name:
        raise CheckpointError(f"{checkpoint} is from a {config.task} run, not {task.name}")
    return config, str(state["method"])


def _remaining(trainer: Any) -> bool:
    """Whether the trainer has steps left to train."""
    from seqgan_music.training import METHOD_PHASES

    totals = trainer.phase_totals()
    return any(trainer.progress.get(phase, 0) < totals[phase]
               for phase in METHOD_PHASES[trainer.method])


def _note(reporter: Any, message: str) -> None:
    """Tell the user something through the reporter, when it can show notes."""
    note = getattr(reporter, "note", None)
    if callable(note):
        note(message)


def _train_in(trainer: Any, task: Task, run_dir: Path, method: str, corpus: Any,
              config: ExperimentConfig) -> TrainOutcome:
    """Train to the end in a locked run directory, then write the final model and samples."""
    from seqgan_music.runs import FINAL_MODEL, atomic_write, write_run_marker

    try:
        trainer.run()
    except OSError as error:  # a FileError from a checkpoint or metrics write, usually
        latest = run_dir / "checkpoints" / "latest.pt"
        kept = (f"the last good checkpoint {latest} is kept; continue with: seqgan-music train "
                f"{task.name} --resume {run_dir}" if latest.is_file()
                else "no checkpoint had been saved yet")
        raise FileError(f"{error}; training stopped, {kept}", error.errno) from None
    # The final generator alone, readable without torch (compose starts from it in ~0.5 s).
    export_model(run_dir, run_dir / FINAL_MODEL, force=True)
    outcome = TrainOutcome(run_dir, config, data_label=str(corpus.spec.get("label", "")))
    samples = trainer.sample(SAMPLES_WRITTEN).cpu()
    task.export(samples, corpus.spec, run_dir / "samples" / f"{method}{task.sample_suffix}")
    if task.sample_suffix != ".txt":  # a readable copy beside MIDI and other binary samples
        with atomic_write(run_dir / "samples" / f"{method}.txt") as handle:
            handle.write("".join(line + "\n" for line in task.decode(samples, corpus.spec)))
    write_run_marker(run_dir, task.name, finished=True)
    outcome.figures = _beside_mle(trainer, run_dir, trainer.evaluate())
    outcome.evaluation = _evaluation_note(trainer)
    if method != "mle" and "MLE" not in outcome.figures:  # figures.json says so too
        outcome.evaluation += "; no MLE row: checkpoints/mle.pt is missing"
    outcome.figures.update(corpus.spec.get("reference_figures", {}))
    write_figures(run_dir, outcome)
    return outcome


FIGURES_FILE = "figures.json"


def write_figures(run_dir: Path, outcome: TrainOutcome) -> None:
    """The run's final evaluation table as `figures.json` (read by the studio's runs page)."""
    import json

    from seqgan_music.runs import atomic_write

    with atomic_write(run_dir / FIGURES_FILE) as handle:
        json.dump({"figures": outcome.figures, "evaluation": outcome.evaluation,
                   "data": outcome.data_label}, handle, indent=2)
        handle.write("\n")


SMOKE_PRESET = "quick"
SMOKE_NOTE = ("preset quick is a smoke test: it checks that everything runs, in about a minute; "
              "its samples and figures are not meant to be good (use --preset default)")


def sets_field(task: Task, preset: str, config_file: Path | None, overrides: list[str] | None,
               section: str, key: str) -> bool:
    """Whether the preset, the config file or a --set override sets `section.key`."""
    from seqgan_music.config import parse_override, read_toml

    layers = [task.preset(preset) if task.preset_names() else {}]
    if config_file is not None:
        layers.append(read_toml(config_file))
    layers.extend(parse_override(text) for text in overrides or [])
    return any(key in (layer.get(section) or {}) for layer in layers)


def _derive_seq_len(task: Task, config: ExperimentConfig, data: Path | None, user_set: bool,
                    reporter: Any) -> None:
    """T from the data for tasks that offer it (`data_seq_len`), unless the user set it."""
    derive = getattr(task, "data_seq_len", None)
    if user_set or derive is None:
        return
    derived = derive(config, data)
    if derived is not None:
        config.data.seq_len = int(derived)
        _note(reporter, f"T = data.seq_len = {derived} from the data (95% of its lines fit "
                        "whole); --set data.seq_len=N to choose")
        d = config.discriminator
        kept = [(w, n) for w, n in zip(d.filter_widths, d.num_filters, strict=True)
                if w <= derived]
        if len(kept) < len(d.filter_widths):  # a window longer than the sequence sees nothing
            kept = kept or [(int(derived), sum(d.num_filters))]
            d.filter_widths, d.num_filters = [w for w, _ in kept], [n for _, n in kept]
            _note(reporter, f"discriminator filter widths {d.filter_widths} (those <= T)")


def _evaluation_note(trainer: Any, num: int | None = None) -> str:
    """Samples per model and their seed: the same two give the same figures."""
    num = num or trainer.config.train.num_eval_samples
    return (f"{num:,} samples per model, drawn with evaluation seed {trainer.eval_seed} "
            f"(training seed {trainer.config.seed} + 7919)")


def _beside_mle(trainer: Any, run_dir: Path, final: dict[str, float], num: int | None = None
                ) -> dict[str, dict[str, float]]:
    """`final` figures with the run's MLE start model (checkpoints/mle.pt) evaluated beside it.

    Leaves the trainer holding the MLE model when there is one.
    """
    from seqgan_music.runs import load_checkpoint
    from seqgan_music.training import METHOD_LABELS

    figures: dict[str, dict[str, float]] = {}
    mle = run_dir / "checkpoints" / "mle.pt"
    if trainer.method != "mle" and mle.exists():
        trainer.load_state_dict(load_checkpoint(mle), resume_metrics=False)
        figures["MLE"] = trainer.evaluate(num)
    elif trainer.method != "mle":  # said, never a row silently lost
        import warnings

        from seqgan_music.errors import DataWarning

        warnings.warn(f"no MLE row in the final table: {mle} is missing", DataWarning,
                      stacklevel=2)
    figures[METHOD_LABELS.get(trainer.method, trainer.method)] = final
    return figures


def _run_dir(path: Path) -> Path:
    """The run directory of a run directory or of a checkpoint file in its checkpoints/."""
    return path if path.is_dir() else path.parent.parent


def _data_path(state: dict[str, Any]) -> Path | None:
    value = state.get("task", {}).get("data_path")
    return Path(value) if value else None


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

    from seqgan_music.models import Generator
    from seqgan_music.runs import load_checkpoint
    from seqgan_music.schema import GENERATOR_KEYS

    model = resolve_model_path(model)
    if model.suffix == ".safetensors":
        from seqgan_music.inference import read_model

        found = read_model(model)
        state: dict[str, Any] = {
            "config": found.config, "task": found.task, "method": found.method,
            "vocab_size": found.vocab_size,
            "generator": {k: torch.from_numpy(v) for k, v in found.weights.items()}}
    else:
        from seqgan_music.schema import check_checkpoint_model

        state = load_checkpoint(model, map_location=device)
        check_checkpoint_model(model, state)
    config = ExperimentConfig.from_dict(state["config"])
    from seqgan_music.training import metrical_for

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
    from seqgan_music.runs import check_output, load_checkpoint, save_checkpoint

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
    from seqgan_music.schema import check_checkpoint_model

    check_checkpoint_model(model, state)  # never pass a lying model on
    slim = {k: state[k] for k in SLIM_KEYS}
    spec = dict(state["task"])
    slim["task"] = {k: v for k, v in spec.items() if k not in ("manifest", "data_path")}
    if spec.get("data_path") and isinstance(spec.get("label"), str):
        slim["task"]["label"] = spec["label"].replace(spec["data_path"],
                                                      Path(spec["data_path"]).name)
    slim["exported_from"] = _run_dir(model).name
    if folder:
        return _export_folder(model, out, slim)
    if out.suffix == ".safetensors":
        from seqgan_music.inference import write_safetensors_model

        meta = {k: v for k, v in slim.items() if k != "generator"}
        write_safetensors_model(out, slim["generator"], meta)
        _write_card(out.with_suffix(".md"), out.stem, meta, model, out.name)
        return out
    save_checkpoint(out, slim)
    return out


FOLDER_FILES = ("config.json", "model.safetensors", "README.md")


def _check_model_folder(out: Path, force: bool) -> None:
    from seqgan_music.runs import check_folder

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; a name without a suffix is a model folder")
    taken = [out / name for name in FOLDER_FILES if (out / name).exists()]
    if taken and not force:
        raise ConfigError(f"output {taken[0]} exists; pass --force to overwrite the model folder")
    check_folder(out if out.is_dir() else out.parent)


def _export_folder(model: Path, out: Path, slim: dict[str, Any]) -> Path:
    """config.json, model.safetensors and README.md (the card) in `out`."""
    import json

    from seqgan_music.inference import write_safetensors_model
    from seqgan_music.runs import atomic_write

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

    from seqgan_music.music.zoo import card_text
    from seqgan_music.runs import atomic_write

    figures: Any = None
    with suppress(OSError, ValueError, KeyError, TypeError):
        figures = json.loads((_run_dir(model) / FIGURES_FILE).read_text())["figures"]
    digest = None  # the weights' sha256, checked when the model is loaded (issue 23)
    with suppress(OSError):
        digest = hashlib.sha256((path.parent / weights).read_bytes()).hexdigest()
    with atomic_write(path) as handle:
        handle.write(card_text(name, meta, figures if isinstance(figures, dict) else None,
                               weights, sha256=digest))


SAMPLE_BATCH = 4096  # sequences sampled together (`models.Generator.sample`'s batch)


def generate(loaded: LoadedModel, num: int, temperature: float = 1.0, seed: int = 0,
             length: int | None = None, reporter: Any = None) -> Any:
    """Sample `num` sequences (num, length) int64 from a loaded model, reproducibly by seed.

    Every size is checked first (`limits`): `num` and `length` against their stated limits and
    the memory the output needs. `reporter` (a `training.Reporter`) hears of the phase
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

    from seqgan_music.runs import atomic_write

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


def evaluate_run(model: Path, num: int | None = None, data: Path | None = None) -> TrainOutcome:
    """The task's evaluators for the run's MLE model (when saved) and its final model."""
    from seqgan_music import limits
    from seqgan_music.training import Trainer

    if num is not None:
        limits.check_count(num, "--num", limits.MAX_SAMPLES, unit="samples")
    loaded = load_model(model)
    config = loaded.config
    corpus = loaded.task.prepare(config, data or _data_path(loaded.state))
    trainer = Trainer(config, corpus, method=str(loaded.state["method"]))
    if "discriminator" in loaded.state:
        trainer.load_state_dict(loaded.state, resume_metrics=False)
    else:  # an exported or shipped model: the generator alone is what is evaluated
        trainer.generator.load_state_dict(loaded.generator.state_dict())
    figures = _beside_mle(trainer, _run_dir(resolve_model_path(model)), trainer.evaluate(num),
                          num)
    figures.update(corpus.spec.get("reference_figures", {}))
    return TrainOutcome(_run_dir(model), config, str(corpus.spec.get("label", "")), figures,
                        _evaluation_note(trainer, num))
