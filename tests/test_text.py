"""Tokenizers, the text tasks on tiny files the tests write, and the `text` command group."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqgan_music.errors import ConfigError
from seqgan_music.text.tokenizers import EOS_ID, PAD_ID, UNK_ID, Vocabulary
from tests.test_cli import run

TINY_TEXT = [
    "--preset", "quick", "--device", "cpu", "--set", "generator.hidden_dim=8",
    "--set", "discriminator.filter_widths=[2, 3]", "--set", "discriminator.num_filters=[4, 4]",
    "--set", "train.pretrain_epochs=2", "--set", "train.adversarial_iterations=2",
    "--set", "rollout.num_rollouts=2", "--set", "train.num_eval_samples=16",
]


def test_word_vocabulary_encode_decode() -> None:
    texts = ["the cat sat", "the dog sat down", "a cat"]
    vocab = Vocabulary.build(texts, "word", min_freq=2)
    assert vocab.tokens[:3] == ["<pad>", "<eos>", "<unk>"]
    assert vocab.tokens[3:] == ["cat", "sat", "the"]  # by frequency, ties alphabetical
    ids = vocab.encode(["the cat sat", "a dog", "the the the the the the"], seq_len=5)
    assert ids[0].tolist() == [5, 3, 4, EOS_ID, PAD_ID]
    assert ids[1].tolist() == [UNK_ID, UNK_ID, EOS_ID, PAD_ID, PAD_ID]
    assert ids[2].tolist() == [5] * 5  # cut to T, no room for <eos>
    assert vocab.decode(ids[0]) == "the cat sat"
    assert vocab.decode([5, 3, EOS_ID, 4]) == "the cat"
    assert vocab.coverage(["the cat flew"]) == pytest.approx(2 / 3)
    assert Vocabulary.from_dict(vocab.to_dict()).tokens == vocab.tokens


def test_char_vocabulary_ignores_spaces() -> None:
    vocab = Vocabulary.build(["白日 依山", "日白"], "char")
    ids = vocab.encode(["白日依山"], 6)
    assert vocab.decode(ids[0]) == "白日依山" and ids[0, 4] == EOS_ID
    with pytest.raises(ConfigError, match="tokenizer 'bytes' is unknown"):
        Vocabulary.build(["x"], "bytes")


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sentences(num: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words = ["a", "the", "cat", "dog", "sat", "ran", "on", "mat", "big", "small", "red", "blue"]
    return [" ".join(rng.choice(words, size=int(rng.integers(3, 9)))) for _ in range(num)]


@pytest.mark.slow
def test_text_task_end_to_end_with_the_text_commands(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "mine.txt", sentences(120))
    trained = run("train", "text", "--data", str(data), "--tokenizer", "word", "--set",
                  "data.seq_len=10", "--out", str(tmp_path / "runs"), *TINY_TEXT)
    assert trained.returncode == 0, trained.stderr
    assert "BLEU-2" in trained.stdout and "Self-BLEU-4" in trained.stdout
    assert "BLEU-2 (train refs)" in trained.stdout  # both reference scales in the table
    (run_dir,) = (tmp_path / "runs" / "text").iterdir()
    from seqgan_music.io.runs import load_checkpoint

    vocab = load_checkpoint(run_dir)["task"]["vocab"]  # the vocabulary travels with the model
    assert vocab["kind"] == "word" and "cat" in vocab["tokens"]
    generated = run("generate", "--model", str(run_dir), "-n", "4", "--seed", "3")
    lines = generated.stdout.splitlines()
    assert generated.returncode == 0 and len(lines) == 4
    assert all(w in vocab["tokens"] for line in lines for w in line.split())
    again = run("generate", "--model", str(run_dir), "-n", "4", "--seed", "3")
    assert again.stdout == generated.stdout
    evaluated = run("evaluate", "--model", str(run_dir), "-n", "16")
    assert evaluated.returncode == 0 and "Self-BLEU-2" in evaluated.stdout
    written = run("generate", "--model", str(run_dir), "-n", "3", "--out",
                  str(tmp_path / "out.txt"), "--temperature", "0.7")
    assert written.returncode == 0
    assert len((tmp_path / "out.txt").read_text().splitlines()) == 3
    continued = run("text", "continue", "the big", "--model", str(run_dir), "-n", "2")
    assert continued.returncode == 0, continued.stderr
    assert all(line.startswith("the big") for line in continued.stdout.splitlines())
    inspected = run("text", "inspect", str(run_dir))
    assert inspected.returncode == 0 and "word vocabulary" in inspected.stdout
    built = run("text", "vocab", str(data), "--min-freq", "2", "--out", str(tmp_path / "v.json"))
    assert built.returncode == 0 and "coverage" in built.stdout
    assert "tokens per line" in built.stdout
    kept = run("text", "vocab", str(data), "--out", str(tmp_path / "v.json"))
    assert kept.returncode == 1 and "--force" in kept.stderr


def test_bleu_references_test_or_train_with_a_memorisation_check(tmp_path: Path) -> None:
    from seqgan_music.config import ExperimentConfig
    from seqgan_music.tasks import load_task

    data = write_lines(tmp_path / "mine.txt", sentences(60))
    task = load_task("text")
    for references, other in (("test", "train"), ("train", "test")):
        config = ExperimentConfig.from_dict({"task": "text", "data": {"seq_len": 20},
                                             "task_options": {"bleu_references": references}})
        corpus = task.prepare(config, data)
        copied = corpus.evaluate(corpus.train[:3])  # training texts, copied
        assert set(copied) == {f"bleu{n}" for n in (2, 3, 4)} | {
            f"bleu{n}_{other}" for n in (2, 3, 4)} | {f"self_bleu{n}" for n in (2, 3, 4)}
        on_train = copied["bleu2"] if references == "train" else copied["bleu2_train"]
        on_test = copied["bleu2"] if references == "test" else copied["bleu2_test"]
        assert on_train == 1.0 and on_test < 1.0  # a copy scores 1.0 against train only
        held_out = corpus.evaluate(corpus.test[:3])
        scale = held_out["bleu2"] if references == "test" else held_out["bleu2_test"]
        assert scale == 1.0  # and a test text against the test references
    config = ExperimentConfig.from_dict({"task": "text",
                                         "task_options": {"bleu_references": "valid"}})
    with pytest.raises(ConfigError, match=r"task_options.bleu_references = 'valid' is invalid: "
                                          "expected test or train$"):
        task.prepare(config, data)


def test_poems_clean_dedupe_and_split(tmp_path: Path) -> None:
    from seqgan_music.config import ExperimentConfig
    from seqgan_music.tasks.text import PoemsTask

    poems = ["白 日 依 山 尽 ， 黄 河 入 海 流 。 欲 穷 千 里 目 ， 更 上 一 层 楼 。"] * 3
    rng = np.random.default_rng(0)
    chars = list("山水风云月花春秋人日江天")
    poems += [" ".join(rng.choice(chars, 20)) for _ in range(30)]
    data = write_lines(tmp_path / "shi.txt", poems)
    task = PoemsTask()
    config = ExperimentConfig.from_dict({"task": "poems", **task.defaults()})
    train, valid, test, _ = task.texts(task.options(config), data)
    everything = train + valid + test
    assert len(everything) == 31  # the repeated poem once
    assert all(len(p) == 20 and "，" not in p for p in everything)
    assert not set(train) & set(test)
    corpus = task.prepare(config, data)
    assert corpus.train.shape[1] == 20 and corpus.spec["vocab"]["kind"] == "char"
    figures = corpus.evaluate(corpus.test)
    assert figures["bleu2"] == pytest.approx(1.0)
    # the real held-out poems' own figures, a row beside the models in every table
    real = corpus.spec["reference_figures"]["Data (valid)"]
    assert real == corpus.evaluate(corpus.valid) and 0 < real["bleu2"] < 1


@pytest.mark.slow
def test_coco_layout_and_missing_data_errors(tmp_path: Path) -> None:
    write_lines(tmp_path / "coco" / "data" / "image_coco.txt", sentences(60, 1))
    write_lines(tmp_path / "coco" / "data" / "testdata" / "test_coco.txt", sentences(20, 2))
    trained = run("train", "coco", "--data", str(tmp_path / "coco"), "--out",
                  str(tmp_path / "runs"), *TINY_TEXT, "--set", "data.seq_len=10")
    assert trained.returncode == 0, trained.stderr
    assert "54/6/20 texts" in trained.stdout
    assert "Data (valid)" in trained.stdout
    missing = run("train", "poems", "--preset", "quick", cwd=tmp_path)
    assert missing.returncode == 1 and "seqgan-music data download poems" in missing.stderr
    no_file = run("train", "text", "--preset", "quick", cwd=tmp_path)
    assert no_file.returncode == 1 and "pass --data FILE" in no_file.stderr
    bad = run("train", "text", "--data", str(tmp_path / "coco" / "data" / "image_coco.txt"),
              "--tokenizer", "bytes", "--preset", "quick", cwd=tmp_path)
    assert bad.returncode == 1 and "--tokenizer 'bytes' is invalid" in bad.stderr


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "poems" / "Texygen" / "data" / "shi.txt").is_file(),
                    reason="the staged poems (../shared/data) are not present")
def test_staged_poems_are_the_papers_16394() -> None:
    from seqgan_music.tasks.text import PoemsTask, read_lines

    lines = read_lines(SHARED / "poems" / "Texygen" / "data" / "shi.txt")
    assert len(lines) == 16_394
    assert all(len(PoemsTask().clean(line)) == 20 for line in lines)
