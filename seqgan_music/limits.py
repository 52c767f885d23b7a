"""One validation layer for the numbers a user types: seeds, temperatures, counts and sizes.

Every command (train, generate, evaluate, compose, text continue) and
`ExperimentConfig.validate` check through these functions, so the same value gets the same
answer and the same wording everywhere. Sizes are checked before any work starts: against a
stated limit (`MAX_*`) and, where a size decides an allocation, against the memory it needs
(`check_memory`, with the estimate and this machine's memory in the message).
"""

from __future__ import annotations

import math
import os

from seqgan_music.errors import ConfigError

# torch.manual_seed takes [-2**63, 2**64); numpy's default_rng any int >= 0: the common range
# of non-negative seeds both accept, and that survives `seed + 1` in torch, is [0, 2**63).
MAX_SEED = 2**63 - 1
MAX_SAMPLES = 1_000_000  # generate -n, evaluate -n, text continue -n
MAX_LENGTH = 100_000  # tokens of one generated sequence (generate, text continue, compose)
MAX_COMPOSE_NUM = 1000  # tunes of one compose call
MAX_COMPOSE_STEPS = 1_000_000  # tunes x steps of one compose call (about a minute of work)
MAX_PRIMER_STEPS = 10_000  # steps of a compose --primer (over an hour at 0.4 s)
MEMORY_SHARE = 0.5  # a single allocation may take at most this share of physical memory


def check_seed(value: object, name: str = "--seed") -> int:
    """An integer seed in 0..MAX_SEED (the same rule for every command and config)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise ConfigError(f"{name} = {value!r} is invalid; expected an integer in "
                          f"0..{MAX_SEED} (2**63 - 1)")
    return value


def check_temperature(value: object, name: str = "--temperature") -> float:
    """A finite sampling temperature > 0 (nan and inf are refused)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) and value > 0
    if not ok:
        raise ConfigError(f"{name} = {value!r} is invalid; expected a finite number > 0 "
                          "(< 1 safer, > 1 wilder)")
    return float(value)  # type: ignore[arg-type]


def check_count(value: object, name: str, limit: int, lowest: int = 1, unit: str = "") -> int:
    """An integer in lowest..limit; the message states the limit."""
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= limit:
        unit_text = f" {unit}" if unit else ""
        raise ConfigError(f"{name} = {value!r} is invalid; expected an integer in "
                          f"{lowest}..{limit:,}{unit_text}")
    return value


def check_finite(value: float, name: str) -> None:
    """Refuse nan and inf (config numbers; the range checks come after)."""
    if not math.isfinite(value):
        raise ConfigError(f"config field {name} = {value!r} is invalid: expected a finite number")


def physical_memory() -> int:
    """Bytes of physical memory of this machine (0 where the system does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX systems
        return 0


def format_bytes(num: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if num < 1024 or unit == "PiB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} PiB"  # pragma: no cover - unreachable


def check_memory(needed: float, what: str, hint: str) -> None:
    """Refuse work whose largest allocation exceeds MEMORY_SHARE of physical memory.

    Args:
        needed: the estimated bytes.
        what: the setting that decides the size, e.g. "rollout.num_rollouts = 1000000000".
        hint: what to lower.
    """
    memory = physical_memory()
    if memory and needed > MEMORY_SHARE * memory:
        raise ConfigError(f"{what} needs about {format_bytes(needed)} of memory; this machine has "
                          f"{format_bytes(memory)} (at most {MEMORY_SHARE:.0%} is used for one "
                          f"allocation): {hint}")


def sampling_bytes(num: int, length: int, hidden: int, vocab: int, batch: int = 4096) -> int:
    """Memory of sampling `num` sequences of `length`: the int64 output and one batch's state
    and logits (float32 in torch, float64 in numpy: 8 bytes counted)."""
    rows = min(num, batch)
    return num * length * 8 + rows * (4 * hidden + vocab) * 8 * 2


def rollout_bytes(seq_len: int, batch: int, num_rollouts: int, hidden: int,
                  features: int) -> int:
    """Memory of one roll-out (Yu et al. 2017, eq. 4): completions (T-1)*B*N*T int64 and the
    LSTM state (h, c) of every completion row (float32), plus the discriminator's activations
    for one prefix length, B*N*T*`features` float32 (`features` = embedding + filters)."""
    rows = (seq_len - 1) * batch * num_rollouts
    return rows * seq_len * 8 + rows * hidden * 4 * 2 + batch * num_rollouts * seq_len \
        * features * 4
