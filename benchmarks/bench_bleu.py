"""Benchmark of `seqgan_music.bleu` against NLTK's sentence_bleu loop (the Texygen metric).

10,000 hypotheses against 10,000 references (vocabulary 5,000, length 20 by default), BLEU-2..5.
Our time covers everything from token arrays to the four mean scores. NLTK is timed on a subset of
hypotheses (each scored against all the references, as Texygen does) and extrapolated linearly to
all hypotheses; the subset's scores are checked against ours to 1e-9. Self-BLEU is timed on the
10,000 hypotheses, and a few of its per-sample values are checked against NLTK (leaving the
sample itself out of the references).

Settings (``--settings``):
    uniform: i.i.d. uniform tokens (almost no n-gram above unigrams matches).
    zipf: i.i.d. tokens with a Zipf-like (1/rank^1.1) unigram distribution.
    markov: a first-order Markov chain, Zipf start token and Zipf-weighted successors per
        token (32), shared by hypotheses and references, so that long n-grams overlap often.

Run: ``python benchmarks/bench_bleu.py`` (``--help`` for the options).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqgan_music.eval.bleu import BleuReference, bleu, self_bleu, self_bleu_scores  # noqa: E402

ORDERS = (2, 3, 4, 5)


def zipf_probs(size: int, exponent: float = 1.1) -> np.ndarray:
    """Zipf-like probabilities ``p_i ~ 1 / i**exponent`` for ranks ``1..size``."""
    weights = 1.0 / np.arange(1, size + 1, dtype=np.float64) ** exponent
    return weights / weights.sum()


def make_corpus(
    setting: str, num: int, length: int, vocab: int, rng: np.random.Generator, chain: Any = None
) -> np.ndarray:
    """Draws ``num`` sequences of ``length`` tokens, shape ``(num, length)``, dtype int64."""
    if setting == "uniform":
        return rng.integers(0, vocab, size=(num, length), dtype=np.int64)
    probs = zipf_probs(vocab)
    if setting == "zipf":
        return rng.choice(vocab, size=(num, length), p=probs).astype(np.int64)
    if setting == "markov":
        successors, cum = chain
        out = np.empty((num, length), dtype=np.int64)
        out[:, 0] = rng.choice(vocab, size=num, p=probs)
        for t in range(1, length):
            u = rng.random(num)
            choice = (u[:, None] > cum[None, :]).sum(axis=1)
            out[:, t] = successors[out[:, t - 1], choice]
        return out
    raise ValueError(f"unknown setting {setting!r}")


def make_chain(vocab: int, rng: np.random.Generator, fanout: int = 32) -> tuple[Any, Any]:
    """A random sparse Markov chain: ``fanout`` successors per token with Zipf weights."""
    successors = rng.choice(vocab, size=(vocab, fanout), p=zipf_probs(vocab))
    cum = np.cumsum(zipf_probs(fanout, 1.0))[:-1]
    return successors, cum


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Runs ``fn`` once and returns (seconds, result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_setting(setting: str, args: argparse.Namespace) -> None:
    """Benchmarks one data setting and prints the figures."""
    rng = np.random.default_rng(args.seed)
    chain = make_chain(args.vocab, rng) if setting == "markov" else None
    hyps = make_corpus(setting, args.num_hyp, args.length, args.vocab, rng, chain)
    refs = make_corpus(setting, args.num_ref, args.length, args.vocab, rng, chain)
    print(
        f"\n=== setting: {setting}  ({args.num_hyp} hyps x {args.num_ref} refs, "
        f"V={args.vocab}, T={args.length}) ==="
    )

    # Ours: four independent bleu() calls (each rebuilds the reference tables).
    t_calls, means = timed(lambda: {n: bleu(hyps, refs, n) for n in ORDERS})
    print(f"ours, 4 x bleu(hyps, refs, n) [2-D int arrays]:       {t_calls:8.3f} s")
    hyp_lists, ref_lists = hyps.tolist(), refs.tolist()
    t_lists, means_l = timed(lambda: {n: bleu(hyp_lists, ref_lists, n) for n in ORDERS})
    print(f"ours, 4 x bleu(...) [lists of Python ints]:           {t_lists:8.3f} s")
    hyp_str = [[f"w{t}" for t in s] for s in hyp_lists]
    ref_str = [[f"w{t}" for t in s] for s in ref_lists]
    t_str, means_s = timed(lambda: {n: bleu(hyp_str, ref_str, n) for n in ORDERS})
    print(f"ours, 4 x bleu(...) [lists of str tokens]:            {t_str:8.3f} s")

    def shared() -> dict[int, np.ndarray]:
        table = BleuReference(refs, max_n=max(ORDERS))
        return table.sentence_scores_by_order(hyps, ORDERS)

    t_shared, per_order = timed(shared)
    print(f"ours, one BleuReference + sentence_scores_by_order:   {t_shared:8.3f} s")
    for n in ORDERS:
        assert means[n] == means_l[n] and abs(means[n] - means_s[n]) < 1e-12
        assert abs(means[n] - float(per_order[n].mean())) < 1e-12
        print(f"  BLEU-{n} = {means[n]:.12f}")

    if not args.skip_nltk:
        from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

        smooth = SmoothingFunction().method1
        sub = hyp_lists[: args.nltk_subset]

        def nltk_scores() -> dict[int, np.ndarray]:
            return {
                n: np.array(
                    [
                        sentence_bleu(
                            ref_lists, h, weights=(1.0 / n,) * n, smoothing_function=smooth
                        )
                        for h in sub
                    ]
                )
                for n in ORDERS
            }

        t_nltk, nltk = timed(nltk_scores)
        t_nltk_full = t_nltk * args.num_hyp / len(sub)
        worst = max(float(np.abs(nltk[n] - per_order[n][: len(sub)]).max()) for n in ORDERS)
        print(
            f"NLTK, {len(sub)} hyps x {args.num_ref} refs, 4 orders:     {t_nltk:8.3f} s "
            f"-> extrapolated to {args.num_hyp} hyps: {t_nltk_full:10.1f} s"
        )
        print(f"speed-up vs NLTK (4 x bleu, arrays):   {t_nltk_full / t_calls:10.0f}x")
        print(f"speed-up vs NLTK (4 x bleu, str lists): {t_nltk_full / t_str:9.0f}x")
        print(
            f"max |ours - NLTK| on the subset: {worst:.3e}  "
            f"({'OK' if worst <= 1e-9 else 'MISMATCH'} at 1e-9)"
        )
        if worst > 1e-9:
            raise SystemExit("BLEU mismatch against NLTK")

    # Self-BLEU on the hypotheses.
    t_self, self_means = timed(lambda: {n: self_bleu(hyps, n) for n in ORDERS})
    print(f"ours, self-BLEU-2..5 on {args.num_hyp} samples (4 calls):  {t_self:8.3f} s")
    for n in ORDERS:
        print(f"  Self-BLEU-{n} = {self_means[n]:.12f}")
    if not args.skip_nltk and args.self_check > 0:
        from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

        smooth = SmoothingFunction().method1
        idx = np.random.default_rng(args.seed + 1).choice(
            args.num_hyp, size=args.self_check, replace=False
        )
        n = 4
        ours_self = self_bleu_scores(hyps, n)[idx]
        t0 = time.perf_counter()
        theirs = np.array(
            [
                sentence_bleu(
                    hyp_lists[:i] + hyp_lists[i + 1 :],
                    hyp_lists[i],
                    weights=(1.0 / n,) * n,
                    smoothing_function=smooth,
                )
                for i in idx.tolist()
            ]
        )
        t_self_nltk = time.perf_counter() - t0
        worst = float(np.abs(ours_self - theirs).max())
        print(
            f"self-BLEU-4 check vs NLTK (leave-one-out) on {args.self_check} samples: "
            f"max diff {worst:.3e} ({'OK' if worst <= 1e-9 else 'MISMATCH'}); NLTK "
            f"{t_self_nltk / args.self_check:.3f} s/sample -> "
            f"~{t_self_nltk / args.self_check * args.num_hyp:.0f} s for all {args.num_hyp}"
        )
        if worst > 1e-9:
            raise SystemExit("Self-BLEU mismatch against NLTK")


def main() -> None:
    """Parses the options and runs the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-hyp", type=int, default=10_000)
    parser.add_argument("--num-ref", type=int, default=10_000)
    parser.add_argument("--vocab", type=int, default=5_000)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--nltk-subset",
        type=int,
        default=20,
        help="hypotheses scored with NLTK (against all references)",
    )
    parser.add_argument(
        "--self-check",
        type=int,
        default=3,
        help="self-BLEU samples checked against NLTK (0 to skip)",
    )
    parser.add_argument("--skip-nltk", action="store_true", help="time only our implementation")
    parser.add_argument(
        "--settings",
        nargs="+",
        default=["uniform", "markov"],
        choices=["uniform", "zipf", "markov"],
    )
    args = parser.parse_args()

    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.platform()}")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(
        f"processor: {platform.processor() or platform.machine()!r}, "
        f"os.cpu_count() = {os.cpu_count()}, usable cores = {usable}"
    )
    for setting in args.settings:
        run_setting(setting, args)


if __name__ == "__main__":
    main()
