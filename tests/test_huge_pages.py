"""The training commands' restart with glibc's huge-page malloc (runtime.allocator)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from seqgan_music.runtime import allocator
from seqgan_music.runtime.allocator import HUGE_PAGES_TUNABLE, huge_pages_environment

GLIBC = "glibc 2.36"
MADVISE = "always [madvise] never\n"


def test_the_tunable_is_added_where_glibc_and_the_kernel_can_use_it() -> None:
    env = huge_pages_environment({"PATH": "/bin"}, GLIBC, MADVISE)
    assert env == {"PATH": "/bin", "GLIBC_TUNABLES": HUGE_PAGES_TUNABLE}
    kept = huge_pages_environment({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, GLIBC,
                                  "[always] madvise never")
    assert kept is not None
    assert kept["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{HUGE_PAGES_TUNABLE}"


@pytest.mark.parametrize(("environ", "libc", "thp"), [
    ({"SEQGAN_MUSIC_HUGE_PAGES": "0"}, GLIBC, MADVISE),  # turned off
    ({"SEQGAN_MUSIC_HUGE_PAGES": "off"}, GLIBC, MADVISE),
    ({"GLIBC_TUNABLES": HUGE_PAGES_TUNABLE}, GLIBC, MADVISE),  # already restarted
    ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, GLIBC, MADVISE),  # the user's own choice
    ({}, "glibc 2.34", MADVISE),  # too old to know the tunable
    ({}, "musl 1.2", MADVISE),
    ({}, "glibc x.y", MADVISE),
    ({}, GLIBC, "always madvise [never]\n"),  # the kernel's huge pages are off
])
def test_nothing_to_do(environ: dict[str, str], libc: str, thp: str) -> None:
    assert huge_pages_environment(environ, libc, thp) is None


def test_the_process_restarts_once_with_the_tunable_and_its_arguments(tmp_path) -> None:
    if huge_pages_environment(os.environ) is None:
        pytest.skip("no glibc huge-page malloc on this machine")
    script = tmp_path / "probe.py"
    script.write_text(
        "import os, sys\n"
        "from seqgan_music.runtime.allocator import restart_with_huge_pages\n"
        "restart_with_huge_pages()\n"
        "print(os.getpid(), os.environ.get('GLIBC_TUNABLES', ''), sys.argv[1:])\n",
        encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES",
                                                           "SEQGAN_MUSIC_HUGE_PAGES")}
    out = subprocess.run([sys.executable, str(script), "a b", "--x"], env=env, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert len(out) == 1  # one process printed, once
    _, tunables, args = out[0].split(" ", 2)
    assert tunables == HUGE_PAGES_TUNABLE and args == "['a b', '--x']"
    off = subprocess.run([sys.executable, str(script)], check=True, capture_output=True,
                         text=True, env={**env, "SEQGAN_MUSIC_HUGE_PAGES": "0"}).stdout
    assert off.split(" ")[1] == ""


@pytest.mark.parametrize(("argv", "restarts"), [
    (["seqgan-music", "train", "--help"], True),
    (["seqgan-music", "oracle", "--help"], True),
    (["seqgan-music", "compose", "--help"], False),
    (["seqgan-music", "--help"], False),
])
def test_only_training_commands_restart(argv: list[str], restarts: bool,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from seqgan_music.cli import main
    calls: list[bool] = []
    monkeypatch.setattr(allocator, "restart_with_huge_pages", lambda: calls.append(True))
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code == 0
    assert calls == ([True] if restarts else [])
