"""End to end in a real headless browser (Debian's chromium + chromium-driver, via selenium):
open the studio, compose, see notes on the piano roll, hear a WAV, download a MIDI that
pretty_midi reads, train on a tiny config and watch it finish. Screenshots go to
`$STUDIO_SCREENSHOTS` (default: the test's tmp folder)."""

from __future__ import annotations

import base64
import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_studio import tiny_train_overrides

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
    "chromium-driver; .ci/run installs them)")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, object]]:
    pytest.importorskip("selenium")
    import uvicorn

    from seqgan_music.studio.app import Studio, create_app

    studio = Studio(runs=tmp_path / "runs", work=tmp_path / "work",
                    train_overrides=tiny_train_overrides())
    studio.work.mkdir()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(studio), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/?token={studio.token}", studio
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,860", "--autoplay-policy=no-user-gesture-required",
                 "--mute-audio"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: object, script: str, seconds: float = 60.0) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(script)  # type: ignore[attr-defined]
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}")


FETCH = """
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {
  let s = ""; new Uint8Array(b).forEach(c => s += String.fromCharCode(c)); done(btoa(s));
}).catch(e => done("error " + e));
"""

ORANGE_PIXELS = """
const c = document.getElementById('roll'), g = c.getContext('2d');
const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
for (let i = 0; i < d.length; i += 4)
  if (d[i] > 220 && d[i+1] > 120 && d[i+1] < 170 && d[i+2] < 90) n++;
return n;
"""


def test_compose_hear_download_and_train(server: tuple[str, object], browser: object,
                                         tmp_path: Path) -> None:
    import pretty_midi
    from selenium.webdriver.common.by import By

    url, studio = server
    shots = Path(os.environ.get("STUDIO_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    driver = browser
    driver.get(url)  # type: ignore[attr-defined]
    assert "token" not in driver.current_url  # type: ignore[attr-defined]
    wait(driver, "return document.querySelectorAll('#model option').length > 0")

    # Compose: the piano roll fills with notes and the audio element gets a WAV.
    driver.find_element(By.ID, "length").clear()  # type: ignore[attr-defined]
    driver.find_element(By.ID, "length").send_keys("128")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "seed").clear()  # type: ignore[attr-defined]
    driver.find_element(By.ID, "seed").send_keys("7")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "compose-button").click()  # type: ignore[attr-defined]
    notes = int(wait(driver, "return Number(document.getElementById('roll').dataset.notes)"))
    assert notes > 4
    assert driver.execute_script(ORANGE_PIXELS) > 500  # type: ignore[attr-defined]
    duration = wait(driver, "const a = document.getElementById('player');"
                    "return a.readyState >= 1 && a.duration > 0 && a.duration;")
    assert float(duration) > 5  # type: ignore[arg-type]
    src = driver.execute_script("return document.getElementById('player').src")  # type: ignore[attr-defined]
    wav = base64.b64decode(driver.execute_async_script(FETCH, src))  # type: ignore[attr-defined]
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    synth = driver.find_element(By.ID, "synth").text  # type: ignore[attr-defined]
    assert "FluidSynth" in synth or "sine" in synth
    href = driver.find_element(By.ID, "dl-midi").get_attribute("href")  # type: ignore[attr-defined]
    midi = pretty_midi.PrettyMIDI(io.BytesIO(base64.b64decode(
        driver.execute_async_script(FETCH, href))))  # type: ignore[attr-defined]
    assert len(midi.instruments[0].notes) == notes

    # Continue this tune: the primer (blue) is the tune before it; space bar plays and stops.
    driver.find_element(By.ID, "continue").click()  # type: ignore[attr-defined]
    wait(driver, "return document.querySelectorAll('#history li').length === 2")
    wait(driver, "return Number(document.getElementById('roll').dataset.notes) > "
         f"{notes}")
    driver.find_element(By.TAG_NAME, "body").click()  # type: ignore[attr-defined]
    playing = driver.execute_script(  # type: ignore[attr-defined]
        "return document.getElementById('player').paused")
    driver.find_element(By.TAG_NAME, "body").send_keys(" ")  # type: ignore[attr-defined]
    assert driver.execute_script(  # type: ignore[attr-defined]
        "return document.getElementById('player').paused") != playing
    driver.save_screenshot(str(shots / "studio-compose.png"))  # type: ignore[attr-defined]
    # Vary it: the same primer (tune #1), a new seed.
    driver.find_element(By.ID, "vary").click()  # type: ignore[attr-defined]
    wait(driver, "return document.querySelectorAll('#history li').length === 3")
    assert "continuing #1" in driver.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, "#history li.current").text

    # Train on the quick preset (tiny): progress shows, then it finishes.
    driver.find_element(By.ID, "tab-train").click()  # type: ignore[attr-defined]
    # It starts on what Compose plays (the default model's task and preset); train the oracle.
    wait(driver, "return document.getElementById('train-task').value === 'nottingham'")
    from seqgan_music.music.zoo import default_model

    assert driver.execute_script(  # type: ignore[attr-defined]
        "return document.getElementById('train-preset').value") == default_model().card["preset"]
    driver.execute_script(  # type: ignore[attr-defined]
        "const t = document.getElementById('train-task'); t.value = 'oracle';"
        "t.dispatchEvent(new Event('change'));")
    wait(driver, "return document.getElementById('train-preset').value === 'quick'")
    driver.find_element(By.ID, "train-start").click()  # type: ignore[attr-defined]
    wait(driver, "return /\\d+\\/\\d+/.test(document.getElementById('train-state').textContent)")
    wait(driver, "return document.getElementById('train-state').dataset.state === 'finished'",
         150)
    assert "run directory:" in driver.find_element(By.ID, "train-log").text  # type: ignore[attr-defined]
    driver.save_screenshot(str(shots / "studio-train.png"))  # type: ignore[attr-defined]

    # The run on the runs page: finished, with figures and learning curves.
    driver.find_element(By.ID, "train-run-link").click()  # type: ignore[attr-defined]
    wait(driver, "return document.querySelectorAll('#run-detail svg polyline').length > 0")
    text = driver.find_element(By.ID, "run-detail").text  # type: ignore[attr-defined]
    assert "finished" in text and "SeqGAN" in text
    driver.save_screenshot(str(shots / "studio-runs.png"))  # type: ignore[attr-defined]


def test_score_view_shows_notes_key_and_chords(server: tuple[str, object], browser: object,
                                               tmp_path: Path) -> None:
    """A tune in A dorian, 6/8, with chords: the engraved score appears beside the piano roll
    with its notes, and the ABC download says K:Ador. The screenshot (`studio-score.png` in
    `$STUDIO_SCREENSHOTS`) is the one in docs/."""
    pytest.importorskip("verovio")
    from selenium.webdriver.common.by import By

    url, _studio = server
    shots = Path(os.environ.get("STUDIO_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    driver = browser
    driver.set_window_size(1280, 1500)  # type: ignore[attr-defined]
    driver.get(url)  # type: ignore[attr-defined]
    wait(driver, "return document.querySelectorAll('#model option').length > 0")
    driver.execute_script(  # type: ignore[attr-defined]
        "document.getElementById('key').value = 'Ador';"
        "document.getElementById('meter').value = '6/8';"
        "document.getElementById('length').value = '200';"
        "document.getElementById('seed').value = '5';")
    assert driver.find_element(By.ID, "chords").is_selected()  # type: ignore[attr-defined]
    driver.find_element(By.ID, "compose-button").click()  # type: ignore[attr-defined]
    notes = int(wait(driver, "return Number(document.getElementById('score').dataset.notes)",
                     120))  # type: ignore[arg-type]
    assert notes > 4
    assert int(driver.execute_script(  # type: ignore[attr-defined]
        "return Number(document.getElementById('roll').dataset.notes)")) > 4
    chords = driver.execute_script(  # type: ignore[attr-defined]
        "return Number(document.getElementById('score').dataset.chords)")
    wait(driver, "const i = document.querySelector('#score-page img');"
         "return i && i.complete && i.naturalWidth > 0")
    assert chords > 0
    href = driver.find_element(By.ID, "dl-abc").get_attribute("href")  # type: ignore[attr-defined]
    abc = base64.b64decode(driver.execute_async_script(FETCH, href)).decode()  # type: ignore[attr-defined]
    assert "\nK:Ador\n" in abc and "M:6/8" in abc and '"' in abc
    driver.execute_script(  # type: ignore[attr-defined]
        "document.querySelector('.stage').scrollIntoView()")
    driver.save_screenshot(str(shots / "studio-score.png"))  # type: ignore[attr-defined]
