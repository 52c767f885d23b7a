"""The numpy sampler behind `compose` is the torch generator, and model files round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from seqgan_music.app.inference import NumpyGenerator, read_model, write_safetensors_model
from seqgan_music.config import GeneratorConfig
from seqgan_music.core.generator import Generator


def test_numpy_cell_matches_the_torch_generator() -> None:
    torch.manual_seed(0)
    model = Generator(GeneratorConfig(embedding_dim=6, hidden_dim=10, start_token=0, init_std=0.5),
                      vocab_size=13)
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    sequences = torch.randint(0, 13, (7, 9))
    expected = model.log_probs(sequences).detach().numpy()
    got = NumpyGenerator.from_state(weights, 0).log_probs(sequences.numpy())
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_sampling_is_seeded_and_follows_the_distribution() -> None:
    rng = np.random.default_rng(1)
    weights = {"embedding.weight": rng.normal(size=(5, 3)),
               "lstm.weight_ih_l0": rng.normal(size=(16, 3)),
               "lstm.weight_hh_l0": rng.normal(size=(16, 4)),
               "lstm.bias_ih_l0": rng.normal(size=16), "lstm.bias_hh_l0": rng.normal(size=16),
               "head.weight": rng.normal(size=(5, 4)), "head.bias": rng.normal(size=5)}
    generator = NumpyGenerator.from_state(weights, 0)
    first = generator.sample(20_000, 1, seed=4)
    assert np.array_equal(first, generator.sample(20_000, 1, seed=4))
    assert not np.array_equal(first, generator.sample(20_000, 1, seed=5))
    probs = np.exp(generator.log_probs(np.arange(5)[:, None])[:, 0])
    counts = np.bincount(first[:, 0], minlength=5) / 20_000
    np.testing.assert_allclose(counts, probs, atol=0.015)
    cold = generator.sample(2_000, 1, seed=4, temperature=0.05)
    assert (cold[:, 0] == probs.argmax()).mean() > 0.99


def test_safetensors_model_round_trip(tmp_path: Path) -> None:
    model = Generator(GeneratorConfig(), vocab_size=11)
    meta = {"config": {"generator": {"start_token": 0}}, "task": {"label": "tiny"},
            "method": "seqgan", "vocab_size": 11}
    path = write_safetensors_model(tmp_path / "m.safetensors", model.state_dict(), meta)
    found = read_model(path)
    assert found.task == {"label": "tiny"} and found.vocab_size == 11
    np.testing.assert_array_equal(found.weights["head.bias"], model.head.bias.detach().numpy())
