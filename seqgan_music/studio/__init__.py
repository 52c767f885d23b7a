"""`seqgan-music studio`: the toolkit in a browser window (compose, runs, training).

`serve` starts the local web app of `app.create_app` with uvicorn on 127.0.0.1 and opens it in
the user's browser with a random launch token in the URL. Modules: `adapter` (the only caller of
compose, the model zoo, runs and tasks), `jobs` (training as the CLI's own `train` in a child
process), `app` (routes and the security gate), `static/` (the page: plain JS and CSS, no build
step, nothing fetched from the internet).
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import webbrowser
from pathlib import Path
from typing import Any

from seqgan_music.errors import ConfigError

DEFAULT_PORT = 8765


def _free_port(host: str, port: int) -> int:
    """`port` when it can be bound on `host`, else one the system picks."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in (port, 0):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise ConfigError(f"--host {host} cannot be bound on this machine; use 127.0.0.1")


def serve(runs: Path = Path("runs"), host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          open_browser: bool = True) -> None:
    """Run the studio until Ctrl-C; prints the URL (with its token) and opens it."""
    import uvicorn

    from seqgan_music.studio.app import create_app
    from seqgan_music.studio.state import LOOPBACK, Studio

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port} is invalid; expected 0..65535 (0: any free port)")
    if runs.exists() and not runs.is_dir():
        raise ConfigError(f"--runs {runs} is a file; pass the folder of run directories")
    chosen = _free_port(host, port)
    if port and chosen != port:
        print(f"port {port} is in use; using {chosen}", flush=True)
    wildcard = host in ("0.0.0.0", "::")
    hosts = () if wildcard else tuple(dict.fromkeys((*LOOPBACK, host.lower())))
    if host not in LOOPBACK:
        print(f"warning: --host {host} makes the studio reachable from other machines; anyone "
              "who learns the URL's token can compose, read your runs and start training"
              + ("; on every address, the Host header check is off" if wildcard else ""),
              file=sys.stderr, flush=True)
    previous = _stop_on_signals()  # from before the temporary folder exists
    studio = Studio(runs=runs, hosts=hosts)
    try:
        app = create_app(studio)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        url = f"http://{shown}:{chosen}/?token={studio.token}"
        print(f"seqgan-music studio: {url}", flush=True)
        print(f"runs folder: {runs.resolve()}  (Ctrl-C stops the studio; a training it "
              "started keeps running)", flush=True)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=chosen,
                                               log_level="warning", access_log=False,
                                               lifespan="off"))
        from seqgan_music.studio import adapter

        threading.Thread(target=adapter.warm_up, name="warm-up", daemon=True).start()
        if open_browser:
            threading.Timer(0.5, lambda: webbrowser.open(url)).start()
        server.run()
    except (KeyboardInterrupt, Stopped):  # uvicorn stops cleanly, then raises the signal again
        pass
    finally:
        studio.close()  # the temporary folder (uploads, tunes) goes on every way out
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("studio stopped", flush=True)


class Stopped(BaseException):
    """SIGTERM (a service manager, `kill`) or SIGHUP (the terminal closed).

    A BaseException, like KeyboardInterrupt, so that no library's `except Exception` wraps it
    (uvicorn configuring its logging when the signal lands would turn it into a ValueError)."""


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP end the studio like Ctrl-C: through its clean-up, not around it
    (uvicorn shuts down gracefully, then raises the signal again: it lands here).

    SIGINT gets a handler of ours too (raising KeyboardInterrupt, as Python's does), unless
    the parent process made it ignored: with Python's own handler in place, asyncio's runner
    installs one that only cancels its main task, and a Ctrl-C landing before uvicorn takes
    the signals over cancelled uvicorn's start-up, which carried on serving."""
    def stop(signum: int, frame: Any) -> None:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Stopped(signal.Signals(signum).name)

    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not ignored by the parent
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, stop)
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, stop)
    return previous
