"""Seeded fuzzing of every reader of user files: broken MIDI, ABC, text, vocabularies,
`.safetensors` models and `.pt` checkpoints. Each generated file must either be read or be
refused with a `SeqganMusicError` (which the CLI prints as one line), never another exception.
"""

from __future__ import annotations

import io
import json
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seqgan_music.errors import SeqganMusicError
from tests.conftest import write_tune

SEED = 20260
ABC_TUNE = ("X:1\nT:Fuzz\nM:6/8\nL:1/8\nQ:1/4=120\nK:G\n|:\"G\"GAB d2e|\"D\"dBG A3|"
            "[DFA]2 z BAG:|\n(3efg a2 b|{g}f2e d>c|\n")
SPECIAL_VALUES: list[Any] = [None, True, -1, 0, 2**70, 3.5, float("nan"), "", "abc", [], {},
                             [1, "x"], {"a": 1}]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One of: truncate, flip bytes, insert random bytes, duplicate a slice, zero a run."""
    data = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0 and data:
        return bytes(data[: rng.randrange(len(data))])
    if kind == 1 and data:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 2:
        at = rng.randrange(len(data) + 1)
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == 3 and data:
        lo = rng.randrange(len(data))
        data[lo:lo] = data[lo : lo + rng.randint(1, 64)]
    elif data:
        lo = rng.randrange(len(data))
        data[lo : lo + rng.randint(1, 32)] = bytes(min(32, len(data) - lo))
    return bytes(data)


def mutate_value(value: Any, rng: random.Random) -> Any:
    """A copy of a JSON-like value with one entry somewhere replaced, dropped or retyped."""
    if isinstance(value, dict) and value:
        value = dict(value)
        key = rng.choice(sorted(value))
        roll = rng.random()
        if roll < 0.25:
            del value[key]
        elif roll < 0.6:
            value[key] = rng.choice(SPECIAL_VALUES)
        else:
            value[key] = mutate_value(value[key], rng)
        return value
    if isinstance(value, list) and value:
        value = list(value)
        value[rng.randrange(len(value))] = rng.choice(SPECIAL_VALUES)
        return value
    return rng.choice(SPECIAL_VALUES)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Valid files of each kind, the starting points of the mutations."""
    import torch

    from seqgan_music.app.inference import write_safetensors_model
    from seqgan_music.config import ExperimentConfig
    from seqgan_music.core.generator import Generator
    from seqgan_music.io.runs import save_checkpoint

    folder = tmp_path_factory.mktemp("seeds")
    midi = write_tune(folder / "tune.mid", [60, 62, None, 64, 65, 67] * 3, chords=[48])
    config = ExperimentConfig.from_dict({
        "task": "oracle", "data": {"seq_len": 6, "vocab_size": 8},
        "generator": {"embedding_dim": 4, "hidden_dim": 4},
        "discriminator": {"embedding_dim": 4, "filter_widths": [1, 2], "num_filters": [2, 2]}})
    torch.manual_seed(0)
    generator = Generator(config.generator, 8)
    meta = {"config": config.to_dict(), "method": "mle", "progress": {"mle": 1},
            "task": {"task": "oracle"}, "vocab_size": 8}
    model = write_safetensors_model(folder / "model.safetensors", generator.state_dict(), meta)
    checkpoint = folder / "model.pt"
    save_checkpoint(checkpoint, {**meta, "generator": generator.state_dict()})
    vocab = {"kind": "word", "tokens": ["<pad>", "<eos>", "<unk>", "a", "b"], "min_freq": 1}
    return {"midi": midi.read_bytes(), "safetensors": model.read_bytes(),
            "pt": checkpoint.read_bytes(), "meta": meta, "state": generator.state_dict(),
            "vocab": vocab}


def cases(seeds: dict[str, Any], folder: Path) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(description, reader call) for every generated file; seeded."""
    import torch
    from safetensors.numpy import save

    from seqgan_music.app import model as pipeline
    from seqgan_music.app.inference import read_model
    from seqgan_music.io.runs import load_checkpoint, save_checkpoint
    from seqgan_music.music.corpus import read_file
    from seqgan_music.tasks.text import read_lines
    from seqgan_music.text.tokenizers import Vocabulary

    rng = random.Random(SEED)

    def file(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    for i in range(120):  # MIDI: mutated, and random bytes behind a MIDI header
        data = mutate(seeds["midi"], rng) if i % 4 else b"MThd" + rng.randbytes(rng.randrange(64))
        path = file(f"m{i}.mid", data)
        yield f"MIDI {path.name}", lambda p=path: read_file(p, 0.4, rng.choice(["auto", "highest"]))
    for i in range(40):  # ABC: character-level damage of one tune
        text = list(ABC_TUNE)
        for _ in range(rng.randint(1, 12)):
            text.insert(rng.randrange(len(text) + 1), rng.choice("|:[]{}()<>/^_=,'~-0123456789"
                                                                 "ABCDEFGabcdefgzxKLMQXT\n\"!"))
        path = file(f"a{i}.abc", ("".join(text) if i % 5 else ABC_TUNE[: rng.randrange(40)])
                    .encode("utf-8", "replace"))
        yield f"ABC {path.name}", lambda p=path: read_file(p, 0.4, "auto")
    for i in range(30):  # ABC: meters and unit lengths of every size (issue 23, class 12)
        big = rng.choice([rng.randrange(1, 40), rng.randrange(1, 10**7)])
        unit = rng.choice([1, 2, 3, 4, 8, 16, 64, 128, 10**6])
        field = rng.choice([f"M:{big}/{unit}", f"M:{big}+{rng.randrange(1, 9)}/{unit}",
                            f"L:1/{unit}", f"M:6/8\nK:G\nGA|[M:{big}/{unit}]B"])
        path = file(f"meter{i}.abc", ABC_TUNE.replace("M:6/8", field, 1).encode())
        yield f"ABC {path.name} {field!r}", lambda p=path: read_file(p, 0.4, "auto")
    for _ in range(10):  # names that are not UTF-8 (downloaded archives; class 10)
        raw = os.fsencode(folder) + b"/n" + bytes(rng.randrange(128, 256) for _ in range(4))
        with open(raw + b".mid", "wb") as handle:
            handle.write(seeds["midi"])
        path = Path(os.fsdecode(raw + b".mid"))
        yield f"MIDI named {path.name!r}", lambda p=path: read_file(p, 0.4, "auto")
    for i in range(20):  # text: invalid UTF-8, NULs, empty
        path = file(f"t{i}.txt", rng.randbytes(rng.randrange(200)) if i % 2 else b"")
        yield f"text {path.name}", lambda p=path: read_lines(p)
    for _ in range(30):  # vocabularies as `text vocab --out` writes them, damaged
        value = mutate_value(seeds["vocab"], rng)
        yield f"vocabulary {json.dumps(value, default=str)[:60]}", \
            lambda v=value: Vocabulary.from_dict(v)
    for i in range(50):  # .safetensors: damaged bytes
        path = file(f"s{i}.safetensors", mutate(seeds["safetensors"], rng))
        yield f"safetensors bytes {path.name}", lambda p=path: read_model(p)
    for i in range(60):  # .safetensors: well-formed file, lying metadata or weights
        meta = mutate_value(seeds["meta"], rng)
        weights = {k: v.numpy().copy() for k, v in seeds["state"].items()}
        if i % 3 == 0:
            name = rng.choice(sorted(weights))
            weights[name] = rng.choice([weights[name][:1], weights[name].T.copy(),
                                        np.full_like(weights[name], np.inf),
                                        weights[name].astype(np.int32)])
        path = file(f"sm{i}.safetensors",
                    save(weights, metadata={"seqgan_music": json.dumps(meta, default=str)}))
        yield f"safetensors metadata {path.name}", lambda p=path: read_model(p)
    for i in range(40):  # .pt: damaged bytes (a zip archive)
        path = file(f"p{i}.pt", mutate(seeds["pt"], rng))
        yield f"checkpoint bytes {path.name}", lambda p=path: load_checkpoint(p)
    for i in range(40):  # .pt: a readable checkpoint with lying entries
        state = mutate_value(seeds["meta"], rng)
        state = state if isinstance(state, dict) else {"config": state}
        generator = {k: v.clone() for k, v in seeds["state"].items()}
        if i % 2:
            name = rng.choice(sorted(generator))
            generator[name] = rng.choice([generator[name][:1], torch.zeros(3),
                                          torch.full_like(generator[name], float("nan")),
                                          generator[name].to(torch.bfloat16)])
        path = folder / f"pl{i}.pt"
        save_checkpoint(path, {**state, "generator": generator})
        yield f"checkpoint entries {path.name} (model)", lambda p=path: pipeline.load_model(p)
        yield f"checkpoint entries {path.name} (numpy)", lambda p=path: read_model(p)
    buffer = io.BytesIO()
    torch.save([1, 2, 3], buffer)
    path = file("list.pt", buffer.getvalue())
    yield "checkpoint holding a list", lambda p=path: load_checkpoint(p)


def test_readers_read_or_refuse_every_broken_file(seeds: dict[str, Any], tmp_path: Path
                                                  ) -> None:
    import warnings

    unexpected = []
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for description, read in cases(seeds, tmp_path):
            count += 1
            try:
                read()
            except SeqganMusicError:
                pass
            except Exception as error:  # noqa: BLE001 - what the test looks for
                unexpected.append(f"{description}: {type(error).__name__}: {error}"[:300])
    assert count >= 400
    assert not unexpected, f"{len(unexpected)} of {count}:\n" + "\n".join(unexpected[:15])


HOSTILE_VALUES: list[Any] = [None, True, False, -1, 0, 1.5, 2**64, 10**30, -(10**30), 1e300, "",
                             "x" * 5000, "../../etc/passwd", "/etc/passwd", "a\x00b", "..",
                             "oracle/../../x", "shipped:", "run:", "upload:", "tune:t1",
                             "M:1000000/1", "1000000/1", "7/9", "H", [], {}, [1, "x"],
                             {"a": {"b": [1]}}, "\udcff"]
FIELDS = ["model", "num", "length", "temperature", "seed", "tempo", "program", "primer", "key",
          "meter", "task", "preset", "method", "data", "resume", "id", "path", "name", "kind"]


def studio_requests(routes: list[tuple[str, str]], rng: random.Random
                    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, request arguments) for every route, seeded: hostile query strings,
    JSON bodies and raw bodies."""
    for method, path in routes:
        for _ in range(8):
            params = {rng.choice(FIELDS): str(rng.choice(HOSTILE_VALUES))[:6000]
                      .encode("utf-8", "replace").decode() for _ in range(rng.randint(0, 3))}
            if method == "GET":
                yield method, path, {"params": params}
                continue
            roll = rng.random()
            if roll < 0.5:
                body = {rng.choice(FIELDS): rng.choice(HOSTILE_VALUES)
                        for _ in range(rng.randint(1, 4))}
                raw = json.dumps(body, default=str, allow_nan=True).encode("utf-8",
                                                                          "surrogatepass")
            elif roll < 0.75:
                raw = rng.choice([b"[" * 50000, b'{"num": 1e999}', b"\xff\xfe", b"null",
                                  b'{"seed": ' + b"7" * 3000 + b"}", b"", b"{", b'"a"'])
            else:
                raw = mutate(b'{"num": 1, "seed": 3, "length": 16, "model": '
                             b'"shipped:nottingham-paper"}', rng)
            yield method, path, {"params": params, "content": raw,
                                 "headers": {"Content-Type": "application/json"}}


def test_every_studio_route_answers_hostile_requests_without_a_500(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    """Issue 23, class 14: seeded hostile requests to every route of the studio's app (the
    routes are read from the app, so a new one is fuzzed by default): each is answered, below
    500, with a one-line JSON error when refused; the studio keeps serving."""
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from seqgan_music.errors import ConfigError
    from seqgan_music.studio.app import Studio, create_app
    from tests.test_hostile_input import _routes_of

    studio = Studio(runs=tmp_path / "runs", hosts=("testserver",), work=tmp_path / "work")
    studio.work.mkdir()

    def no_training(**_: Any) -> None:  # the fuzz must not start real training processes
        raise ConfigError("training is off in this test")

    monkeypatch.setattr(studio.jobs, "start", no_training)
    client = TestClient(create_app(studio))
    client.headers["X-Studio-Token"] = studio.token
    routes = _routes_of(client)
    assert len(routes) >= 14
    failures = []
    count = 0
    for method, path, arguments in studio_requests(routes, random.Random(SEED)):
        if path.endswith("/events"):
            continue  # a stream: answered below once
        count += 1
        response = client.request(method, path, **arguments)
        if response.status_code >= 500:
            failures.append(f"{method} {path} {str(arguments)[:120]}: {response.text[:200]}")
        elif response.status_code >= 400:
            error = response.json().get("error", "")
            if not error or "\n" in error or "Traceback" in error:
                failures.append(f"{method} {path}: not one line: {error[:200]}")
    assert count >= 100
    assert not failures, f"{len(failures)} of {count}:\n" + "\n".join(failures[:10])
    assert client.get("/api/models").status_code == 200
    assert "event: done" in client.get("/api/train/events").text
    studio.close()
