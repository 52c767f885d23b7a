"""Verified, atomic downloads, against a local HTTP server on 127.0.0.1 the test starts."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from seqgan_music.errors import DataError
from seqgan_music.io.downloads import Archive, download_archive, is_complete, read_sums

FILES = {"MIDI/melody/a.mid": b"MThd-a", "MIDI/melody/b.mid": b"MThd-b", "LICENSE.md": b"GPL"}


def sums(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def make_zip(path: Path, members: dict[str, bytes], top: str = "repo-main/") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(top + name, data)
        zf.writestr(top + "README.md", b"not kept")
    return path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign,assignment]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def www(tmp_path: Path) -> Path:
    return tmp_path / "www"


def test_download_verifies_and_extracts(tmp_path: Path, server: str) -> None:
    make_zip(www(tmp_path) / "data.zip", FILES)
    seen: list[int] = []
    target = download_archive(Archive("songs", (f"{server}/data.zip",), sums(FILES)),
                              tmp_path / "cache", progress=lambda done, total: seen.append(done))
    assert target == tmp_path / "cache" / "songs" and is_complete(target)
    assert (target / "MIDI" / "melody" / "a.mid").read_bytes() == b"MThd-a"
    assert not (target / "README.md").exists()  # only the recorded files are kept
    assert seen and seen[-1] == (www(tmp_path) / "data.zip").stat().st_size
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["songs"]
    # already complete: no second download (the server no longer has the file)
    (www(tmp_path) / "data.zip").unlink()
    assert download_archive(Archive("songs", (f"{server}/data.zip",), sums(FILES)),
                            tmp_path / "cache") == target


def test_first_url_down_second_works(tmp_path: Path, server: str) -> None:
    make_zip(www(tmp_path) / "data.zip", FILES)
    archive = Archive("songs", (f"{server}/missing.zip", f"{server}/data.zip"), sums(FILES))
    assert is_complete(download_archive(archive, tmp_path / "cache"))


def test_wrong_checksum_leaves_nothing(tmp_path: Path, server: str) -> None:
    make_zip(www(tmp_path) / "data.zip", {**FILES, "MIDI/melody/b.mid": b"tampered"})
    with pytest.raises(DataError, match=r"MIDI/melody/b.mid failed its SHA-256 check"):
        download_archive(Archive("songs", (f"{server}/data.zip",), sums(FILES)),
                         tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_member_escaping_the_target_is_refused(tmp_path: Path, server: str) -> None:
    with zipfile.ZipFile(www(tmp_path) / "evil.zip", "w") as zf:
        zf.writestr("repo-main/LICENSE.md", b"GPL")
        zf.writestr("repo-main/../../escaped.txt", b"gotcha")
    with pytest.raises(DataError, match="outside the target folder"):
        download_archive(Archive("songs", (f"{server}/evil.zip",), sums(FILES)),
                         tmp_path / "cache")
    assert not list(tmp_path.rglob("escaped.txt"))
    assert list((tmp_path / "cache").iterdir()) == []


def test_tar_with_a_link_is_refused(tmp_path: Path, server: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        link = tarfile.TarInfo("repo/evil")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
        info = tarfile.TarInfo("repo/LICENSE.md")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"GPL"))
    (www(tmp_path) / "data.tar.gz").write_bytes(buffer.getvalue())
    target = download_archive(Archive("lic", (f"{server}/data.tar.gz",),
                                      sums({"LICENSE.md": b"GPL"})), tmp_path / "cache")
    assert (target / "LICENSE.md").read_bytes() == b"GPL" and not (target / "evil").exists()


def test_missing_file_and_damaged_archive(tmp_path: Path, server: str) -> None:
    make_zip(www(tmp_path) / "part.zip", {"LICENSE.md": b"GPL"})
    with pytest.raises(DataError, match="lacks 2 expected file"):
        download_archive(Archive("songs", (f"{server}/part.zip",), sums(FILES)),
                         tmp_path / "cache")
    (www(tmp_path) / "junk.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(DataError, match="neither a zip nor a tar|damaged"):
        download_archive(Archive("songs", (f"{server}/junk.zip",), sums(FILES)),
                         tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_offline_error_names_data_flag(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    archive = Archive("songs", (f"http://127.0.0.1:{port}/x.zip",), sums(FILES),
                      homepage="https://example.org/songs")
    with pytest.raises(DataError, match=r"could not download the songs data.*--data PATH"):
        download_archive(archive, tmp_path / "cache", timeout=5)
    assert list((tmp_path / "cache").iterdir()) == []


def test_recorded_nottingham_sums_match_the_staged_copy() -> None:
    from seqgan_music.tasks.music import nottingham_archive

    recorded = nottingham_archive().sums
    assert len(recorded) == 1034 + 14 + 1 and "LICENSE.md" in recorded
    staged = Path(__file__).resolve().parents[2] / "shared" / "data" / "nottingham"
    if not (staged / "SHA256SUMS").is_file():
        pytest.skip("the staged Nottingham data (../shared/data) is not present")
    official = read_sums((staged / "SHA256SUMS").read_text())
    assert all(official[name] == digest for name, digest in recorded.items())


def test_single_files_by_sha256_git_blob_or_unverified(tmp_path: Path, server: str) -> None:
    from seqgan_music.io.downloads import RemoteFile, download_files

    (www(tmp_path) / "a.txt").write_bytes(b"alpha\n")
    (www(tmp_path) / "b.txt").write_bytes(b"beta\n")
    blob = hashlib.sha1(b"blob 5\0beta\n").hexdigest()  # what `git hash-object b.txt` prints
    files = (RemoteFile(f"{server}/a.txt", "data/a.txt", hashlib.sha256(b"alpha\n").hexdigest()),
             RemoteFile(f"{server}/b.txt", "data/b.txt", git_blob_sha1=blob),
             RemoteFile(f"{server}/a.txt", "extra/a.txt"))
    folder, unverified = download_files("words", files, tmp_path / "cache")
    assert (folder / "data" / "b.txt").read_bytes() == b"beta\n" and is_complete(folder)
    assert unverified == ["extra/a.txt"]
    bad = (RemoteFile(f"{server}/b.txt", "data/a.txt", hashlib.sha256(b"alpha\n").hexdigest()),)
    with pytest.raises(DataError, match="failed its checksum"):
        download_files("other", bad, tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["words"]
