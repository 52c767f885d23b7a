"""Training as the CLI, the studio and the API run it: resolve a config, train a task, evaluate.

`build_config` resolves preset, config file and `--set` overrides; `train` prepares the task's
corpus, makes or resumes the run directory and runs the `trainer.loop.Trainer` through its
phases, then writes the final model, samples and `figures.json`; `evaluate_run` scores a run's
models with the task's evaluators. Everything here is importable and testable without the CLI,
which only parses flags and renders.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqgan_music.app.model import export_model, load_model, resolve_model_path
from seqgan_music.config import ExperimentConfig, resolve_config
from seqgan_music.errors import CheckpointError, ConfigError, FileError
from seqgan_music.io.runs import FIGURES_FILE, run_dir_of
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
    optional `note` says so). The run directory is locked while training (`io.runs.run_lock`).
    Returns the run directory and the task's figures for the MLE model and the final model.

    Started by torchrun (WORLD_SIZE > 1) every process calls this; they train together
    (`runtime.distributed`) and rank 0 alone writes the run directory and reports.
    """
    from seqgan_music.runtime import distributed

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
    from seqgan_music.config import METHODS
    from seqgan_music.errors import SeqganMusicError
    from seqgan_music.io.runs import (
        check_folder,
        check_not_in_use,
        load_checkpoint,
        new_run_dir,
        resume_target,
        run_lock,
        write_run_marker,
    )
    from seqgan_music.runtime import distributed
    from seqgan_music.trainer.loop import Trainer, resolve_device

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
            from seqgan_music.runtime.threads import describe_threads

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
        from seqgan_music.io import provenance

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
    from seqgan_music.io.safe_io import clean_temporaries

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
    from seqgan_music.app.schema import check_training_checkpoint

    check_training_checkpoint(state, checkpoint)  # every training entry, the model's shapes
    config = ExperimentConfig.from_dict(state["config"])
    if config.task != task.name:
        raise CheckpointError(f"{checkpoint} is from a {config.task} run, not {task.name}")
    return config, str(state["method"])


def _remaining(trainer: Any) -> bool:
    """Whether the trainer has steps left to train."""
    from seqgan_music.config import METHOD_PHASES

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
    from seqgan_music.io.runs import FINAL_MODEL, atomic_write, write_run_marker

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


def write_figures(run_dir: Path, outcome: TrainOutcome) -> None:
    """The run's final evaluation table as `figures.json` (read by the studio's runs page)."""
    import json

    from seqgan_music.io.runs import atomic_write

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
    from seqgan_music.config import METHOD_LABELS
    from seqgan_music.io.runs import load_checkpoint

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


def _data_path(state: dict[str, Any]) -> Path | None:
    value = state.get("task", {}).get("data_path")
    return Path(value) if value else None


def evaluate_run(model: Path, num: int | None = None, data: Path | None = None) -> TrainOutcome:
    """The task's evaluators for the run's MLE model (when saved) and its final model."""
    from seqgan_music import limits
    from seqgan_music.trainer.loop import Trainer

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
    figures = _beside_mle(trainer, run_dir_of(resolve_model_path(model)), trainer.evaluate(num),
                          num)
    figures.update(corpus.spec.get("reference_figures", {}))
    return TrainOutcome(run_dir_of(model), config, str(corpus.spec.get("label", "")), figures,
                        _evaluation_note(trainer, num))
