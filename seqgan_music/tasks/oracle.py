"""The `oracle` task and `run_benchmark`, the paper's synthetic experiment (Table 1).

Training data are 10,000 samples of length 20 from the oracle LSTM (`seqgan_music.core.oracle`); the
evaluator is NLL-oracle. `run_benchmark` trains every method from the same MLE start and writes
the table (mean per-token NLL-oracle, its standard deviation over sequences, Welch's t-test
against SeqGAN), the learning curves as CSV and a PNG plot.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqgan_music.errors import ConfigError, DataError
from seqgan_music.io.downloads import sha256_file
from seqgan_music.tasks import (
    Task,
    TaskOption,
    builtin_presets,
    count_option,
    data_root,
    seed_option,
)

if TYPE_CHECKING:
    import numpy as np

    from seqgan_music.config import ExperimentConfig
    from seqgan_music.core.oracle import OracleLSTM
    from seqgan_music.trainer.loop import Corpus, Reporter

# The paper's "Random" (10.310) sits beside both first rows: uniform tokens score about 11.42
# under the official oracle, G after one MLE epoch about 10.3 (the official log's first point,
# "epoch: 0", is written after the first epoch), so the paper's Random is most likely that point.
PAPER_TABLE1 = {"random": 10.310, "mle-1": 10.310, "mle": 9.038, "ss": 8.985, "pg-bleu": 8.946,
                "seqgan": 8.736}
# Paper order; the trained methods' labels are training.METHOD_LABELS (kept literal here so that
# importing the task does not import torch).
METHOD_LABELS = {"random": "Random", "mle": "MLE", "ss": "SS", "pg-bleu": "PG-BLEU",
                 "seqgan": "SeqGAN"}
BENCHMARK_METHODS = tuple(METHOD_LABELS)
# Every row of the table: the methods, plus G after one MLE epoch (added with "random").
ROW_LABELS = {"random": "Random (uniform tokens)", "mle-1": "G after one MLE epoch",
              **{k: v for k, v in METHOD_LABELS.items() if k != "random"}}
OFFICIAL_SHA256 = "4f1a3c02bcce12b528caa4f38505393ab6d276c8501b18539b69023e34c433d4"
TASK_OPTIONS = ("num_train", "num_valid", "num_test", "oracle_params", "oracle_dim",
                "oracle_seed")


def find_oracle_params(explicit: str | Path | None) -> Path | None:
    """`explicit` (must exist), else `$SEQGAN_MUSIC_DATA/oracle/target_params.npz`, else None."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise DataError(
                f"oracle parameters {path} do not exist; pass the official target_params.npz "
                "(see datasets/oracle.md) or leave --oracle-params out for a random oracle"
            )
        return path
    root = data_root()
    if root is not None and (root / "oracle" / "target_params.npz").is_file():
        return root / "oracle" / "target_params.npz"
    return None


def load_oracle(config: ExperimentConfig, params: str | Path | None = None
                ) -> tuple[OracleLSTM, dict[str, Any]]:
    """The oracle for `config` and a description of it (saved as the task spec)."""
    from seqgan_music.core.oracle import OracleLSTM

    options = config.task_options
    unknown = sorted(set(options) - set(TASK_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown oracle option(s) task_options.{', task_options.'.join(unknown)}"
                          f"; accepted: {', '.join(TASK_OPTIONS)}")
    path = find_oracle_params(params or options.get("oracle_params") or None)
    if path is not None:
        try:
            oracle = OracleLSTM.from_npz(path)
        except (OSError, ValueError, KeyError) as error:
            from seqgan_music.io.runs import load_error_reason

            raise DataError(f"oracle parameters {path} cannot be read: "
                            f"{load_error_reason(error)}") from None
        digest = sha256_file(path)
        official = digest == OFFICIAL_SHA256
        label = "official SeqGAN oracle" if official else f"oracle parameters from {path.name}"
        spec: dict[str, Any] = {"oracle": "official" if official else "file", "path": str(path),
                "sha256": digest, "label": label, "comparable_with_paper": official}
    else:
        seed = int(options.get("oracle_seed", config.seed))
        oracle = OracleLSTM.random(seed, config.data.vocab_size,
                                   int(options.get("oracle_dim", 32)))
        spec = {"oracle": "random", "seed": seed,
                "label": f"random N(0,1) oracle (seed {seed}): NOT comparable with the paper's "
                         "numbers", "comparable_with_paper": False}
    if oracle.vocab_size != config.data.vocab_size:
        raise DataError(
            f"oracle vocabulary is {oracle.vocab_size} but data.vocab_size is "
            f"{config.data.vocab_size}; set data.vocab_size={oracle.vocab_size}"
        )
    return oracle, spec


class OracleTask(Task):
    """Samples of an LSTM oracle as data; NLL-oracle as the exact score."""

    name = "oracle"
    summary = "SeqGAN's synthetic benchmark: LSTM oracle data, NLL-oracle (paper Table 1)"
    preset_root = builtin_presets("oracle")
    accepted_options = {"num_train": count_option(10000, 1, 10**7),
                        "num_valid": count_option(1000, 1, 10**7),
                        "num_test": count_option(1000, 1, 10**7),
                        "oracle_params": TaskOption(""), "oracle_dim": count_option(32, 1, 4096),
                        "oracle_seed": seed_option()}

    def source(self) -> str:
        return "oracle LSTM samples (official parameters via --oracle-params, or random by seed)"

    def data_status(self, data: Path | None = None) -> str:
        try:
            path = find_oracle_params(data)
        except DataError:
            return f"missing: {data}"
        return f"official parameters at {path}" if path else "random oracle (no file needed)"

    def defaults(self) -> dict[str, Any]:
        return {"task": "oracle", "data": {"seq_len": 20, "vocab_size": 5000},
                "task_options": {"num_train": 10000, "num_valid": 1000, "num_test": 1000,
                                 "oracle_params": "", "oracle_dim": 32}}

    def prepare(self, config: ExperimentConfig, data: Path | None = None) -> Corpus:
        oracle, spec = load_oracle(config, data)
        return oracle_corpus(config, oracle, spec)


def oracle_corpus(config: ExperimentConfig, oracle: OracleLSTM, spec: dict[str, Any]) -> Corpus:
    """Train/valid/test oracle samples (seeded) and the NLL-oracle evaluator."""
    import torch

    from seqgan_music.trainer.loop import Corpus

    options = config.task_options
    rng = torch.Generator().manual_seed(config.seed)
    length = config.data.seq_len
    sizes = [int(options.get(k, d)) for k, d in
             (("num_train", 10000), ("num_valid", 1000), ("num_test", 1000))]
    if sizes[0] < 1:
        raise DataError(f"task_options.num_train = {sizes[0]}: expected at least 1 sequence")
    train, valid, test = oracle.sample(sum(sizes), length, generator=rng).split(sizes)

    def evaluate(samples: torch.Tensor) -> dict[str, float]:
        return {"nll_oracle": oracle.nll(samples)}

    return Corpus(train=train, valid=valid, test=test, vocab_size=oracle.vocab_size,
                  evaluate=evaluate, spec={"task": "oracle", **spec})


def describe_protocol(config: ExperimentConfig, method: str) -> str:
    """How a row of Table 1 was made, in a line (printed beside each row)."""
    t, r = config.train, config.rollout
    if method == "random":
        return "uniform random tokens"
    if method == "mle-1":
        return f"one MLE epoch from the initialisation, Adam {t.pretrain_lr:g}"
    if method == "mle":
        return f"{t.pretrain_epochs} MLE epochs, Adam {t.pretrain_lr:g} (the shared start)"
    if method == "ss":
        return (f"MLE start + {t.adversarial_iterations} scheduled-sampling epochs (teacher rate "
                f"-{t.ss_rate_decay:g}/epoch), Adam {t.pretrain_lr:g}")
    if method == "pg-bleu":
        refs = (f"{t.pg_bleu_reference_fraction:.0%} of training" if t.pg_bleu_reference_fraction
                else f"{t.pg_bleu_references} training" if t.pg_bleu_references
                else "all training")
        rollouts = t.pg_bleu_rollouts or r.num_rollouts
        policy = ("G itself" if t.pg_bleu_rollout_policy == "generator"
                  else f"G_beta (rate {r.rollout_update_rate:g})")
        return (f"MLE start + {t.pg_bleu_iterations or t.adversarial_iterations} iterations; "
                f"reward BLEU-{t.pg_bleu_n} ({t.pg_bleu_smoothing}) against {refs} sequences, "
                f"{rollouts} roll-out{'s' if rollouts > 1 else ''} by {policy}, "
                f"{'batch-mean baseline' if t.pg_bleu_reward_baseline else 'no baseline'}, "
                f"Adam {t.pg_bleu_lr or t.generator_lr:g}")
    return (f"MLE start + {t.d_pretrain_steps} x {t.d_pretrain_epochs} D pre-training epochs, "
            f"{t.adversarial_iterations} iterations of {t.g_steps} G step ({r.num_rollouts} "
            f"roll-outs by G_beta, rate {r.rollout_update_rate:g}, "
            f"{'batch-mean baseline' if t.reward_baseline else 'no baseline'}, Adam "
            f"{t.generator_lr:g}) and {t.d_steps} x {t.d_epochs} D epochs")


@dataclass
class BenchmarkResult:
    """Table 1 as measured: per method the per-sequence NLL-oracle values and timings."""

    oracle: dict[str, Any]
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    protocols: dict[str, str] = field(default_factory=dict)
    curves: list[dict[str, Any]] = field(default_factory=list)
    oracle_floor: float = float("nan")
    seconds: float = 0.0
    out_dir: Path = Path(".")


def welch_p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of Welch's t-test (unequal variances) of the means of `a` and `b`,
    as `scipy.stats.ttest_ind(a, b, equal_var=False)` gives it (nan for fewer than 2 values)."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return float("nan")
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return student_t_p_value(float(t), float(df))


def student_t_p_value(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom: I_x(df/2, 1/2) at
    x = df / (df + t^2), the regularised incomplete beta function (Numerical Recipes 6.4)."""
    return _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def _incomplete_beta(a: float, b: float, x: float) -> float:
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The incomplete beta's continued fraction by the modified Lentz method."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def summarise(per_sequence: dict[str, np.ndarray], reference: str = "seqgan"
              ) -> dict[str, dict[str, float]]:
    """Mean, standard deviation and Welch's t-test p-value against `reference` per method."""
    rows: dict[str, dict[str, float]] = {}
    for method, values in per_sequence.items():
        row = {"nll_oracle": float(values.mean()), "std": float(values.std(ddof=1)),
               "p_value": float("nan")}
        if reference in per_sequence and method != reference:
            row["p_value"] = welch_p_value(values, per_sequence[reference])
        rows[method] = row
    return rows


def run_benchmark(
    config: ExperimentConfig,
    methods: list[str],
    out_dir: Path | None = None,
    reporter: Reporter | None = None,
    oracle_params: str | Path | None = None,
) -> BenchmarkResult:
    """Train each method from one MLE start and score it; writes table and curves in `out_dir`
    (default: a new `runs/oracle-benchmark/<timestamp>`).

    A method whose run directory already holds a checkpoint continues from it (a finished one is
    only loaded), so an interrupted benchmark continues where it stopped.
    """
    import torch

    from seqgan_music.io.runs import load_checkpoint, new_run_dir, run_lock
    from seqgan_music.trainer.loop import Trainer, resolve_device

    started = time.perf_counter()
    unknown = [m for m in methods if m not in METHOD_LABELS]
    if unknown or not methods:
        raise ConfigError(f"unknown method(s) {', '.join(unknown) or '(none given)'}; accepted: "
                          f"{', '.join(BENCHMARK_METHODS)}")
    resolve_device(config.device)
    oracle, spec = load_oracle(config, oracle_params)
    if out_dir is None:
        out_dir = new_run_dir(Path("runs"), "oracle-benchmark")
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = oracle_corpus(config, oracle, spec)
    result = BenchmarkResult(oracle=spec, out_dir=out_dir)
    num_eval = config.train.num_eval_samples
    length = config.data.seq_len
    eval_rng = torch.Generator().manual_seed(config.seed + 12345)
    floor = oracle.sample(num_eval, length, generator=eval_rng)
    result.oracle_floor = oracle.nll(floor)
    per_sequence: dict[str, np.ndarray] = {}
    distinct: dict[str, int] = {}
    if "random" in methods:
        uniform = torch.randint(0, corpus.vocab_size, (num_eval, length), generator=eval_rng)
        per_sequence["random"] = oracle.sequence_nll(uniform).numpy()
        distinct["random"] = len(torch.unique(uniform, dim=0))
        # G after one MLE epoch: the first point of the MLE learning curve (same seed and data
        # order as the MLE run), most likely what the paper's "Random" row reports.
        from seqgan_music.core.steps import mle_epoch

        first = Trainer(config, corpus, method="mle")
        t = config.train
        mle_epoch(first.generator, first.pretrain_optimizer, first.train_data, t.batch_size,
                  t.grad_clip, first.rng)
        per_sequence["mle-1"], distinct["mle-1"], _ = _score_samples(first, oracle, config)

    trained = [m for m in methods if m != "random"]

    trainers: dict[str, Trainer] = {}
    nll_test: dict[str, float] = {}
    mle_state: dict[str, Any] | None = None
    order = ["mle", *[m for m in trained if m != "mle"]] if trained else []
    with run_lock(out_dir):  # one benchmark at a time in a folder
        for method in order:
            # Check and load first; only then write into the method's run directory.
            trainer = Trainer(config, corpus, method=method, reporter=reporter)
            latest = out_dir / method / "checkpoints" / "latest.pt"
            metrics_lines = 0  # a fresh method drops lines of an attempt that never saved
            if latest.exists():
                state = load_checkpoint(latest)
                if (_comparable(state["config"], method)
                        != _comparable(config.to_dict(), method)):
                    raise ConfigError(
                        f"{out_dir} holds a {method} run with another configuration; continue "
                        "it with the same preset and overrides, or choose a new --out folder")
                trainer.load_state_dict(state)
                metrics_lines = int(state.get("metrics_lines", 0))
            elif mle_state is not None:  # every method starts from the same MLE model
                trainer.load_state_dict(mle_state, resume_metrics=False)
            trainer.attach_run_dir(out_dir / method, metrics_lines)
            trainer.run()
            if method == "mle":
                mle_state = trainer.state_dict()
            trainers[method] = trainer
    best: dict[str, float] = {}
    for method in trained:
        trainer = trainers[method]
        per_sequence[method], distinct[method], nll_test[method] = _score_samples(
            trainer, oracle, config)
        records = trainer.metrics.records() if trainer.metrics else []
        curve = [{"method": method, "epoch": r["epoch"], "phase": r["phase"],
                  "nll_oracle": r["nll_oracle"]} for r in records if "nll_oracle" in r]
        result.curves.extend(curve)
        own = [c["nll_oracle"] for c in curve if c["phase"] != "mle"]
        if method != "mle" and own:  # the official code kept each method's best evaluation
            best[method] = min(own)
    result.rows = summarise(per_sequence, "seqgan" if "seqgan" in per_sequence else "")
    for method, row in result.rows.items():
        row["distinct"] = distinct[method]
        row["num_samples"] = num_eval
        if method in nll_test:
            row["nll_test"] = nll_test[method]
        if method in best:
            row["best_nll_oracle"] = best[method]
        result.protocols[method] = describe_protocol(config, method)
    result.seconds = time.perf_counter() - started
    write_benchmark(result, config, out_dir)
    return result


def _score_samples(trainer: Any, oracle: OracleLSTM, config: ExperimentConfig
                   ) -> tuple[np.ndarray, int, float]:
    """Per-sequence NLL-oracle of `num_eval_samples` samples of the trainer's G (seed + 777),
    how many of them are distinct, and G's per-token NLL of the test split."""
    import torch

    rng = torch.Generator(device=trainer.device).manual_seed(config.seed + 777)
    with torch.inference_mode():
        samples = trainer.generator.sample(config.train.num_eval_samples, config.data.seq_len,
                                           generator=rng).cpu()
    return (oracle.sequence_nll(samples).numpy(), len(torch.unique(samples, dim=0)),
            trainer.heldout_nll(trainer.corpus.test))


def _comparable(config: dict[str, Any], method: str = "pg-bleu") -> dict[str, Any]:
    """The parts of a config that decide `method`'s results (not where or how fast it runs, nor
    another method's settings). A config saved before a field existed reads as its default."""
    from seqgan_music.config import ExperimentConfig

    values = ExperimentConfig.from_dict(
        {k: v for k, v in config.items() if k not in ("device", "threads")}).to_dict()
    values.pop("device"), values.pop("threads")
    if method != "pg-bleu":  # PG-BLEU's reward protocol decides nothing else
        values["train"] = {k: v for k, v in values["train"].items()
                           if not k.startswith("pg_bleu_")}
    return values


TABLE_COLUMNS = ("NLL-oracle", "std over sequences", "p-value vs SeqGAN", "paper NLL-oracle",
                 "NLL-test", "distinct samples", "best NLL-oracle (paper's selection)")


def table_cells(result: BenchmarkResult, method: str) -> list[str]:
    """The cells of `method`'s row, in the order of `TABLE_COLUMNS`."""
    row = result.rows[method]
    p = "" if row["p_value"] != row["p_value"] else f"{row['p_value']:.3g}"
    test = f"{row['nll_test']:.3f}" if "nll_test" in row else ""
    distinct = (f"{int(row['distinct']):,} / {int(row['num_samples']):,}"
                if "distinct" in row else "")
    best = f"{row['best_nll_oracle']:.3f}" if "best_nll_oracle" in row else ""
    return [f"{row['nll_oracle']:.3f}", f"{row['std']:.3f}", p,
            f"{PAPER_TABLE1[method]:.3f}", test, distinct, best]


TABLE_NOTES = (
    "NLL-oracle: mean per-token NLL of generated sequences under the oracle (lower = samples the "
    "oracle finds likely). NLL-test: the model's per-token NLL of held-out oracle samples (lower "
    "= the model covers the data; it rises when a method trades diversity for NLL-oracle). "
    "Distinct samples: different sequences among the scored samples (a collapsed model repeats "
    "a few). Best NLL-oracle: the lowest of the method's evaluations during its own phase, the "
    "figure the official code kept for SeqGAN, SS and PG-BLEU (selection on the test metric); "
    "the NLL-oracle column is the final model. The paper's Random (10.310) matches G after one "
    "MLE epoch rather than uniform tokens (about 11.42): its learning curves start after the "
    "first epoch.")


def format_table(result: BenchmarkResult) -> str:
    """The table as Markdown, paper values beside ours, then the protocol of every row."""
    lines = [f"| method | {' | '.join(TABLE_COLUMNS)} |",
             "|---" * (len(TABLE_COLUMNS) + 1) + "|"]
    for method in result.rows:
        lines.append(f"| {ROW_LABELS[method]} | {' | '.join(table_cells(result, method))} |")
    lines.append(f"| oracle samples (floor) | {result.oracle_floor:.3f} |"
                 + " |" * (len(TABLE_COLUMNS) - 1))
    if result.protocols:
        lines.append("")
        lines.append("Protocols:")
        lines.extend(f"- {ROW_LABELS[m]}: {text}" for m, text in result.protocols.items())
    lines.append("")
    lines.append(TABLE_NOTES)
    return "\n".join(lines)


def write_benchmark(result: BenchmarkResult, config: ExperimentConfig, out_dir: Path) -> None:
    """table.md, table.json, curves.csv and curves.png, each written atomically."""
    from seqgan_music.io.runs import atomic_write

    with atomic_write(out_dir / "table.md") as handle:
        handle.write(f"Oracle: {result.oracle['label']}\n\n{format_table(result)}\n")
    with atomic_write(out_dir / "table.json") as handle:
        json.dump({"oracle": result.oracle, "rows": result.rows, "protocols": result.protocols,
                   "floor": result.oracle_floor,
                   "seconds": result.seconds, "config": config.to_dict(),
                   "paper": PAPER_TABLE1}, handle, indent=2)
    with atomic_write(out_dir / "curves.csv") as handle:
        handle.write("method,phase,epoch,nll_oracle\n")
        handle.writelines(f"{c['method']},{c['phase']},{c['epoch']},{c['nll_oracle']:.6f}\n"
                          for c in result.curves)
    if result.curves:
        plot_curves(result, out_dir / "curves.png")


def plot_curves(result: BenchmarkResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import textwrap

    import matplotlib.pyplot as plt

    from seqgan_music.io.runs import atomic_write

    figure, axis = plt.subplots(figsize=(7, 4.5))
    start = [(c["epoch"], c["nll_oracle"]) for c in result.curves if c["method"] == "mle"]
    for method in dict.fromkeys(c["method"] for c in result.curves):
        points = sorted((c["epoch"], c["nll_oracle"]) for c in result.curves
                        if c["method"] == method)
        if method != "mle" and start:  # every method continues from the MLE model
            points.insert(0, max(start))
        axis.plot([p[0] for p in points], [p[1] for p in points], label=METHOD_LABELS[method])
    if result.oracle_floor == result.oracle_floor:
        axis.axhline(result.oracle_floor, color="grey", linestyle=":", label="oracle floor")
    axis.set_xlabel("epoch (MLE epochs, then adversarial iterations)")
    axis.set_ylabel("NLL-oracle (nats per token)")
    title = f"SeqGAN synthetic benchmark: {result.oracle['label']}"
    axis.set_title("\n".join(textwrap.wrap(title, 64)), fontsize=10)  # whole, never clipped
    axis.legend()
    figure.tight_layout()
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    plt.close(figure)
