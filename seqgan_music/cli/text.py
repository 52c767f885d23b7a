"""`seqgan-music text ...`: the text plug-in's own commands (vocabularies, continuing a prefix)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Text tools: build and inspect vocabularies, continue a prefix.\n\n"
                  "Example: seqgan-music text vocab my.txt --tokenizer word", no_args_is_help=True)


@app.command("vocab")
def vocab_command(
    file: Annotated[Path, typer.Argument(help="UTF-8 text, one item per line.")],
    tokenizer: Annotated[str, typer.Option("--tokenizer", help="char or word.")] = "word",
    min_freq: Annotated[int, typer.Option("--min-freq", help="Keep tokens seen this often.")]
        = 1,
    max_size: Annotated[int, typer.Option("--max-size", help="At most this many (0: all).")]
        = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Write the vocabulary as JSON.")]
        = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
) -> None:
    """Build a vocabulary from a file and report its size, coverage and the text lengths.

    Example: seqgan-music text vocab speeches.txt --tokenizer word --min-freq 2 --out vocab.json
    """
    import json
    import statistics

    from rich.console import Console

    from seqgan_music.errors import DataError
    from seqgan_music.io.runs import atomic_write, check_output
    from seqgan_music.tasks.text import read_lines, whole_length
    from seqgan_music.text.tokenizers import Vocabulary, split_text

    if not file.is_file():
        raise DataError(f"{file} does not exist; pass a UTF-8 text file, one item per line")
    if out is not None:
        check_output(out, force)
    lines = read_lines(file)
    if not lines:
        raise DataError(f"{file} holds no text")
    vocab = Vocabulary.build(lines, tokenizer, min_freq, max_size or None)
    lengths = sorted(len(split_text(line, tokenizer)) for line in lines)
    console = Console(highlight=False)
    console.print(f"{file}: {len(lines)} lines, {tokenizer} tokens", markup=False)
    console.print(f"vocabulary: {len(vocab)} entries (3 special: <pad> <eos> <unk>), "
                  f"min_freq {min_freq}; coverage of the file's tokens {vocab.coverage(lines):.2%}",
                  markup=False)
    console.print(f"tokens per line: min {lengths[0]}, median {statistics.median(lengths):g}, "
                  f"mean {statistics.fmean(lengths):.1f}, 95% {whole_length(lengths) - 1}, "
                  f"max {lengths[-1]}; "
                  f"--set data.seq_len={whole_length(lengths)} keeps 95% of lines whole (train "
                  "text uses it unless told)", markup=False)
    console.print("most frequent: " + " ".join(vocab.tokens[3:23]), markup=False)
    if out is not None:
        with atomic_write(out) as handle:
            json.dump(vocab.to_dict(), handle, ensure_ascii=False)
        console.print(f"wrote {out}", markup=False)


@app.command("inspect")
def inspect_command(
    source: Annotated[Path, typer.Argument(help="A vocabulary JSON, run directory or model.")],
) -> None:
    """Show a saved vocabulary (from `text vocab --out`, a run, or a model file).

    Example: seqgan-music text inspect runs/poems/20260101-120000
    """
    import json

    from seqgan_music.errors import CheckpointError, DataError
    from seqgan_music.text.tokenizers import Vocabulary

    if not source.exists():
        raise DataError(f"{source} does not exist")
    if source.suffix == ".json":
        try:
            vocab = Vocabulary.from_dict(json.loads(source.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError, DataError) as error:
            raise DataError(f"{source} is not a vocabulary file ({error})") from None
    else:
        from seqgan_music.app.inference import read_model

        spec = read_model(source).task
        if "vocab" not in spec:
            raise CheckpointError(f"{source} is not a text model (it holds no vocabulary)")
        vocab = Vocabulary.from_dict(spec["vocab"])
    print(f"{vocab.kind} vocabulary, {len(vocab)} entries, min_freq {vocab.min_freq}")
    print("first entries: " + " ".join(vocab.tokens[:30]))


@app.command("continue")
def continue_command(
    prefix: Annotated[str, typer.Argument(help="The text to continue.")],
    model: Annotated[Path, typer.Option("--model", help="Run directory or checkpoint.")],
    num: Annotated[int, typer.Option("-n", "--num", help="Continuations.")] = 5,
    temperature: Annotated[float, typer.Option(
        "--temperature", help="Sampling temperature, e.g. 0.8 (< 1 safer, > 1 wilder).")]
        = 1.0,
    seed: Annotated[int, typer.Option(
        "--seed", help="Same seed, same continuations, e.g. --seed 7.")] = 0,
    length: Annotated[int | None, typer.Option(
        "--length", help="Tokens to add (default: up to the model's length).")] = None,
) -> None:
    """Continue a prefix with a trained text model.

    Example: seqgan-music text continue "the president said" --model runs/obama/20260101-120000
    """
    import sys

    from seqgan_music import limits
    from seqgan_music.app.inference import read_model
    from seqgan_music.errors import CheckpointError
    from seqgan_music.text.tokenizers import UNK_ID, Vocabulary, split_text

    limits.check_count(num, "--num", limits.MAX_SAMPLES, unit="continuations")
    limits.check_temperature(temperature)
    limits.check_seed(seed)
    if length is not None:
        limits.check_count(length, "--length", limits.MAX_LENGTH, unit="tokens")
    if not model.exists():
        raise CheckpointError(f"--model {model} does not exist")
    found = read_model(model)
    if "vocab" not in found.task:
        raise CheckpointError(f"{model} is not a text model (it holds no vocabulary)")
    vocab = Vocabulary.from_dict(found.task["vocab"])
    ids = [vocab.index.get(t, UNK_ID) for t in split_text(prefix, vocab.kind)]
    unknown = [t for t in split_text(prefix, vocab.kind) if t not in vocab.index]
    if unknown:
        print(f"warning: not in the model's vocabulary: {' '.join(unknown[:10])}",
              file=sys.stderr)
    seq_len = int(found.config["data"]["seq_len"])
    steps = length or max(seq_len - len(ids), 1)
    limits.check_memory(limits.sampling_bytes(num, steps, found.weights["lstm.weight_hh_l0"]
                                              .shape[1], found.vocab_size, batch=num),
                        f"--num {num} continuations of {steps} tokens",
                        "ask for fewer or shorter continuations")
    rows = found.generator().sample(num, steps, ids, temperature, seed)
    joiner = "" if vocab.kind == "char" else " "
    for row in rows.tolist():
        print(joiner.join([prefix.strip(), vocab.decode(row)]).strip())
