"""The plug-in API from outside: a third-party package (examples/plugin) and a broken one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugin"


def install_fake(site: Path, name: str, entry: str) -> None:
    """What pip leaves on sys.path for a package: a dist-info with METADATA and entry points."""
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[seqgan_music.tasks]\n{entry}\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    install_fake(site, "seqgan-music-scales", "scales = seqgan_music_scales:ScalesTask")
    install_fake(site, "broken-plugin", "broken = no_such_module.anywhere:Task")
    return site


def cli(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(EXAMPLE)])}
    return subprocess.run([sys.executable, "-m", "seqgan_music", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_third_party_task_is_listed_with_its_provider(site: Path) -> None:
    result = cli(site, "tasks")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "scales" in line)
    assert "seqgan-music-scales" in row and "present" in row
    assert "  scales: present (generated)" in result.stdout  # the whole status, below the table
    for builtin in ("nottingham", "poems", "coco", "oracle"):
        assert builtin in result.stdout
    # the broken plug-in is one warning line; the other tasks are unharmed
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "'broken'" in warnings[0] and "broken-plugin" in warnings[0]


@pytest.mark.slow
def test_third_party_task_trains_and_adds_commands(site: Path, tmp_path: Path) -> None:
    trained = cli(site, "train", "scales", "--preset", "quick", "--device", "cpu", "--out",
                  str(tmp_path / "runs"))
    assert trained.returncode == 0, trained.stderr
    assert "in_scale" in trained.stdout
    assert list((tmp_path / "runs" / "scales").iterdir())
    shown = cli(site, "scales", "show")
    assert shown.returncode == 0 and shown.stdout.strip() == "C D E F G A B"


def test_broken_plugin_fails_alone(site: Path) -> None:
    result = cli(site, "train", "broken", "--preset", "quick")
    assert result.returncode == 1 and "failed to import" in result.stderr
    assert "Traceback" not in result.stderr
    assert cli(site, "--help").returncode == 0
