from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqgan_music.config import ExperimentConfig
from seqgan_music.core.discriminator import Discriminator
from seqgan_music.core.steps import adam, discriminator_epochs, mle_epoch
from seqgan_music.errors import CheckpointError, ConfigError, TrainingError
from seqgan_music.io.runs import load_checkpoint, save_checkpoint
from seqgan_music.trainer.loop import Corpus, Trainer


def _corpus(num: int = 24, seed: int = 0) -> Corpus:
    g = torch.Generator().manual_seed(seed)
    data = torch.randint(0, 8, (num, 6), generator=g)
    return Corpus(train=data, valid=data[:4], test=data[:4], vocab_size=8,
                  evaluate=lambda s: {"mean_token": float(s.float().mean())})


def _params(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


@pytest.mark.parametrize("phase", ["mle", "d_pretrain", "adversarial", "pg_bleu",
                                   "scheduled_sampling"])
def test_each_phase_changes_parameters_with_finite_losses(
    tiny_config: ExperimentConfig, phase: str
) -> None:
    trainer = Trainer(tiny_config, _corpus())
    g0, d0 = _params(trainer.generator), _params(trainer.discriminator)
    record = trainer._step(phase, 0)
    losses = [v for k, v in record.items() if k.endswith("loss")]
    assert losses and all(torch.isfinite(torch.tensor(v)) for v in losses)
    changed_g = not torch.equal(g0, _params(trainer.generator))
    changed_d = not torch.equal(d0, _params(trainer.discriminator))
    assert changed_g == (phase != "d_pretrain")
    assert changed_d == (phase in ("d_pretrain", "adversarial"))


def test_mle_overfits_two_sequences(tiny_config: ExperimentConfig) -> None:
    tiny_config.train.pretrain_lr = 0.05
    data = torch.tensor([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]]).repeat(8, 1)
    corpus = Corpus(train=data, valid=data, test=data, vocab_size=8)
    trainer = Trainer(tiny_config, corpus)
    for _ in range(60):
        loss = mle_epoch(trainer.generator, trainer.pretrain_optimizer, trainer.train_data, 16,
                         5.0, trainer.rng)
    # after the first token (a coin flip between the two) every token is determined
    assert loss < 0.2
    samples = trainer.generator.sample(20, 6, generator=torch.Generator().manual_seed(0))
    rows = {tuple(r.tolist()) for r in samples}
    assert rows <= {(1, 2, 3, 4, 5, 6), (6, 5, 4, 3, 2, 1)}


def test_non_finite_loss_stops_training(tiny_config: ExperimentConfig, tmp_path: Path) -> None:
    trainer = Trainer(tiny_config, _corpus(), run_dir=tmp_path)
    trainer.save()
    with torch.no_grad():
        trainer.generator.head.bias.fill_(float("nan"))
    with pytest.raises(TrainingError, match="non-finite loss"):
        trainer._step("mle", 0)
    assert (tmp_path / "checkpoints" / "latest.pt").exists()


def test_run_writes_run_directory(tiny_config: ExperimentConfig, tmp_path: Path) -> None:
    trainer = Trainer(tiny_config, _corpus(), run_dir=tmp_path)
    records = trainer.run()
    assert (tmp_path / "config.toml").exists()
    assert (tmp_path / "checkpoints" / "latest.pt").exists()
    assert (tmp_path / "checkpoints" / "mle.pt").exists()
    phases = [r["phase"] for r in records]
    assert phases.count("mle") == 3 and phases.count("adversarial") == 2
    assert all("mean_token" in r for r in records if r["phase"] == "adversarial")
    state = load_checkpoint(tmp_path)
    assert state["progress"] == {"mle": 2, "d_pretrain": 1, "adversarial": 2}
    assert ExperimentConfig.from_dict(state["config"]) == tiny_config


@pytest.mark.slow
def test_resume_continues_to_the_same_result(tiny_config: ExperimentConfig, tmp_path: Path
                                             ) -> None:
    tiny_config.train.adversarial_iterations = 3
    full = Trainer(tiny_config, _corpus(), run_dir=tmp_path / "full")
    full.run()

    interrupted = Trainer(tiny_config, _corpus(), run_dir=tmp_path / "cut")
    interrupted.run(stop_after="d_pretrain")
    interrupted._step("adversarial", 0)  # progress past the checkpoint is lost, as in a crash
    resumed = Trainer(tiny_config, _corpus(), run_dir=tmp_path / "cut")
    resumed.resume(tmp_path / "cut")
    resumed.run()
    assert torch.equal(_params(full.generator), _params(resumed.generator))
    assert torch.equal(_params(full.discriminator), _params(resumed.discriminator))
    assert full.metrics is not None and resumed.metrics is not None
    full_records = [{k: v for k, v in r.items() if k != "seconds"}
                    for r in full.metrics.records()]
    resumed_records = [{k: v for k, v in r.items() if k != "seconds"}
                       for r in resumed.metrics.records()]
    assert full_records == resumed_records


def test_state_dict_is_a_snapshot(tiny_config: ExperimentConfig) -> None:
    trainer = Trainer(tiny_config, _corpus())
    state = trainer.state_dict()
    before = state["generator"]["head.weight"].clone()
    trainer._step("mle", 0)
    assert torch.equal(state["generator"]["head.weight"], before)


def test_checkpoint_is_atomic_and_safe(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"x": torch.arange(3)})
    assert torch.equal(load_checkpoint(path)["x"], torch.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary left behind
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a seqgan-music checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
    torch.save({"format": "other"}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a seqgan-music checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_refuses_pickled_code(tmp_path: Path) -> None:
    torch.save({"format": "seqgan-music-checkpoint", "version": 1, "obj": Path("x")},
               tmp_path / "evil.pt")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "evil.pt")


@pytest.mark.parametrize("phase", ["adversarial", "pg_bleu"])
@pytest.mark.slow
def test_rollout_policy_starts_from_the_pretrained_generator(
    tiny_config: ExperimentConfig, tmp_path: Path, phase: str
) -> None:
    """Algorithm 1, line 3: beta <- theta when the policy-gradient phase starts, so after its
    first update G_beta = rate * theta_pretrained + (1 - rate) * theta_1."""
    tiny_config.train.adversarial_iterations = 1
    rate = tiny_config.rollout.rollout_update_rate
    method = "seqgan" if phase == "adversarial" else "pg-bleu"
    trainer = Trainer(tiny_config, _corpus(), method=method, run_dir=tmp_path / "a")
    trainer.run(stop_after="d_pretrain" if phase == "adversarial" else "mle")
    pretrained = _params(trainer.generator)
    assert not torch.equal(pretrained, _params(trainer.rollout.policy))  # the stale copy
    trainer.run()
    expected = rate * pretrained + (1 - rate) * _params(trainer.generator)
    assert torch.allclose(_params(trainer.rollout.policy), expected, atol=1e-6)

    # the same when the phase starts in a resumed process
    resumed = Trainer(tiny_config, _corpus(), method=method, run_dir=tmp_path / "b")
    resumed.run(stop_after="d_pretrain" if phase == "adversarial" else "mle")
    again = Trainer(tiny_config, _corpus(), method=method, run_dir=tmp_path / "b")
    again.resume(tmp_path / "b")
    again.run()
    assert torch.equal(_params(again.rollout.policy), _params(trainer.rollout.policy))


@pytest.mark.slow
def test_evaluation_does_not_move_training_randomness(tiny_config: ExperimentConfig) -> None:
    tiny_config.train.adversarial_iterations = 3
    often = Trainer(tiny_config, _corpus())
    often.run()
    tiny_config.train.eval_every = 2
    seldom = Trainer(tiny_config, _corpus())
    seldom.run()
    assert torch.equal(_params(often.generator), _params(seldom.generator))
    assert torch.equal(_params(often.discriminator), _params(seldom.discriminator))
    # one model, one set of figures, however often it was evaluated before
    assert often.evaluate() == often.evaluate() == seldom.evaluate()


def test_rollout_update_rate_one_is_refused(tiny_config: ExperimentConfig) -> None:
    values = tiny_config.to_dict()
    values["rollout"]["rollout_update_rate"] = 1.0
    with pytest.raises(ConfigError, match=r"rollout_update_rate.*\[0, 1\)"):
        ExperimentConfig.from_dict(values)


def test_non_finite_loss_names_the_checkpoint_only_when_there_is_one(
    tiny_config: ExperimentConfig, tmp_path: Path
) -> None:
    fresh = Trainer(tiny_config, _corpus(), run_dir=tmp_path / "fresh")
    with torch.no_grad():
        fresh.generator.head.bias.fill_(float("nan"))
    with pytest.raises(TrainingError, match="No checkpoint had been saved yet"):
        fresh.run()
    saved = Trainer(tiny_config, _corpus(), run_dir=tmp_path / "saved")
    saved.run(stop_after="mle")
    with torch.no_grad():
        saved.generator.head.bias.fill_(float("nan"))
    with pytest.raises(TrainingError, match="last good checkpoint is kept"):
        saved.run()


def test_fused_adam_matches_the_default_adam_and_stays_fused_when_loaded(
    tiny_config: ExperimentConfig
) -> None:
    # Channels-last convolution weights included: the fused kernel must see matching layouts.
    data = torch.randint(0, 8, (48, 6), generator=torch.Generator().manual_seed(0))
    models, optimizers = [], []
    for make in (lambda p: torch.optim.Adam(p, lr=0.01), lambda p: adam(p, lr=0.01)):
        torch.manual_seed(0)
        d = Discriminator(tiny_config.discriminator, 8, 6)
        optimizer = make(d.parameters())
        discriminator_epochs(d, optimizer, data[:24], data[24:], 2, 8,
                             torch.Generator().manual_seed(1), precision="float32")
        models.append(d)
        optimizers.append(optimizer)
    assert torch.allclose(_params(models[0]), _params(models[1]), atol=1e-6)
    optimizers[1].load_state_dict(optimizers[0].state_dict())  # saved by the default Adam
    assert optimizers[1].param_groups[0]["fused"] is True


def test_denormals_are_flushed_in_every_torch_thread_even_after_they_started() -> None:
    """Adam's decaying moments become denormal and take the CPU's slow path; the trainer
    flushes them to zero in torch's OpenMP threads too (threads.flush_denormals)."""
    import platform

    from seqgan_music.runtime.threads import flush_denormals

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("flush-to-zero is set through the x86 MXCSR register")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        torch.ones(1 << 20).mul_(2.0)  # the thread team exists before the call
        assert flush_denormals()
        tiny = torch.full((1 << 20,), 1e-39)  # denormal in float32
        assert int((tiny * 1.0 != 0).sum()) == 0  # in every thread's share of the tensor
    finally:
        torch.set_num_threads(threads)
