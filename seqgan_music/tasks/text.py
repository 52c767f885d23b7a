"""Text tasks: `poems` (Chinese quatrains, paper Table 2), `obama` (speech paragraphs, Table 3),
`coco` and `emnlp-news` (the text-GAN benchmark corpora) and `text` (your own file).

Every task reads lines of text, builds a character or word vocabulary from its training split
(`seqgan_music.text.tokenizers`), encodes fixed-length sequences and judges samples with BLEU
against the whole test split (and Self-BLEU where the benchmark uses it). The vocabulary is the
task spec, saved in the run and in every checkpoint. The `text` plug-in also contributes the
command group `seqgan-music text ...` (vocabulary building and inspection, continuing a prefix).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from seqgan_music.errors import DataError, DataMissing
from seqgan_music.tasks import (
    Task,
    TaskOption,
    builtin_presets,
    check_task_options,
    count_option,
    data_root,
    fraction_option,
    seed_option,
)

if TYPE_CHECKING:
    import torch

    from seqgan_music.config import ExperimentConfig
    from seqgan_music.io.downloads import RemoteFile
    from seqgan_music.text.tokenizers import Vocabulary
    from seqgan_music.trainer.loop import Corpus

TEXYGEN = "https://raw.githubusercontent.com/geek-ai/Texygen/3104e22ac75f3cc2070da2bf5e2da6d2bef149ad"
OBAMA = "https://raw.githubusercontent.com/samim23/obama-rnn/10248ee07440125e1e3ea3bd07f4b3b4b6b54131"
TEXT_OPTION_TYPES = {
    "min_freq": count_option(1, 1, 10**9),
    # 0 keeps every token; otherwise room for the 3 special tokens and at least one more
    "max_vocab": TaskOption(0, "0 (no limit) or an integer >= 4 (3 special tokens + 1)",
                            lambda v: v == 0 or v >= 4),
    "valid_fraction": fraction_option(0.1),
    "test_fraction": fraction_option(0.1),
    "split_seed": seed_option(),
    # which split BLEU's references are: "test" (the paper's words: "the whole test set as the
    # references") or "train"; the other scale is reported beside it (bleuN_train / bleuN_test)
    "bleu_references": TaskOption("test", "test or train", lambda v: v in ("test", "train")),
}
TOKENIZER_OPTION = TaskOption("word", "char or word", lambda v: v in ("char", "word"))
CHINESE_PUNCTUATION = re.compile(r"[，。、；：？！,.;:?!\s]")


def _remote(url: str, path: str, sha256: str | None = None, blob: str | None = None
            ) -> RemoteFile:
    from seqgan_music.io.downloads import RemoteFile

    return RemoteFile(url, path, sha256, blob)


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a UTF-8 text file, stripped."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text (byte {error.start}); save it as UTF-8") \
            from None
    except OSError as error:
        raise DataError(f"{path} cannot be read: {error.strerror}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def whole_length(lengths: list[int], share: float = 0.95) -> int:
    """The smallest T (tokens + `<eos>`) that keeps `share` of texts of these token counts
    whole; what `seqgan-music text vocab` suggests and `train text` uses unless told."""
    ordered = sorted(lengths) or [1]
    return max(ordered[min(len(ordered) - 1, int(share * len(ordered)))] + 1, 2)


def seeded_split(items: list[str], valid: float, test: float, seed: int
                 ) -> tuple[list[str], list[str], list[str]]:
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(items))
    num_test = max(1, round(len(items) * test)) if test > 0 else 0
    num_valid = max(1, round(len(items) * valid))
    pick = [items[i] for i in order]
    return pick[num_test + num_valid :], pick[num_test : num_test + num_valid], pick[:num_test]


class TextTask(Task):
    """Shared by the text tasks: lines -> vocabulary -> fixed-length ids -> BLEU evaluators."""

    preset_root = builtin_presets("text")
    tokenizer: ClassVar[str] = "word"
    seq_len: ClassVar[int] = 32
    bleu_orders: ClassVar[tuple[int, ...]] = (2, 3, 4, 5)
    self_bleu: ClassVar[bool] = False
    folder: ClassVar[str] = ""  # under $SEQGAN_MUSIC_DATA and the cache
    files: ClassVar[dict[str, str]] = {}  # role (train, test, all) -> path inside the folder
    extra_options: ClassVar[tuple[str, ...]] = ()
    accepted_options = TEXT_OPTION_TYPES
    paper: ClassVar[dict[str, dict[str, float]]] = {}
    figure_groups = {
        "BLEU against task_options.bleu_references (default the test split; higher = closer "
        "to real text)": ("bleu2", "bleu3", "bleu4", "bleu5", "nll_valid"),
        "BLEU against the other split (the training split holds more references, so its "
        "scale is higher; a copied training text scores 1.0 there)":
            (*(f"bleu{n}_train" for n in range(2, 6)), *(f"bleu{n}_test" for n in range(2, 6))),
        "Self-BLEU (lower = more diverse)": ("self_bleu2", "self_bleu3", "self_bleu4",
                                             "self_bleu5"),
    }
    figure_labels = {**{f"bleu{n}": f"BLEU-{n}" for n in range(2, 6)},
                     **{f"bleu{n}_train": f"BLEU-{n} (train refs)" for n in range(2, 6)},
                     **{f"bleu{n}_test": f"BLEU-{n} (test refs)" for n in range(2, 6)},
                     **{f"self_bleu{n}": f"Self-BLEU-{n}" for n in range(2, 6)},
                     "nll_valid": "NLL valid"}

    def remote_files(self) -> tuple[RemoteFile, ...]:
        return ()

    def defaults(self) -> dict[str, Any]:
        return {"data": {"seq_len": self.seq_len}}

    def options(self, config: ExperimentConfig) -> dict[str, Any]:
        """The task options, checked against `accepted_options`, over the defaults."""
        values = check_task_options(self.name, self.accepted_options, dict(config.task_options))
        return {"min_freq": 1, "max_vocab": 0, "valid_fraction": 0.1, "test_fraction": 0.1,
                "split_seed": 0, "bleu_references": "test", **values}

    def clean(self, line: str) -> str:
        return line

    def data_seq_len(self, config: ExperimentConfig, data: Path | None) -> int | None:
        """T derived from the data (`whole_length` of its token counts) for tasks without a
        benchmark T, used unless the user sets data.seq_len; None keeps the configured T."""
        return None

    def _folder(self) -> Path | None:
        from seqgan_music.io.downloads import cache_dir, is_complete

        root = data_root()
        if root is not None and (root / self.folder).is_dir():
            return root / self.folder
        cached = cache_dir() / self.folder
        return cached if is_complete(cached) else None

    def data_status(self, data: Path | None = None) -> str:
        folder = self._folder()
        if folder is not None and all((folder / p).is_file() for p in self.files.values()):
            return f"present ({folder})"
        return f"missing: seqgan-music data download {self.name}" if self.remote_files() \
            else "pass --data"

    def source(self) -> str:
        urls = ", ".join(r.url.split("/")[3] + "/" + r.url.split("/")[4]
                         for r in self.remote_files()[:1])
        return f"--data FILE, $SEQGAN_MUSIC_DATA/{self.folder}, or the cache ({urls})"

    def locate(self, data: Path | None) -> dict[str, Path]:
        """The files by role ("all", or "train" and "test")."""
        if data is not None:
            if data.is_file():  # one file: split it into train/valid/test
                return {"all": data}
            if not data.is_dir():
                raise DataError(f"--data {data} does not exist; pass the text file (one item "
                                "per line) or the folder holding it")
            found = {role: data / rel for role, rel in self.files.items()}
            if not all(p.is_file() for p in found.values()):
                by_name = {role: data / Path(rel).name for role, rel in self.files.items()}
                if all(p.is_file() for p in by_name.values()):
                    return by_name
                missing = [str(p) for p in found.values() if not p.is_file()]
                raise DataError(f"--data {data} lacks {missing[0]}")
            return found
        folder = self._folder()
        if folder is None or not all((folder / p).is_file() for p in self.files.values()):
            missing = [p for p in self.files.values()
                       if folder is None or not (folder / p).is_file()]
            hint = (f"run `seqgan-music data download {self.name}`, or " if self.remote_files()
                    else "")
            raise DataMissing(f"the {self.name} data ({missing[0]}) is not here: {hint}pass "
                              f"--data PATH, or set $SEQGAN_MUSIC_DATA", task=self.name)
        return {role: folder / rel for role, rel in self.files.items()}

    def download(self, force: bool = False, progress: Any = None) -> Path:
        from seqgan_music.errors import DataWarning
        from seqgan_music.io.downloads import download_files

        if not self.remote_files():
            raise DataError(f"task {self.name} has no public download; pass --data")
        folder, unverified = download_files(self.folder, self.remote_files(), force=force,
                                            progress=progress)
        if unverified:
            import warnings

            warnings.warn(f"{', '.join(unverified)} downloaded without verification: no "
                          "checksum of it is recorded", DataWarning, stacklevel=2)
        return folder

    def texts(self, options: dict[str, Any], data: Path | None
              ) -> tuple[list[str], list[str], list[str], str]:
        """Train, valid and test texts for validated `options` (see `options`), and a label."""
        files = self.locate(data)
        seed, valid, test = (int(options["split_seed"]), float(options["valid_fraction"]),
                             float(options["test_fraction"]))
        if "test" in files:
            train_all = [self.clean(t) for t in read_lines(files["train"])]
            train, valid_texts, _ = seeded_split(train_all, valid, 0.0, seed)
            test_texts = [self.clean(t) for t in read_lines(files["test"])]
        else:
            items = list(dict.fromkeys(self.clean(t) for t in read_lines(files["all"])))
            train, valid_texts, test_texts = seeded_split([t for t in items if t], valid, test,
                                                          seed)
        if len(train) < 2 or not test_texts:
            raise DataError(f"{', '.join(map(str, files.values()))} holds too few lines "
                            f"({len(train)} for training); at least 2 training lines and a "
                            "test line are needed")
        label = ", ".join(p.name for p in files.values())
        return train, valid_texts, test_texts, label

    def prepare(self, config: ExperimentConfig, data: Path | None = None) -> Corpus:
        import torch

        from seqgan_music.text.tokenizers import Vocabulary
        from seqgan_music.trainer.loop import Corpus

        options = self.options(config)
        train, valid, test, label = self.texts(options, data)
        kind = str(options.get("tokenizer", self.tokenizer))
        vocab = Vocabulary.build(train, kind, int(options["min_freq"]),
                                 int(options["max_vocab"]) or None)
        seq_len = config.data.seq_len
        arrays = [torch.from_numpy(vocab.encode(texts, seq_len)) for texts in (train, valid, test)]
        evaluate = text_evaluator(vocab, arrays[2].numpy(), self.bleu_orders, self.self_bleu,
                                  train=arrays[0].numpy(),
                                  references=str(options["bleu_references"]))
        references = dict(self.paper)
        if len(valid) >= 2:  # real held-out texts scored like samples: what "good" looks like
            references["Data (valid)"] = evaluate(arrays[1])
        spec: dict[str, Any] = {
            "text": True, "vocab": vocab.to_dict(),
            "label": f"{label}: {len(train)}/{len(valid)}/{len(test)} texts (train/valid/test),"
                     f" {kind} vocabulary of {len(vocab)} (coverage of test "
                     f"{vocab.coverage(test):.1%}), T = {seq_len}",
            "reference_figures": references,
        }
        return Corpus(arrays[0], arrays[1], arrays[2], len(vocab), evaluate, spec)

    def decode(self, tokens: torch.Tensor, spec: dict[str, Any]) -> list[str]:
        from seqgan_music.text.tokenizers import Vocabulary

        vocab = Vocabulary.from_dict(spec["vocab"])
        return [vocab.decode(row.tolist()) for row in tokens]


def text_evaluator(vocab: Vocabulary, test: Any, orders: tuple[int, ...], self_bleu: bool,
                   train: Any = None, references: str = "test") -> Any:
    """BLEU-n (each order) against the whole `references` split ("test" or "train") as `bleuN`,
    against the other split as `bleuN_train` / `bleuN_test` (when `train` is given), and
    Self-BLEU when asked."""
    from seqgan_music.eval.bleu import BleuReference
    from seqgan_music.eval.bleu import self_bleu as self_bleu_score

    def table(rows: Any) -> BleuReference:
        stripped = [vocab.strip(row) for row in rows]
        return BleuReference([r for r in stripped if r], max_n=max(orders))

    splits = {"test": test, "train": train}
    main = table(splits[references])
    other_name = "train" if references == "test" else "test"
    other = table(splits[other_name]) if splits[other_name] is not None else None

    def evaluate(samples: Any) -> dict[str, float]:
        hypotheses = [vocab.strip(row) or [vocab.index.get("<unk>", 2)]
                      for row in samples.tolist()]
        scores = main.sentence_scores_by_order(hypotheses, orders)
        figures = {f"bleu{n}": float(scores[n].mean()) for n in orders}
        if other is not None:
            scores = other.sentence_scores_by_order(hypotheses, orders)
            figures.update({f"bleu{n}_{other_name}": float(scores[n].mean()) for n in orders})
        if self_bleu:
            for n in orders:
                figures[f"self_bleu{n}"] = self_bleu_score(hypotheses, n, max_samples=2000)
        return figures

    return evaluate


class PoemsTask(TextTask):
    """Chinese five-character quatrains (Texygen's shi.txt, the paper's 16,394 poems)."""

    name = "poems"
    summary = "Chinese quatrains, 20 characters each (paper Table 2, BLEU-2)"
    tokenizer = "char"
    seq_len = 20
    bleu_orders = (2,)
    folder = "poems"
    files = {"all": "Texygen/data/shi.txt"}
    paper = {"Paper MLE": {"bleu2": 0.6670}, "Paper SeqGAN": {"bleu2": 0.7389}}

    def remote_files(self) -> tuple[RemoteFile, ...]:
        return (_remote(f"{TEXYGEN}/data/shi.txt", "Texygen/data/shi.txt",
                        "ac03c5fbb07776f0e43cb1ccfc74732f5313ab3d832df81c8e0db327df35e666"),)

    def clean(self, line: str) -> str:
        return CHINESE_PUNCTUATION.sub("", line)  # 20 characters, punctuation removed

    def decode(self, tokens: torch.Tensor, spec: dict[str, Any]) -> list[str]:
        """Each poem in its lines, with the punctuation `clean` removed put back; lines of 7
        characters when the model's T holds a 28-character quatrain, else of 5."""
        line_length = 7 if tokens.shape[-1] >= 28 else 5
        return [format_poem(text, line_length) for text in super().decode(tokens, spec)]


def format_poem(text: str, line_length: int = 5) -> str:
    """A quatrain without punctuation ("白日依山尽黄河入海流...") in lines of `line_length`
    characters ending alternately in "，" and "。", the corpus's punctuation.

    A tail shorter than a line (a sample that stopped early) is kept without punctuation.
    """
    text = "".join(text.split())
    lines = [text[i : i + line_length] for i in range(0, len(text), line_length)]
    return "".join(line + ("，" if n % 2 == 0 else "。") if len(line) == line_length else line
                   for n, line in enumerate(lines))


class ObamaTask(TextTask):
    """Obama speech paragraphs, words (samim23/obama-rnn, the paper's corpus)."""

    name = "obama"
    summary = "Obama speech paragraphs, word tokens (paper Table 3, BLEU-3/4)"
    seq_len = 40
    bleu_orders = (3, 4)
    folder = "obama"
    files = {"all": "input.txt"}
    paper = {"Paper MLE": {"bleu3": 0.519, "bleu4": 0.416},
             "Paper SeqGAN": {"bleu3": 0.556, "bleu4": 0.427}}

    def remote_files(self) -> tuple[RemoteFile, ...]:
        return (_remote(f"{OBAMA}/input.txt", "input.txt"),)  # no published checksum


class CocoTask(TextTask):
    """Image COCO captions (Texygen's train and test files), words; BLEU-2..5, Self-BLEU."""

    name = "coco"
    summary = "Image COCO captions, word tokens (text-GAN benchmark, BLEU-2..5, Self-BLEU)"
    seq_len = 37
    self_bleu = True
    folder = "coco"
    files = {"train": "data/image_coco.txt", "test": "data/testdata/test_coco.txt"}

    def remote_files(self) -> tuple[RemoteFile, ...]:
        return (
            _remote(f"{TEXYGEN}/data/image_coco.txt", "data/image_coco.txt",
                    "2c0fd1f0f43aac6a9dc3926a535516ccf395de535e15ac1fd17cd569420736f5"),
            _remote(f"{TEXYGEN}/data/testdata/test_coco.txt", "data/testdata/test_coco.txt",
                    "72e25c9fb4d2cd43182ac602c92f6ffc377762147f9709572943b0b09174bcae"),
        )


class EmnlpNewsTask(TextTask):
    """EMNLP 2017 WMT News (Texygen's files), words; BLEU-2..5, Self-BLEU."""

    name = "emnlp-news"
    summary = "EMNLP2017 WMT News sentences, word tokens (text-GAN benchmark)"
    seq_len = 51
    self_bleu = True
    folder = "emnlp_news"
    files = {"train": "data/emnlp_news.txt", "test": "data/testdata/test_emnlp.txt"}

    def remote_files(self) -> tuple[RemoteFile, ...]:
        return (
            _remote(f"{TEXYGEN}/data/emnlp_news.txt", "data/emnlp_news.txt",
                    blob="538653e5f946b6f76e2b729c5aaa7507152354a3"),
            _remote(f"{TEXYGEN}/data/testdata/test_emnlp.txt", "data/testdata/test_emnlp.txt",
                    "03c646d08f766f4140443db4419b1f0ee292bc0db514208873e9f2e166b95bd2"),
        )


class TextFileTask(TextTask):
    """Your own text file: one item per line, `--tokenizer char|word`."""

    name = "text"
    summary = "your own text file (--data FILE, one item per line; --tokenizer char|word)"
    bleu_orders = (2, 3, 4)
    self_bleu = True
    files = {"all": ""}
    extra_options = ("tokenizer",)
    accepted_options = {**TEXT_OPTION_TYPES, "tokenizer": TOKENIZER_OPTION}

    def source(self) -> str:
        return "--data FILE (UTF-8, one item per line)"

    def data_status(self, data: Path | None = None) -> str:
        return "yours: pass --data FILE"

    def locate(self, data: Path | None) -> dict[str, Path]:
        if data is None:
            raise DataError("the text task trains on your own file: pass --data FILE (UTF-8, "
                            "one item per line) and --tokenizer char or word")
        if not data.is_file():
            raise DataError(f"--data {data} is not a file; pass a UTF-8 text file, one item "
                            "per line")
        return {"all": data}

    def data_seq_len(self, config: ExperimentConfig, data: Path | None) -> int | None:
        from seqgan_music.text.tokenizers import split_text

        kind = str(self.options(config).get("tokenizer", self.tokenizer))
        lines = [self.clean(t) for path in self.locate(data).values() for t in read_lines(path)]
        return whole_length([len(split_text(line, kind)) for line in lines])
