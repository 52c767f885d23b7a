"""Configuration: one dataclass per component, composed into `ExperimentConfig`.

Defaults are the official SeqGAN code's synthetic-experiment values (Yu et al. 2017, Appendix and
`LantaoYu/SeqGAN`), so `ExperimentConfig()` is the paper's setting. Presets are TOML files that
override them; `--set key=value` overrides a single dotted field. Every value is validated with an
error that names the field, the value received and what is accepted.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqgan_music.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MAX_LEARNING_RATE = 1e6
OFFICIAL_FILTER_WIDTHS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
OFFICIAL_NUM_FILTERS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)
# the training methods (the paper's SeqGAN and its baselines) and the phases each runs, in order
METHOD_PHASES: dict[str, tuple[str, ...]] = {
    "mle": ("mle",),
    "seqgan": ("mle", "d_pretrain", "adversarial"),
    "pg-bleu": ("mle", "pg_bleu"),
    "ss": ("mle", "scheduled_sampling"),
}
METHODS = tuple(METHOD_PHASES)
METHOD_LABELS = {"mle": "MLE", "seqgan": "SeqGAN", "ss": "SS", "pg-bleu": "PG-BLEU"}
SMOOTHINGS = ("method1", "nltk-3.2.1", "none")  # BLEU smoothings (`eval.bleu`)


@dataclass
class DataConfig:
    """Sequence shape. `vocab_size` is filled in by the task once its tokenizer is built."""

    seq_len: int = 20
    vocab_size: int = 5000


@dataclass
class GeneratorConfig:
    """Generator G_theta: embedding -> LSTM -> logits over V (paper section 4)."""

    embedding_dim: int = 32
    hidden_dim: int = 32
    start_token: int = 0
    init_std: float = 0.1  # the official code draws every parameter from N(0, 0.1)


@dataclass
class DiscriminatorConfig:
    """Discriminator D_phi: CNN with highway and dropout (paper section 4, Kim 2014)."""

    embedding_dim: int = 64
    filter_widths: list[int] = field(default_factory=lambda: list(OFFICIAL_FILTER_WIDTHS))
    num_filters: list[int] = field(default_factory=lambda: list(OFFICIAL_NUM_FILTERS))
    dropout: float = 0.25
    # The official two-class softmax output with L2 0.2 penalises the logit difference as 0.1
    # does on our single logit (see `Discriminator.l2_penalty`).
    l2_reg: float = 0.1
    highway_gate_bias: float = 0.0  # the official code calls highway(..., bias=0)
    # "official": the official code's initialisation (uniform embeddings, truncated-normal
    # convolutions, bias 0.1); "pytorch": torch.nn's default initialisation.
    init: str = "official"


@dataclass
class RolloutConfig:
    """Monte Carlo rewards Q(Y_1:t-1, y_t) (paper eq. 4)."""

    num_rollouts: int = 16
    rollout_update_rate: float = 0.8
    chunk_size: int = 2048
    # "auto" scores rollouts with bf16 matmuls where the CPU has native bf16 (or on CUDA), else
    # float32; rewards differ from float32 by about 1e-3, far below the Monte Carlo noise.
    precision: str = "auto"
    # "token": Q for every prefix (the paper); "bar": Q only for prefixes that end on a bar line
    # (whole tunes: ~30 roll-out points a tune instead of ~300; each token gets the Q of the
    # first bar line at or after it). Needs a representation with bar lines and a constraint.
    reward_at: str = "token"


@dataclass
class TrainConfig:
    """Optimisation schedule of Algorithm 1 and of the baselines."""

    batch_size: int = 64
    pretrain_epochs: int = 120
    pretrain_lr: float = 0.01
    generator_lr: float = 0.01
    grad_clip: float = 5.0
    discriminator_lr: float = 1e-4
    d_pretrain_steps: int = 50
    d_pretrain_epochs: int = 3
    adversarial_iterations: int = 200
    g_steps: int = 1
    d_steps: int = 5
    d_epochs: int = 3
    reward_baseline: bool = False
    # D training in bf16 autocast ("auto": where the CPU or GPU has native bf16); weights,
    # optimizer state and the loss stay float32.
    discriminator_precision: str = "auto"
    eval_every: int = 5
    checkpoint_every: int = 10
    num_eval_samples: int = 10000
    ss_rate_decay: float = 0.002
    # PG-BLEU's reward protocol (the paper's baseline: REINFORCE with BLEU of the completions
    # against training sequences as the reward). The official one (LantaoYu/SeqGAN, pg_bleu/):
    # n 3, smoothing "nltk-3.2.1", reference fraction 0.4, 1 roll-out by G itself, no baseline,
    # Adam 0.001, 800 iterations; see docs/results.md.
    pg_bleu_n: int = 4
    pg_bleu_smoothing: str = "method1"  # method1 | nltk-3.2.1 | none (seqgan_music.eval.bleu)
    pg_bleu_references: int = 0  # 0 = all training sequences (or the fraction below)
    pg_bleu_reference_fraction: float = 0.0  # > 0: this share of the training sequences
    pg_bleu_rollouts: int = 0  # 0 = rollout.num_rollouts
    pg_bleu_rollout_policy: str = "delayed"  # delayed (G_beta, as SeqGAN) | generator (G itself)
    pg_bleu_lr: float = 0.0  # 0 = train.generator_lr
    pg_bleu_iterations: int = 0  # 0 = train.adversarial_iterations
    pg_bleu_reward_baseline: bool = False  # subtract the batch-mean reward


@dataclass
class ExperimentConfig:
    """Everything one training run needs; saved in every run directory and checkpoint."""

    task: str = "oracle"
    seed: int = 88
    device: str = "auto"
    threads: int = 0  # 0 = choose (seqgan_music.runtime.threads)
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    task_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExperimentConfig:
        config = cls()
        apply_dict(config, values)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise `ConfigError` naming the first invalid field."""
        from seqgan_music import limits

        limits.check_seed(self.seed, "config field seed")
        for name, value in _float_fields(self):  # nan and inf pass every comparison below
            limits.check_finite(value, name)
        _check(self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"),
               "device", self.device, "auto, cpu, cuda or cuda:N")
        _check(self.threads >= 0, "threads", self.threads, "an integer >= 0")
        d, g, dis, r, t = self.data, self.generator, self.discriminator, self.rollout, self.train
        _check(d.seq_len >= 2, "data.seq_len", d.seq_len, "an integer >= 2")
        _check(d.vocab_size >= 2, "data.vocab_size", d.vocab_size, "an integer >= 2")
        for name in ("embedding_dim", "hidden_dim"):
            _check(getattr(g, name) >= 1, f"generator.{name}", getattr(g, name), "an integer >= 1")
        _check(0 <= g.start_token < d.vocab_size, "generator.start_token", g.start_token,
               f"a token id in 0..{d.vocab_size - 1}")
        _check(g.init_std > 0, "generator.init_std", g.init_std, "a number > 0")
        _check(dis.embedding_dim >= 1, "discriminator.embedding_dim", dis.embedding_dim,
               "an integer >= 1")
        _check(len(dis.filter_widths) >= 1 and len(dis.filter_widths) == len(dis.num_filters),
               "discriminator.num_filters", dis.num_filters,
               f"one positive count per filter width ({len(dis.filter_widths)} widths)")
        for w in dis.filter_widths:
            _check(1 <= w <= d.seq_len, "discriminator.filter_widths", dis.filter_widths,
                   f"widths between 1 and the sequence length T = {d.seq_len}")
        for n in dis.num_filters:
            _check(n >= 1, "discriminator.num_filters", dis.num_filters, "positive counts")
        _check(0 <= dis.dropout < 1, "discriminator.dropout", dis.dropout, "a number in [0, 1)")
        _check(dis.l2_reg >= 0, "discriminator.l2_reg", dis.l2_reg, "a number >= 0")
        _check(dis.init in ("official", "pytorch"), "discriminator.init", dis.init,
               "official or pytorch")
        _check(r.num_rollouts >= 1, "rollout.num_rollouts", r.num_rollouts, "an integer >= 1")
        # rate 1 would freeze G_beta at the pre-trained generator forever
        _check(0 <= r.rollout_update_rate < 1, "rollout.rollout_update_rate",
               r.rollout_update_rate, "a number in [0, 1) (0 = roll out with G itself)")
        _check(r.chunk_size >= 1, "rollout.chunk_size", r.chunk_size, "an integer >= 1")
        _check(r.reward_at in ("token", "bar"), "rollout.reward_at", r.reward_at,
               "token or bar")
        _check(r.precision in ("auto", "float32", "bfloat16"), "rollout.precision", r.precision,
               "auto, float32 or bfloat16")
        for name in ("batch_size", "g_steps", "d_steps", "d_epochs", "eval_every",
                     "checkpoint_every", "num_eval_samples", "pg_bleu_n"):
            _check(getattr(t, name) >= 1, f"train.{name}", getattr(t, name), "an integer >= 1")
        for name in ("pretrain_epochs", "d_pretrain_steps", "d_pretrain_epochs",
                     "adversarial_iterations", "pg_bleu_references", "pg_bleu_rollouts",
                     "pg_bleu_iterations"):
            _check(getattr(t, name) >= 0, f"train.{name}", getattr(t, name), "an integer >= 0")
        for name in ("pretrain_lr", "generator_lr", "discriminator_lr"):
            # Adam divides the rate by (1 - beta^t): a rate near float32's maximum overflows
            _check(0 < getattr(t, name) <= MAX_LEARNING_RATE, f"train.{name}", getattr(t, name),
                   f"a number > 0 and <= {MAX_LEARNING_RATE:g}")
        _check(t.grad_clip > 0, "train.grad_clip", t.grad_clip, "a number > 0")
        _check(t.discriminator_precision in ("auto", "float32", "bfloat16"),
               "train.discriminator_precision", t.discriminator_precision,
               "auto, float32 or bfloat16")
        _check(0 <= t.ss_rate_decay <= 1, "train.ss_rate_decay", t.ss_rate_decay,
               "a number in [0, 1]")
        _check(t.pg_bleu_smoothing in SMOOTHINGS, "train.pg_bleu_smoothing",
               t.pg_bleu_smoothing, " or ".join(SMOOTHINGS))
        _check(0 <= t.pg_bleu_reference_fraction <= 1, "train.pg_bleu_reference_fraction",
               t.pg_bleu_reference_fraction, "a number in [0, 1] (0 = use pg_bleu_references)")
        _check(not (t.pg_bleu_reference_fraction and t.pg_bleu_references),
               "train.pg_bleu_reference_fraction", t.pg_bleu_reference_fraction,
               f"0 when train.pg_bleu_references is set ({t.pg_bleu_references}); give one of them")
        _check(t.pg_bleu_rollout_policy in ("delayed", "generator"),
               "train.pg_bleu_rollout_policy", t.pg_bleu_rollout_policy, "delayed or generator")
        _check(0 <= t.pg_bleu_lr <= MAX_LEARNING_RATE, "train.pg_bleu_lr", t.pg_bleu_lr,
               f"0 (= train.generator_lr) or a number > 0 and <= {MAX_LEARNING_RATE:g}")

    def check_resources(self) -> None:
        """Raise `ConfigError` when training this config needs more memory than this machine
        has (checked before training; a trained model loads anywhere without it)."""
        from seqgan_music import limits

        d, g, dis, r, t = self.data, self.generator, self.discriminator, self.rollout, self.train
        limits.check_memory(
            limits.rollout_bytes(d.seq_len, t.batch_size, r.num_rollouts, g.hidden_dim,
                                 dis.embedding_dim + sum(dis.num_filters)),
            f"rollout.num_rollouts = {r.num_rollouts} with train.batch_size = {t.batch_size} "
            f"and data.seq_len = {d.seq_len} (one roll-out holds (T-1)*B*N completions)",
            "lower rollout.num_rollouts or train.batch_size")
        widths = sum(w * n for w, n in zip(dis.filter_widths, dis.num_filters, strict=True))
        parameters = (d.vocab_size * (g.embedding_dim + g.hidden_dim + 1)
                      + 4 * g.hidden_dim * (g.embedding_dim + g.hidden_dim + 2)
                      + d.vocab_size * dis.embedding_dim + widths * dis.embedding_dim
                      + 2 * sum(dis.num_filters) ** 2)
        # weights, gradients and Adam's two moments, float32; the roll-out policy copies G
        limits.check_memory(parameters * 4 * 5, f"training {parameters:,} parameters (V = "
                            f"{d.vocab_size}, generator E = {g.embedding_dim}, H = "
                            f"{g.hidden_dim})", "use smaller dimensions or a smaller vocabulary")
        limits.check_memory(
            limits.sampling_bytes(t.num_eval_samples, d.seq_len, g.hidden_dim, d.vocab_size),
            f"train.num_eval_samples = {t.num_eval_samples} of data.seq_len = {d.seq_len}",
            "lower train.num_eval_samples")
        limits.check_memory(
            # MLE step: logits, softmax and their gradients (B, T, V) float32
            4 * t.batch_size * d.seq_len * d.vocab_size * 4,
            f"train.batch_size = {t.batch_size} with data.seq_len = {d.seq_len} and "
            f"V = {d.vocab_size}", "lower train.batch_size")


def _float_fields(config: ExperimentConfig) -> list[tuple[str, float]]:
    """(dotted name, value) of every float field of the config."""
    found = []
    for section in dataclasses.fields(config):
        value = getattr(config, section.name)
        if dataclasses.is_dataclass(value):
            found += [(f"{section.name}.{f.name}", getattr(value, f.name))
                      for f in dataclasses.fields(value)
                      if isinstance(getattr(value, f.name), float)]
    return found


def _check(ok: bool, name: str, value: object, accepted: str) -> None:
    if not ok:
        raise ConfigError(f"config field {name} = {value!r} is invalid: expected {accepted}")


def apply_dict(target: Any, values: dict[str, Any], prefix: str = "") -> None:
    """Copy nested `values` onto the dataclass `target`, rejecting unknown or mistyped keys."""
    if not isinstance(values, dict):
        raise ConfigError(f"config section {prefix.rstrip('.') or '<root>'} must be a table")
    fields = {f.name: f for f in dataclasses.fields(target)}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(
                f"unknown config field {name!r}; accepted: {', '.join(prefix + k for k in fields)}"
            )
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            apply_dict(current, value, prefix=f"{name}.")
        elif isinstance(current, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config field {name} must be a table, got {value!r}")
            current.update(value)
        else:
            setattr(target, key, _coerce(name, current, value))


def _coerce(name: str, current: object, value: object) -> object:
    """Check `value` against the type of the default `current`; ints are accepted for floats."""
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value  # type: ignore[arg-type]
    elif isinstance(current, str):
        ok = isinstance(value, str)
    elif isinstance(current, list):
        ok = isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
    else:  # pragma: no cover - every field has one of the types above
        ok = True
    if not ok:
        raise ConfigError(
            f"config field {name} = {value!r} has the wrong type: expected "
            f"{type(current).__name__} like {current!r}"
        )
    return value


def parse_override(text: str) -> dict[str, Any]:
    """Turn `a.b=value` into `{"a": {"b": value}}`; the value is read as TOML, else a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            f"--set {text!r} is invalid: expected key=value, e.g. train.batch_size=32"
        )
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    nested: dict[str, Any] = {}
    node = nested
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return nested


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML config file with errors that name the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge two nested dicts; `update` wins."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_config(
    task_defaults: dict[str, Any],
    preset: dict[str, Any],
    config_file: Path | None = None,
    overrides: list[str] | None = None,
    **top_level: Any,
) -> ExperimentConfig:
    """Layer task defaults < preset < config file < --set overrides < explicit CLI flags."""
    values = merge(task_defaults, preset)
    if config_file is not None:
        values = merge(values, read_toml(config_file))
    for text in overrides or []:
        values = merge(values, parse_override(text))
    values = merge(values, {k: v for k, v in top_level.items() if v is not None})
    return ExperimentConfig.from_dict(values)
