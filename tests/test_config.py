from __future__ import annotations

from pathlib import Path

import pytest

from seqgan_music.config import ExperimentConfig, parse_override, resolve_config
from seqgan_music.errors import ConfigError
from seqgan_music.tasks import load_task


def test_layering_and_overrides(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("[train]\nbatch_size = 16\npretrain_epochs = 7\n")
    config = resolve_config({"train": {"batch_size": 8}}, {"train": {"pretrain_epochs": 3}},
                            file, ["train.batch_size=32", "rollout.rollout_update_rate=0"],
                            seed=5)
    assert config.train.batch_size == 32
    assert config.train.pretrain_epochs == 7
    assert config.rollout.rollout_update_rate == 0.0
    assert config.seed == 5


@pytest.mark.parametrize("override, match", [
    ("train.batch_sise=3", "unknown config field 'train.batch_sise'"),
    ("train.batch_size=-3", "train.batch_size = -3 is invalid"),
    ("train.batch_size=abc", "wrong type"),
    ("rollout.rollout_update_rate=1.5", "rollout.rollout_update_rate"),
    ("discriminator.filter_widths=[1,2,3,4,5,6,7,8,9,10,15,30]",
     "widths between 1 and the sequence length"),
    ("noequals", "expected key=value"),
])
def test_bad_values_name_the_field(override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_config({}, {}, None, [override])


def test_parse_override_reads_toml_values() -> None:
    assert parse_override("a.b=[1, 2]") == {"a": {"b": [1, 2]}}
    assert parse_override("device=cpu") == {"device": "cpu"}
    assert parse_override("x=true") == {"x": True}


def test_presets_load_and_validate() -> None:
    task = load_task("oracle")
    assert set(task.preset_names()) >= {"quick", "default", "paper"}
    for name in task.preset_names():
        config = resolve_config(task.defaults(), task.preset(name))
        assert config.data.seq_len == 20
    paper = resolve_config(task.defaults(), task.preset("paper"))
    assert paper.train.pretrain_epochs == 120 and paper.rollout.num_rollouts == 16
    with pytest.raises(ConfigError, match="preset 'nope' is unknown"):
        task.preset("nope")


def test_round_trip_through_dict() -> None:
    config = ExperimentConfig()
    assert ExperimentConfig.from_dict(config.to_dict()) == config
