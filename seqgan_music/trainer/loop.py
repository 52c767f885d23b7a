"""Training: SeqGAN's Algorithm 1 (Yu et al. 2017) and the paper's baselines.

Phases, each resumable from a checkpoint:
- `mle`: pre-train G by maximum likelihood (teacher forcing).
- `d_pretrain`: d-steps of fresh negatives (as many as positives) x k epochs of D.
- `adversarial`: g-steps of REINFORCE, loss = -sum_t log G(y_t | Y_1:t-1) * Q(Y_1:t-1, y_t)
  (paper eq. 8), then d-steps x k epochs of D; G_beta moves after each generator update.
- `pg_bleu`: the same policy gradient with BLEU of the completions against the training data as
  the reward instead of D (the paper's PG-BLEU baseline).
- `scheduled_sampling`: Bengio et al. 2015; the probability of feeding the true token starts at 1
  and is lowered by `ss_rate_decay` per epoch.

`Trainer` owns the models, optimizers, random state and run directory and runs each phase with
the steps of `core.steps`; every method shares the same MLE start (a trainer can start from
another's checkpoint).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from seqgan_music.config import METHOD_PHASES, METHODS, ExperimentConfig
from seqgan_music.core.discriminator import Discriminator
from seqgan_music.core.generator import Generator
from seqgan_music.core.rollout import DiscriminatorScorer, Rollout, Scorer
from seqgan_music.core.steps import (
    adam,
    discriminator_epochs,
    mle_epoch,
    policy_gradient_step,
    scheduled_sampling_epoch,
)
from seqgan_music.errors import CheckpointError, ConfigError, TrainingError
from seqgan_music.io.runs import MetricsLog, dump_toml, load_checkpoint, save_checkpoint
from seqgan_music.runtime import distributed

EVAL_LOGITS = 1 << 22  # logits elements one evaluation batch may hold (16 MB)
EVAL_SEED_OFFSET = 7919  # evaluation samples are drawn with seed + this, apart from training's


@dataclass
class Corpus:
    """What a task hands to training: fixed-length token arrays and how to judge samples.

    Attributes:
        train, valid, test: (N, T) int64 token sequences.
        vocab_size: V; every token is in 0..V-1.
        evaluate: maps generated samples (N, T) int64 to named figures (the task's evaluators).
        spec: JSON-able description of the tokenizer, saved in every checkpoint.
    """

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    vocab_size: int
    evaluate: Callable[[torch.Tensor], dict[str, float]] | None = None
    spec: dict[str, Any] = field(default_factory=dict)


class Reporter(Protocol):
    """Receives progress; the CLI renders it with rich, the library stays silent."""

    def phase(self, name: str, total: int, done: int) -> None: ...

    def advance(self, name: str, record: dict[str, Any]) -> None: ...


class SilentReporter:
    def phase(self, name: str, total: int, done: int) -> None:
        pass

    def advance(self, name: str, record: dict[str, Any]) -> None:
        pass


def resolve_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; `cuda` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"device {name!r} requested but no CUDA GPU is available; use cpu or auto"
        )
    return torch.device(name)

def metrical_for(spec: dict[str, Any]) -> Any:
    """The decoding constraint of a task spec's representation (None: the paper's model)."""
    if not spec.get("codec"):
        return None
    from seqgan_music.music.codecs import codec_from_spec

    make = getattr(codec_from_spec(spec["codec"], spec), "constraint", None)
    return make() if make is not None else None


class Trainer:
    """One training run of a method on a corpus, with checkpoints, metrics and resume."""

    def __init__(
        self,
        config: ExperimentConfig,
        corpus: Corpus,
        method: str = "seqgan",
        run_dir: Path | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        if method not in METHOD_PHASES:
            raise ConfigError(f"method {method!r} is unknown; accepted: {', '.join(METHODS)}")
        self.config = config
        self.method = method
        self.reporter = reporter or SilentReporter()
        self.device = distributed.device_for(resolve_device(config.device))
        from seqgan_music.runtime.threads import choose_threads, flush_denormals
        torch.set_num_threads(choose_threads(config.threads))  # --set threads, env, free CPUs
        flush_denormals()  # no slow path for Adam's decaying moments
        from seqgan_music.runtime.allocator import keep_freed_memory  # no page faults per step
        keep_freed_memory()
        self.corpus = corpus
        self.train_data = corpus.train.to(self.device)
        self.valid_data = corpus.valid.to(self.device)
        torch.manual_seed(config.seed)
        length, vocab = config.data.seq_len, corpus.vocab_size
        self.metrical = metrical_for(corpus.spec)
        if self.metrical is not None:  # sampled tunes close within the sequence length
            self.metrical.limit = config.data.seq_len
        self.pad_token = self.metrical.codec.END if self.metrical is not None else None
        self.generator = Generator(config.generator, vocab, self.metrical).to(self.device)
        self.discriminator = Discriminator(config.discriminator, vocab, length).to(self.device)
        distributed.broadcast_parameters(self.generator, self.discriminator)  # rank 0's start
        t = config.train
        rollout_config = config.rollout
        generator_lr = t.generator_lr
        if method == "pg-bleu":  # PG-BLEU's own reward protocol (TrainConfig.pg_bleu_*)
            rollout_config = dataclasses.replace(
                config.rollout,
                num_rollouts=t.pg_bleu_rollouts or config.rollout.num_rollouts,
                rollout_update_rate=(0.0 if t.pg_bleu_rollout_policy == "generator"
                                     else config.rollout.rollout_update_rate))
            generator_lr = t.pg_bleu_lr or t.generator_lr
        self.rollout = Rollout(self.generator, rollout_config)
        self.pretrain_optimizer = adam(self.generator.parameters(), lr=t.pretrain_lr)
        self.generator_optimizer = adam(self.generator.parameters(), lr=generator_lr)
        self.discriminator_optimizer = adam(self.discriminator.parameters(),
                                            lr=t.discriminator_lr)
        seed = distributed.rank_seed(config.seed)  # config.seed with one process
        if not distributed.is_main():
            torch.manual_seed(seed)  # its own dropout masks; rank 0 keeps a single run's stream
        self.rng = torch.Generator(device="cpu").manual_seed(seed)
        self.sample_rng = (
            torch.Generator(device=self.device).manual_seed(seed + 1)
            if self.device.type == "cuda"
            else self.rng
        )
        self.progress: dict[str, int] = {}
        self.epoch = 0  # global x-axis for learning curves: MLE epochs then iterations
        self.run_dir: Path | None = None
        self.metrics: MetricsLog | None = None
        self._bleu_scorer: Scorer | None = None
        self._d_scorer = DiscriminatorScorer(self.discriminator, config.rollout.precision,
                                             config.rollout.chunk_size)
        if run_dir is not None:
            self.attach_run_dir(run_dir)

    def attach_run_dir(self, run_dir: Path, metrics_lines: int | None = None) -> None:
        """Keep config, metrics and checkpoints in `run_dir` from now on (the first write into
        it); `metrics_lines` (a resumed checkpoint's count) drops metrics logged after it."""
        from seqgan_music.io.runs import atomic_write, read_run_marker, write_run_marker

        run_dir.mkdir(parents=True, exist_ok=True)
        if read_run_marker(run_dir) is None:
            write_run_marker(run_dir, self.config.task)
        with atomic_write(run_dir / "config.toml") as handle:
            handle.write(dump_toml(self.config.to_dict()))
        self.run_dir = run_dir
        self.metrics = MetricsLog(run_dir / "metrics.jsonl")
        if metrics_lines is not None:
            self.metrics.truncate(metrics_lines)

    # ----- phases -------------------------------------------------------------------------
    def phase_totals(self) -> dict[str, int]:
        t = self.config.train
        return {
            "mle": t.pretrain_epochs,
            "d_pretrain": t.d_pretrain_steps,
            "adversarial": t.adversarial_iterations,
            "pg_bleu": t.pg_bleu_iterations or t.adversarial_iterations,
            "scheduled_sampling": t.adversarial_iterations,
        }

    def run(self, stop_after: str | None = None) -> list[dict[str, Any]]:
        """Run every remaining phase of the method (or up to and including `stop_after`)."""
        totals = self.phase_totals()
        for phase in METHOD_PHASES[self.method]:
            total = totals[phase]
            done = self.progress.get(phase, 0)
            if done < total:
                self.reporter.phase(phase, total, done)
            if done == 0 and phase == "mle":
                self._evaluate(phase, 0)
            if done == 0 and phase in ("adversarial", "pg_bleu"):
                self.rollout.sync()  # Algorithm 1, line 3: beta <- theta after pre-training
            for step in range(done, total):
                try:
                    record = self._step(phase, step)
                except TrainingError as error:
                    raise TrainingError(f"{error} {self._checkpoint_note()}") from None
                except RuntimeError as error:  # a collective whose peer process stopped
                    if not distributed.is_peer_lost(error):
                        raise
                    raise TrainingError(f"{distributed.peer_lost_message(error)} "
                                        f"{self._checkpoint_note()}") from None
                self.progress[phase] = step + 1
                self.reporter.advance(phase, record)
                last = step + 1 == total
                if last and phase == "mle" and self.run_dir is not None:
                    # the MLE model every method starts from, kept for side-by-side
                    # evaluation; written before latest.pt says MLE is done, so a kill while
                    # it is written leaves a checkpoint that redoes the last epoch and
                    # writes it again (issue 23)
                    self.save(self.run_dir / "checkpoints" / "mle.pt")
                if last or (step + 1) % self.config.train.checkpoint_every == 0:
                    self.save()
            if phase == stop_after:
                break
        return self.metrics.records() if self.metrics else []

    def _checkpoint_note(self) -> str:
        if not distributed.is_main():
            return "Rank 0 keeps the last checkpoint in the run directory."
        latest = self.run_dir / "checkpoints" / "latest.pt" if self.run_dir else None
        if latest is not None and latest.exists():
            return (f"The last good checkpoint is kept ({latest}); continue with --resume "
                    f"{self.run_dir}.")
        return "No checkpoint had been saved yet."

    def _step(self, phase: str, step: int) -> dict[str, Any]:
        t = self.config.train
        started = time.perf_counter()
        record: dict[str, Any] = {"phase": phase, "step": step + 1}
        if phase == "mle":
            record["g_loss"] = mle_epoch(self.generator, self.pretrain_optimizer,
                                         self.train_data, t.batch_size, t.grad_clip, self.rng,
                                         self.pad_token)
            self.epoch += 1
        elif phase == "d_pretrain":
            record.update(self._train_discriminator(t.d_pretrain_epochs))
        elif phase in ("adversarial", "pg_bleu"):
            scorer = self._bleu() if phase == "pg_bleu" else self._d_scorer
            for _ in range(t.g_steps):
                record.update(policy_gradient_step(
                    self.generator, self.generator_optimizer, self.rollout, scorer,
                    t.batch_size, self.config.data.seq_len, t.grad_clip, self.sample_rng,
                    t.pg_bleu_reward_baseline if phase == "pg_bleu" else t.reward_baseline))
            if phase == "adversarial":
                for _ in range(t.d_steps):
                    record.update(self._train_discriminator(t.d_epochs))
            self.epoch += 1
        elif phase == "scheduled_sampling":
            rate = max(0.0, 1.0 - t.ss_rate_decay * (step + 1))
            record["teacher_rate"] = rate
            record["g_loss"] = scheduled_sampling_epoch(
                self.generator, self.pretrain_optimizer, self.train_data, t.batch_size,
                t.grad_clip, self.rng, rate, self.sample_rng)
            self.epoch += 1
        record["seconds"] = round(time.perf_counter() - started, 4)
        if phase != "d_pretrain" and ((step + 1) % t.eval_every == 0
                                      or step + 1 == self.phase_totals()[phase]):
            record.update(self._evaluate(phase, step + 1, log=False))
        record["epoch"] = self.epoch
        self._log(record)
        return record

    def _train_discriminator(self, epochs: int) -> dict[str, float]:
        positives = self.train_data
        # each process draws its share of the negatives; all of them see every negative
        negatives = distributed.gather_rows(
            self.generator.sample(distributed.local_count(len(positives)),
                                  self.config.data.seq_len, generator=self.sample_rng),
            len(positives))
        loss, accuracy = discriminator_epochs(
            self.discriminator, self.discriminator_optimizer, positives, negatives, epochs,
            self.config.train.batch_size, self.rng, self.config.train.discriminator_precision)
        return {"d_loss": loss, "d_accuracy": accuracy}

    def _bleu(self) -> Scorer:
        if self._bleu_scorer is None:
            from seqgan_music.eval.bleu import BleuReference

            t = self.config.train
            refs = self.corpus.train
            count = (max(1, round(t.pg_bleu_reference_fraction * len(refs)))
                     if t.pg_bleu_reference_fraction else t.pg_bleu_references)
            if count and count < len(refs):  # a fixed random subset (the official: 40%)
                pick = torch.randperm(len(refs), generator=torch.Generator().manual_seed(0))
                refs = refs[pick[:count]]
            reference = BleuReference(refs.cpu().numpy(), max_n=t.pg_bleu_n)

            def score(sequences: torch.Tensor) -> torch.Tensor:
                values = reference.sentence_scores(sequences.cpu().numpy(), n=t.pg_bleu_n,
                                                   smoothing=t.pg_bleu_smoothing)
                return torch.as_tensor(values, dtype=torch.float32, device=sequences.device)

            self._bleu_scorer = score
        return self._bleu_scorer

    def sample(self, num: int, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """`num` sequences from G, drawn with `generator` (default: the training stream)."""
        return self.generator.sample(num, self.config.data.seq_len, temperature=temperature,
                                     generator=generator or self.sample_rng)

    @property
    def eval_seed(self) -> int:
        """Seed of the samples every evaluation draws (a stream of its own, so evaluating never
        moves training's random numbers, and one model always gets the same figures)."""
        return (self.config.seed + EVAL_SEED_OFFSET) % 2**63

    def evaluate(self, num: int | None = None) -> dict[str, float]:
        """The task's evaluators on `num` samples drawn with `eval_seed`, plus G's NLL on the
        validation split."""
        figures: dict[str, float] = {}
        self.generator.eval()
        with torch.inference_mode():
            if len(self.valid_data):
                figures["nll_valid"] = self.heldout_nll(self.valid_data)
            if self.corpus.evaluate is not None:
                rng = torch.Generator(device=self.device).manual_seed(self.eval_seed)
                samples = self.sample(num or self.config.train.num_eval_samples,
                                      generator=rng).cpu()
                figures.update(self.corpus.evaluate(samples))
        return figures

    @torch.inference_mode()
    def heldout_nll(self, data: torch.Tensor, batch: int | None = None) -> float:
        """G's mean per-token NLL on real sequences (N, T): how well G covers the data.

        In batches whose (rows * T, V) logits stay under `EVAL_LOGITS` elements (about 16 MB),
        so evaluating never holds the logits of the whole split (V = 5000: 400 MB a batch of
        1024 windows of 20, and twice that with the log-softmax)."""
        self.generator.eval()
        data = data.to(self.device)
        if batch is None:
            per_row = max(data.shape[1] if data.dim() > 1 else 1, 1) * self.corpus.vocab_size
            batch = max(1, min(1024, EVAL_LOGITS // per_row))
        total = sum(float(self.generator.nll(data[lo : lo + batch])) * len(data[lo : lo + batch])
                    for lo in range(0, len(data), batch))
        return total / max(len(data), 1)

    def _evaluate(self, phase: str, step: int, log: bool = True) -> dict[str, float]:
        if not distributed.is_main():  # rank 0 evaluates and logs for all
            return {}
        figures = self.evaluate()
        if log:
            self._log({"phase": phase, "step": step, "epoch": self.epoch, **figures})
        return figures

    def _log(self, record: dict[str, Any]) -> None:
        record["method"] = self.method
        if self.metrics is not None:
            self.metrics.append(record)

    # ----- checkpoints --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A snapshot of everything needed to continue (copies: later training leaves it be)."""
        rng = {"torch": torch.get_rng_state(), "sampler": self.rng.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
            rng["cuda_sampler"] = self.sample_rng.get_state()
        return copy.deepcopy({
            "config": self.config.to_dict(),
            "method": self.method,
            "progress": dict(self.progress),
            "epoch": self.epoch,
            "metrics_lines": self.metrics.count if self.metrics else 0,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "rollout": self.rollout.state_dict(),
            "optimizers": {
                "pretrain": self.pretrain_optimizer.state_dict(),
                "generator": self.generator_optimizer.state_dict(),
                "discriminator": self.discriminator_optimizer.state_dict(),
            },
            "rng": rng,
            "task": self.corpus.spec,
            "vocab_size": self.corpus.vocab_size,
        })

    def save(self, path: Path | None = None) -> Path | None:
        if path is None:
            if self.run_dir is None:
                return None
            path = self.run_dir / "checkpoints" / "latest.pt"
        save_checkpoint(path, self.state_dict())
        return path

    def load_state_dict(self, state: dict[str, Any], resume_metrics: bool = True) -> None:
        """Restore models, optimizers, RNG and progress from a checkpoint dict."""
        if state.get("vocab_size") != self.corpus.vocab_size:
            raise CheckpointError(
                f"checkpoint vocabulary size {state.get('vocab_size')} does not match the "
                f"corpus ({self.corpus.vocab_size})"
            )
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            self.rollout.load_state_dict(state["rollout"])
            # Optimizer.load_state_dict keeps the given tensors; copy them so that trainers
            # started from one state dict never share moment estimates.
            optimizers = copy.deepcopy(state["optimizers"])
            self.pretrain_optimizer.load_state_dict(optimizers["pretrain"])
            self.generator_optimizer.load_state_dict(optimizers["generator"])
            self.discriminator_optimizer.load_state_dict(optimizers["discriminator"])
        except (KeyError, RuntimeError, ValueError) as error:
            first = str(error).splitlines()[0]
            raise CheckpointError(f"checkpoint does not fit this model: {first}") from None
        if self.rollout.policy is not self.generator and not state["rollout"]:
            # Saved with rollout_update_rate 0 (G itself): start G_beta from G.
            self.rollout.policy.load_state_dict(self.generator.state_dict())
        torch.set_rng_state(state["rng"]["torch"])
        self.rng.set_state(state["rng"]["sampler"])
        if self.device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
            self.sample_rng.set_state(state["rng"]["cuda_sampler"])
        self.progress = {k: int(v) for k, v in state["progress"].items()}
        if not distributed.is_main():  # the checkpoint holds rank 0's streams: derive ours
            seed = distributed.rank_seed(self.config.seed + sum(self.progress.values()))
            torch.manual_seed(seed)
            self.rng.manual_seed(seed)
            self.sample_rng.manual_seed(seed + 1)
        self.epoch = int(state.get("epoch", 0))
        if resume_metrics and self.metrics is not None:
            self.metrics.truncate(int(state.get("metrics_lines", 0)))

    def resume(self, path: Path) -> None:
        self.load_state_dict(load_checkpoint(path, map_location=str(self.device)))
