"""The studio's API through Starlette's test client: compose, downloads, runs, training, and
every refusal (no token, foreign Host, paths out of the runs folder, oversize and junk
uploads). Training runs the real CLI `train oracle` in a child process on a tiny config."""

from __future__ import annotations

import io
import json
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # newer starlette prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from seqgan_music.studio import jobs as studio_jobs  # noqa: E402
from seqgan_music.studio.app import PRIMER_BYTES, Studio, create_app  # noqa: E402
from tests.conftest import TINY_ORACLE_FLAGS, help_in_fresh_process  # noqa: E402

TINY_SETS = [TINY_ORACLE_FLAGS[i + 1] for i, flag in enumerate(TINY_ORACLE_FLAGS)
             if flag == "--set"] + ["threads=1", "device=cpu", "train.checkpoint_every=1"]


def tiny_train_overrides(epochs: int | None = None) -> list[str]:
    sets = list(TINY_SETS)
    if epochs is not None:
        sets = [s for s in sets if not s.startswith("train.pretrain_epochs=")]
        sets.append(f"train.pretrain_epochs={epochs}")
    return sets


@pytest.fixture
def studio(tmp_path: Path) -> Studio:
    made = Studio(runs=tmp_path / "runs", hosts=("testserver",), work=tmp_path / "work",
                  train_overrides=tiny_train_overrides())
    made.work.mkdir()
    return made


@pytest.fixture
def client(studio: Studio) -> TestClient:
    client = TestClient(create_app(studio))
    client.headers["X-Studio-Token"] = studio.token
    return client


def compose(client: TestClient, **body: object) -> dict:
    response = client.post("/api/compose", json={"length": 24, "seed": 1, **body})
    assert response.status_code == 200, response.text
    return response.json()


def midi_bytes(pitches: list[int]) -> bytes:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=150)
    inst = pretty_midi.Instrument(0)
    for i, pitch in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(90, pitch, i * 0.4, (i + 1) * 0.4))
    midi.instruments.append(inst)
    out = io.BytesIO()
    midi.write(out)
    return out.getvalue()


# Compose and downloads -----------------------------------------------------------------------

def test_page_and_models(client: TestClient, studio: Studio) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "seqgan-music" in page.text
    assert studio.token in page.text  # the page's calls carry it
    assert "http://" not in page.text.replace("http://www.w3.org", "")  # nothing from outside
    assert client.get("/static/app.js").status_code == 200
    models = client.get("/api/models").json()
    assert sorted(m["id"] for m in models["shipped"]) == ["shipped:nottingham-form",
                                                          "shipped:nottingham-onset",
                                                          "shipped:nottingham-paper"]


def test_compose_notes_audio_and_downloads(client: TestClient) -> None:
    import pretty_midi

    answer = compose(client, num=2, tempo=120, program=40)
    first, second = answer["tunes"]
    assert first["notes"] and first["notes"] != second["notes"]
    assert all(0 <= n["start"] < n["end"] <= first["beats"] + 1e-6 for n in first["notes"])
    assert first["primer_beats"] == 0 and first["beats_per_bar"] in (2, 3, 4)
    assert first["synth"]["text"]
    wav = client.get(first["wav"])
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF" and wav.content[8:12] == b"WAVE"
    midi = client.get(first["midi"])
    score = pretty_midi.PrettyMIDI(io.BytesIO(midi.content))
    assert score.instruments[0].program == 40
    assert len(score.instruments[0].notes) == len(first["notes"])
    xml = client.get(first["musicxml"])
    assert xml.status_code == 200 and b"score-partwise" in xml.content[:400]
    # the same seed composes the same tune again
    assert compose(client, num=2, tempo=120, program=40)["tunes"][0]["notes"] == first["notes"]


def test_whole_tune_by_default_with_the_asked_key_and_meter(client: TestClient) -> None:
    import pretty_midi

    response = client.post("/api/compose", json={"seed": 2, "key": "D", "meter": "6/8",
                                                 "model": "shipped:nottingham-onset"})
    assert response.status_code == 200, response.text
    tune = response.json()["tunes"][0]
    assert tune["options"]["length"] is None and tune["beats_per_bar"] == 3
    assert tune["beats"] > 12  # a whole tune, not a 32-step fragment
    score = pretty_midi.PrettyMIDI(io.BytesIO(client.get(tune["midi"]).content))
    assert [(t.numerator, t.denominator) for t in score.time_signature_changes] == [(6, 8)]
    assert pretty_midi.key_number_to_key_name(score.key_signature_changes[0].key_number) in (
        "D Major", "B minor")


def test_continue_a_tune_and_uploaded_primer(client: TestClient) -> None:
    tune = compose(client)["tunes"][0]
    longer = compose(client, primer=f"tune:{tune['id']}", seed=5)["tunes"][0]
    assert longer["primer_beats"] == pytest.approx(tune["beats"])
    primer_notes = [n for n in longer["notes"] if n["start"] < longer["primer_beats"]]
    assert [n["pitch"] for n in primer_notes] == [n["pitch"] for n in tune["notes"]]
    upload = client.post("/api/upload?kind=primer&name=opening.mid",
                         content=midi_bytes([67, 69, 71, 72]))
    assert upload.status_code == 200, upload.text
    continued = compose(client, primer=f"upload:{upload.json()['id']}")["tunes"][0]
    assert [n["pitch"] for n in continued["notes"][:4]] == [67, 69, 71, 72]


def test_compose_refuses_bad_values_with_a_message(client: TestClient) -> None:
    for body, words in (({"temperature": 0}, "temperature"), ({"length": 100000}, "length"),
                        ({"tempo": 5}, "tempo"), ({"seed": "x"}, "seed"),
                        ({"model": "run:../../etc"}, "refused"),
                        ({"model": "shipped:nope"}, "shipped models"),
                        ({"meter": "7/9"}, "meter"), ({"key": "H"}, "key"),
                        ({"primer": "tune:t999"}, "unknown")):
        response = client.post("/api/compose", json=body)
        assert 400 <= response.status_code < 500, body
        assert words in response.json()["error"], response.json()
        assert "Traceback" not in response.text


# Refusals -----------------------------------------------------------------------------------

def test_token_is_required_everywhere(studio: Studio) -> None:
    bare = TestClient(create_app(studio))
    for path in ("/", "/api/models", "/api/runs", "/static/app.js", "/api/train/status"):
        response = bare.get(path)
        assert response.status_code == 401, path
        assert "token" in response.json()["error"]
    assert bare.get("/api/models", headers={"X-Studio-Token": "wrong"}).status_code == 401
    assert bare.post("/api/compose", json={}).status_code == 401
    first = bare.get(f"/?token={studio.token}", follow_redirects=False)
    assert first.status_code == 303 and "token" not in first.headers["location"]
    set_cookie = first.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    assert bare.get("/api/models").status_code == 200  # the cookie from now on


def test_foreign_host_is_refused(client: TestClient) -> None:
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example"):
        response = client.get("/api/models", headers={"Host": host})
        assert response.status_code == 403 and "Host" in response.json()["error"]


def test_paths_out_of_the_runs_folder_are_refused(client: TestClient, studio: Studio,
                                                  tmp_path: Path) -> None:
    run = studio.runs / "oracle" / "20260101-000000"
    (run / "samples").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"format": "seqgan-music-run", "task": "oracle",
                                              "created": "2026-01-01T00:00:00",
                                              "finished": False}))
    (run / "samples" / "seqgan.txt").write_text("1 2 3\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    (run / "samples" / "link.txt").symlink_to(secret)
    ok = client.get("/api/run/file", params={"id": "oracle/20260101-000000",
                                             "path": "samples/seqgan.txt"})
    assert ok.status_code == 200 and ok.text == "1 2 3\n"
    for params in ({"id": "../secret.txt", "path": "x"}, {"id": "/etc", "path": "passwd"},
                   {"id": "oracle/20260101-000000", "path": "../../../secret.txt"},
                   {"id": "oracle/20260101-000000", "path": "/etc/passwd"},
                   {"id": "oracle/20260101-000000", "path": "samples/link.txt"},
                   {"id": "oracle/20260101-000000", "path": "checkpoints/../run.json"},
                   {"id": "oracle/20260101-000000", "path": "samples\\..\\run.json"}):
        response = client.get("/api/run/file", params=params)
        assert response.status_code in (400, 403, 404), params
        assert "TOPSECRET" not in response.text and "root:" not in response.text
    assert client.get("/api/run", params={"id": "oracle/../../x"}).status_code == 403
    assert client.get("/api/run/audio", params={"id": "oracle/20260101-000000",
                                                "name": "../run.json"}).status_code == 403


def test_uploads_are_size_limited_and_type_checked(client: TestClient) -> None:
    big = client.post("/api/upload?kind=primer&name=big.mid", content=b"MThd" + bytes(
        PRIMER_BYTES + 10))
    assert big.status_code == 413 and "too large" in big.json()["error"]
    for name, data, words in (("tune.exe", b"MZ", "accepted"),
                              ("fake.mid", b"hello, not midi", "not a MIDI"),
                              ("fake.abc", b"\xff\xfe\x00", "not an ABC"),
                              ("fake.abc", b"just words", "K:")):
        response = client.post(f"/api/upload?kind=primer&name={name}", content=data)
        assert response.status_code == 415 and words in response.json()["error"], name
    model = client.post("/api/upload?kind=model&name=m.safetensors", content=b"junk" * 10)
    assert model.status_code == 415
    assert client.post("/api/upload?kind=other&name=a.mid", content=b"MThd").status_code == 400


def test_junk_primer_is_a_clear_message(client: TestClient) -> None:
    # A MIDI header with nothing playable after it: passes the type check, fails in compose.
    junk = client.post("/api/upload?kind=primer&name=junk.mid", content=b"MThd" + bytes(40))
    assert junk.status_code == 200
    response = client.post("/api/compose", json={"primer": f"upload:{junk.json()['id']}"})
    assert response.status_code == 400
    assert "junk.mid" in response.json()["error"] and "Traceback" not in response.text
    empty = client.post("/api/upload?kind=primer&name=rests.mid", content=midi_bytes([]))
    response = client.post("/api/compose", json={"primer": f"upload:{empty.json()['id']}"})
    assert response.status_code == 400 and "melody" in response.json()["error"]
    assert client.get("/api/models").status_code == 200  # still serving


def test_uploaded_model_that_is_not_a_model(client: TestClient) -> None:
    header = json.dumps({"__metadata__": {"format": "other"}}).encode()
    fake = len(header).to_bytes(8, "little") + header
    up = client.post("/api/upload?kind=model&name=fake.safetensors", content=fake)
    assert up.status_code == 200
    response = client.post("/api/compose", json={"model": f"upload:{up.json()['id']}"})
    assert response.status_code == 400 and "fake.safetensors" in response.json()["error"]


# Runs and training ----------------------------------------------------------------------------

def wait_for(client: TestClient, done: object, seconds: float = 120.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get("/api/train/status").json()
        if done(status):  # type: ignore[operator]
            return status
        time.sleep(0.3)
    raise AssertionError(f"training did not get there in {seconds} s: {status}")


def test_training_runs_the_cli_to_the_end(client: TestClient, studio: Studio) -> None:
    started = client.post("/api/train", json={"task": "oracle", "preset": "quick"})
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "running"
    again = client.post("/api/train", json={"task": "oracle", "preset": "quick"})
    assert again.status_code == 400 and "one" in again.json()["error"]  # one at a time
    status = wait_for(client, lambda s: s["state"] != "running")
    assert status["state"] == "finished", status["log"]
    assert status["command"].startswith("seqgan-music train oracle --out")
    assert status["phase"] == "adversarial training" and status["done"] == status["total"] == 2
    # the events stream ends with the finished state
    events = client.get("/api/train/events").text
    assert '"state": "finished"' in events and "event: done" in events
    runs = client.get("/api/runs").json()["runs"]
    assert [(r["task"], r["state"], r["preset"], r["method"]) for r in runs] == [
        ("oracle", "finished", "quick", "seqgan")]
    detail = client.get("/api/run", params={"id": runs[0]["id"]}).json()
    assert {"MLE", "SeqGAN"} <= set(detail["figures"]["figures"])
    assert any("g_loss" in r for r in detail["metrics"])
    assert detail["samples"][0]["kind"] == "text" and detail["samples"][0]["lines"][0]
    assert "train.log" in detail["files"] and detail["log"]
    assert not detail["resumable"]


@pytest.mark.slow
def test_training_cancel_and_resume(tmp_path: Path) -> None:
    studio = Studio(runs=tmp_path / "runs", hosts=("testserver",), work=tmp_path,
                    train_overrides=tiny_train_overrides(epochs=100000))
    client = TestClient(create_app(studio))
    client.headers["X-Studio-Token"] = studio.token
    assert client.post("/api/train/cancel").status_code == 409
    assert client.post("/api/train", json={"task": "oracle"}).status_code == 200
    status = wait_for(client, lambda s: s["run"] and s["done"] >= 2
                      and (studio.runs / s["run"] / "checkpoints" / "latest.pt").is_file())
    assert status["phase"] == "MLE pre-training" and status["total"] == 100000
    assert client.get("/api/runs").json()["runs"][0]["state"] == "running"
    assert client.post("/api/train/cancel").status_code == 200
    status = wait_for(client, lambda s: s["state"] != "running", 60)
    assert status["state"] == "cancelled"
    run = client.get("/api/runs").json()["runs"][0]
    assert run["state"] == "interrupted"
    assert client.get("/api/run", params={"id": run["id"]}).json()["resumable"]
    resumed = client.post("/api/train", json={"resume": run["id"]})
    assert resumed.status_code == 200, resumed.text
    assert "--resume" in resumed.json()["command"] and resumed.json()["run"] == run["id"]
    logs = studio.runs / ".studio"

    def resumed_from_the_checkpoint(_: dict) -> bool:
        # the whole log: its tail on the page scrolls by quickly with a model this small
        return any("done at the start" in log.read_text(errors="replace")
                   for log in logs.glob("train-*.log"))

    try:
        wait_for(client, resumed_from_the_checkpoint)
    finally:  # never leave the training running after the test
        client.post("/api/train/cancel")
        wait_for(client, lambda s: s["state"] != "running", 60)


def test_train_refuses_unknown_task_preset_and_data(client: TestClient) -> None:
    for body, words in (({"task": "nope"}, "nope"),
                        ({"task": "oracle", "preset": "huge"}, "preset"),
                        ({"task": "oracle", "method": "magic"}, "method"),
                        ({"task": "midi", "data": "/no/such/folder"}, "does not exist"),
                        ({"resume": "../x/y"}, "refused")):
        response = client.post("/api/train", json=body)
        assert 400 <= response.status_code < 500 and words in response.json()["error"], body


def test_progress_lines_are_parsed() -> None:
    lines = ["note: CPU: 1 thread", "MLE pre-training: 4 steps",
             "MLE pre-training 2/4  G loss 7.866  NLL valid 8.043  elapsed 0:07  ETA 0:07",
             "D pre-training: 2 steps"]
    assert studio_jobs.parse_progress(lines) == {"phase": "D pre-training", "done": 0,
                                                 "total": 2, "figures": ""}
    assert studio_jobs.parse_progress(lines[:3])["figures"].startswith("G loss 7.866")
    # the end of a run: its data line holds "n/m" but is no progress
    done = [*lines[:3], "data: Nottingham (1034 tunes, 3886/501/480 windows)",
            "run directory: runs/nottingham/20260101-000000"]
    assert studio_jobs.parse_progress(done)["done"] == 2


def test_train_page_starts_on_what_compose_plays(client: TestClient) -> None:
    from seqgan_music.music.zoo import default_model

    card = default_model().card
    answer = client.get("/api/tasks").json()
    assert answer["defaults"] == {"task": card["task"], "preset": card["preset"]}
    task = next(t for t in answer["tasks"] if t["name"] == card["task"])
    assert card["preset"] in task["presets"]
    # and Compose starts on the model the CLI's compose plays
    shipped = client.get("/api/models").json()["shipped"]
    assert [m["name"] for m in shipped if m["default"]] == [default_model().name]


def test_cli_runs_show_their_preset_and_the_page_has_an_icon(client: TestClient,
                                                             studio: Studio) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "seqgan_music", "train", "oracle", "--out",
                           str(studio.runs), *TINY_ORACLE_FLAGS], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (run,) = client.get("/api/runs").json()["runs"]
    assert run["preset"] == "quick"
    page = client.get("/").text
    assert 'rel="icon"' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and "<svg" in icon.text


# The command ----------------------------------------------------------------------------------

def test_help_lists_studio_without_web_imports() -> None:
    out = help_in_fresh_process(["--help"], ("torch", "music21", "uvicorn", "starlette"))
    assert "studio" in out


def test_studio_command_starts_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    import httpx

    process = subprocess.Popen(
        [sys.executable, "-m", "seqgan_music", "studio", "--no-browser", "--port", "0",
         "--runs", str(tmp_path / "runs")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("seqgan-music studio: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        base = url.split("/?")[0]
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(url, follow_redirects=True)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert page.status_code == 200 and "seqgan-music" in page.text
        assert httpx.get(f"{base}/api/models").status_code == 401  # no token
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_studio_command_refuses_bad_options(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "file").write_text("x")
    for args, words in ((["--port", "70000"], "--port 70000"),
                        (["--runs", str(tmp_path / "file")], "is a file")):
        result = subprocess.run([sys.executable, "-m", "seqgan_music", "studio", "--no-browser",
                                 *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and words in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_an_unexpected_error_is_one_line_and_the_server_stays_up(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from seqgan_music.studio import adapter

    def broken() -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(adapter, "task_choices", broken)
    response = client.get("/api/tasks")
    assert response.status_code == 500
    assert response.json() == {"error": "the studio could not do that (RuntimeError: disk on "
                                        "fire)"}
    assert client.get("/api/models").status_code == 200


def test_upload_names_cannot_leave_the_uploads_folder(client: TestClient,
                                                      studio: Studio) -> None:
    for name in ("../../evil.mid", "..\\..\\evil.mid", "/etc/evil.mid", "a b$.mid"):
        response = client.post("/api/upload", params={"kind": "primer", "name": name},
                               content=midi_bytes([60, 62]))
        assert response.status_code == 200, response.text
        path = studio.uploads[response.json()["id"]][1]
        assert path.parent.parent == studio.work / "uploads"
        assert path.name.endswith(".mid") and "/" not in response.json()["name"]


def fake_music_run(studio: Studio) -> str:
    """A finished nottingham run made of the shipped model and one sample file."""
    from seqgan_music.music import zoo

    run = studio.runs / "nottingham" / "20260101-000000"
    (run / "samples").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"format": "seqgan-music-run",
                                              "task": "nottingham",
                                              "created": "2026-01-01T00:00:00",
                                              "finished": True}))
    (run / "model.safetensors").write_bytes(zoo.default_model().path.read_bytes())
    (run / "samples" / "seqgan.mid").write_bytes(midi_bytes([60, 62, 64, 65, 67] * 30))
    return "nottingham/20260101-000000"


def test_music_runs_compose_and_play_their_samples(client: TestClient, studio: Studio) -> None:
    run_id = fake_music_run(studio)
    models = client.get("/api/models").json()
    assert [r["id"] for r in models["runs"]] == [run_id]
    tune = compose(client, model=f"run:{run_id}")["tunes"][0]
    assert tune["notes"] and tune["model_label"] == f"run {run_id}"
    detail = client.get("/api/run", params={"id": run_id}).json()
    assert detail["state"] == "finished" and detail["samples"][0]["kind"] == "midi"
    audio = client.get("/api/run/audio", params={"id": run_id, "name": "seqgan.mid"})
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    import wave

    with wave.open(io.BytesIO(audio.content)) as sound:  # the opening 40 s, not all 60 s
        assert 39 <= sound.getnframes() / sound.getframerate() <= 41


def test_abc_primer(client: TestClient) -> None:
    abc = b"X:1\nT:Scale\nM:4/4\nL:1/4\nQ:1/4=150\nK:G\nG A B c | d e f g |]\n"
    upload = client.post("/api/upload?kind=primer&name=scale.abc", content=abc)
    assert upload.status_code == 200, upload.text
    tune = compose(client, primer=f"upload:{upload.json()['id']}")["tunes"][0]
    assert tune["primer_beats"] > 0
    primer = [n["pitch"] for n in tune["notes"] if n["start"] < tune["primer_beats"]]
    assert primer[:4] == [67, 69, 71, 72]


def test_studio_tunes_come_with_abc_score_chords_and_form(client: TestClient) -> None:
    tune = compose(client, length=None, seed=3, key="Ador", form="AABB", bars=16,
                   model="shipped:nottingham-form")["tunes"][0]
    assert tune["options"]["form"] == "AABB" and tune["options"]["chords"] is True
    abc = client.get(tune["abc"]).text
    assert "\nK:Ador\n" in abc and ":|" in abc and '"' in abc.split("K:Ador", 1)[1]
    if tune["svg"] is not None:  # Verovio installed
        assert client.get(tune["svg"]).text.lstrip().startswith("<svg")
    bare = compose(client, seed=3, chords=False)["tunes"][0]
    assert '"' not in client.get(bare["abc"]).text.split("K:", 1)[1]
    response = client.post("/api/compose", json={"chords": "yes"})
    assert response.status_code == 400 and "chords" in response.json()["error"]
