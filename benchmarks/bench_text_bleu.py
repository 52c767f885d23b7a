"""BLEU at scale on real text: COCO's 10,000 test captions as references.

Hypotheses: 10,000 captions sampled from a trained `coco` model (`--model RUN`), or, without a
model, COCO's 10,000 training captions (real text: an upper reference point). Prints BLEU-2..5
against the test split and Self-BLEU-2..5 of the hypotheses, with the time of each, and checks
a subset against NLTK's sentence_bleu (smoothing method 1, as Texygen), timing NLTK on that
subset and extrapolating to all hypotheses.

    python benchmarks/bench_text_bleu.py [--coco ../shared/data/coco] [--model RUN] [--nltk 40]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from seqgan_music.eval.bleu import BleuReference, self_bleu

DEFAULT_COCO = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coco", type=Path, default=DEFAULT_COCO)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--nltk", type=int, default=40, help="hypotheses checked with NLTK")
    args = parser.parse_args()
    test_file = args.coco / "data" / "testdata" / "test_coco.txt"
    if not test_file.is_file():
        raise SystemExit(f"no COCO test file at {test_file}; pass --coco")
    references = [line.split() for line in test_file.read_text().splitlines() if line.strip()]
    if args.model is not None:
        from seqgan_music.app.model import generate, load_model
        from seqgan_music.text.tokenizers import Vocabulary

        loaded = load_model(args.model)
        vocab = Vocabulary.from_dict(loaded.state["task"]["vocab"])
        rows = generate(loaded, 10_000, seed=0).tolist()
        hypotheses = [vocab.decode(r).split() or ["<unk>"] for r in rows]
        source = f"10,000 samples of {args.model}"
    else:
        train = args.coco / "data" / "image_coco.txt"
        hypotheses = [line.split() for line in train.read_text().splitlines() if line.strip()]
        source = "COCO's 10,000 training captions (real text)"
    print(f"cpu cores: {os.cpu_count()}; hypotheses: {source}; references: "
          f"{len(references)} test captions")
    start = time.perf_counter()
    reference = BleuReference(references, max_n=5)
    scores = reference.sentence_scores_by_order(hypotheses, (2, 3, 4, 5))
    ours = time.perf_counter() - start
    print("BLEU-2..5: " + "  ".join(f"{float(scores[n].mean()):.4f}" for n in (2, 3, 4, 5))
          + f"   ({ours:.2f} s for all four orders)")
    start = time.perf_counter()
    selfs = [self_bleu(hypotheses, n) for n in (2, 3, 4, 5)]
    print("Self-BLEU-2..5: " + "  ".join(f"{s:.4f}" for s in selfs)
          + f"   ({time.perf_counter() - start:.2f} s, every hypothesis against all others)")
    try:
        from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    except ImportError:
        print("nltk is not installed: comparison skipped (pip install nltk)")
        return
    smooth = SmoothingFunction().method1
    subset = np.random.default_rng(0).choice(len(hypotheses), args.nltk, replace=False)
    start = time.perf_counter()
    worst = 0.0
    for i in subset:
        for n in (2, 3, 4, 5):
            value = sentence_bleu(references, hypotheses[i], tuple([1.0 / n] * n),
                                  smoothing_function=smooth)
            worst = max(worst, abs(value - float(scores[n][i])))
    seconds = (time.perf_counter() - start) * len(hypotheses) / args.nltk
    print(f"NLTK on {args.nltk} hypotheses x 4 orders, extrapolated to all: {seconds:.0f} s "
          f"({seconds / ours:,.0f}x ours); max difference {worst:.1e}")


if __name__ == "__main__":
    main()
