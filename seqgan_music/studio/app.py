"""The studio's web application (`create_app`): its routes, uploads and SSE, behind the gate.

The parts: `state` (one launch's `Studio`), `gate` (the checks before any route), `files`
(which files a request may name), `validation` (JSON bodies), `adapter` (the library calls),
`jobs` (training in a child process).

Everything the page does is a JSON call into `adapter` (compose, runs, tasks) or `jobs`
(training in a child process). The gate (`Gate`) turns away, before any route runs, a request
with a foreign Host header (DNS rebinding), one a browser marks as coming from another origin
(`Sec-Fetch-Site`, `Origin`: pages on other ports of localhost included), one without the
launch token (query `?token=` once, then a SameSite=Strict cookie, or the `X-Studio-Token`
header), and a state-changing request (POST) that does not carry the token or the per-launch
CSRF token in a header (`X-Studio-CSRF`, which the page sends): a cookie alone never starts
work. JSON routes take `application/json` only, parsed by `validation` (one validator, the
CLI's rules). Files are named by ids (a shipped model's name, a run's `task/stamp` inside the
runs folder, an upload's or a tune's number), never by a path the page chooses, and read with
`safe_io`'s guarded open (regular files inside the runs folder; no links, no FIFOs). Composing
and rendering run in a bounded pool of their own (`Studio.work_slot`): a queue past
`MAX_QUEUED` is answered 503, and the listing routes stay responsive. Every library error
becomes `{"error": message}` with status 400: no traceback reaches the page, the server stays
up. See docs/security.md.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from seqgan_music.errors import ConfigError, DataError, SeqganMusicError
from seqgan_music.studio import adapter, validation
from seqgan_music.studio.files import (
    MAX_ID,
    PRIMER_BYTES,
    UPLOAD_KINDS,
    check_upload,
    clean_name,
    guarded,
    media_type,
    model_path,
    primer_path,
    run_path,
    safe_child,
    static_dir,
)
from seqgan_music.studio.gate import Gate, refuse
from seqgan_music.studio.state import ComposedTune, Refused, Studio

MAX_LENGTH = 1024  # steps per tune from the page (the CLI allows more; the page stays quick)
MAX_TUNES = 8
MAX_UPLOADS = 32  # uploads kept per launch
UPLOAD_TOTAL = 256 << 20  # bytes of all uploads kept per launch
RUN_FILE_BYTES = 256 << 20  # a run file served at most (a text model of ~60 M parameters)
JSON_TYPES = ("application/json",)
CSP = ("default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
       "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'none'")


async def _json_body(request: Request) -> dict[str, Any]:
    """The body of a JSON route: `application/json` only (a form or text/plain body is what a
    page of another site can send without asking), read within `validation`'s bounds."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > validation.MAX_BODY:
        raise Refused(413, f"the request body is {int(declared):,} bytes; at most "
                      f"{validation.MAX_BODY:,}")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > validation.MAX_BODY:
            raise Refused(413, f"the request body is larger than {validation.MAX_BODY:,} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if raw and kind not in JSON_TYPES:
        raise Refused(415, f"the request body is {kind or 'untyped'}; this route takes "
                      "application/json")
    return validation.parse_body(bytes(raw))


def create_app(studio: Studio) -> Starlette:
    """The ASGI app of one studio launch."""
    page = (static_dir() / "index.html").read_text(encoding="utf-8")

    async def index(request: Request) -> Response:
        html = page.replace("__TOKEN__", studio.token).replace("__CSRF__", studio.csrf)
        return HTMLResponse(html, headers={"Cache-Control": "no-store",
                                           "Content-Security-Policy": CSP})

    async def models(request: Request) -> Response:
        def listing() -> dict[str, Any]:
            music = adapter.music_tasks()
            runs = [adapter.run_summary(studio.runs, r, studio.jobs.presets)
                    for r in adapter.find_runs(studio.runs)]
            runs = [r for r in runs if r["task"] in music and r["model"]
                    and r["state"] != "running"]
            uploads = [{"id": f"upload:{key}", "name": path.name}
                       for key, (kind, path) in studio.uploads.items() if kind == "model"]
            return {"shipped": adapter.shipped_models(), "runs": runs, "uploads": uploads}

        return JSONResponse(await asyncio.to_thread(listing))

    async def upload(request: Request) -> Response:
        kind = request.query_params.get("kind", "")
        name = clean_name(request.query_params.get("name", ""))
        if kind not in UPLOAD_KINDS:
            raise Refused(400, f"upload kind {kind!r} is invalid; accepted: primer, model")
        _, limit = UPLOAD_KINDS[kind]
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise Refused(413, f"{name} is too large ({int(declared):,} bytes); a {kind} may be "
                          f"at most {limit:,} bytes")
        data = bytearray()
        async for chunk in request.stream():
            data.extend(chunk)
            if len(data) > limit:
                raise Refused(413, f"{name} is too large; a {kind} may be at most "
                              f"{limit:,} bytes")
        if not data:
            raise Refused(400, f"{name or 'the upload'} is empty")
        check_upload(kind, name, bytes(data))
        if len(studio.uploads) >= MAX_UPLOADS or \
                studio.uploaded_bytes + len(data) > UPLOAD_TOTAL:
            raise Refused(413, f"this studio keeps at most {MAX_UPLOADS} uploads and "
                          f"{UPLOAD_TOTAL:,} bytes of them per launch; restart the studio to "
                          "upload more")
        studio.uploaded_bytes += len(data)
        key = studio.next_id("u")
        folder = studio.work / "uploads" / key
        folder.mkdir(parents=True)
        path = folder / name
        path.write_bytes(bytes(data))
        studio.uploads[key] = (kind, path)
        return JSONResponse({"id": key, "name": name, "kind": kind})

    async def compose(request: Request) -> Response:
        body = await _json_body(request)
        from seqgan_music.limits import MAX_SEED

        check = validation
        options = {
            "model": check.text(body, "model", None, MAX_ID) or _default_model(),
            # length None: the model's own (a whole tune for the onset models, 32 for paper)
            "num": check.integer(body, "num", 1, 1, MAX_TUNES),
            "length": check.integer(body, "length", None, 1, MAX_LENGTH),
            "temperature": check.number(body, "temperature", 1.0),
            "seed": check.integer(body, "seed", 0, 0, MAX_SEED),
            "tempo": check.number(body, "tempo", 150.0),
            "program": check.integer(body, "program", 0, 0, 127),
            "primer": check.text(body, "primer", None, MAX_ID),
            "key": check.text(body, "key", None, 40),  # e.g. "D", "Em"; None: the model's
            "meter": check.text(body, "meter", None, 40),  # e.g. "6/8"
            "chords": check.flag(body, "chords", True),  # chord symbols, accompaniment
            "accompaniment": check.integer(body, "accompaniment", 25, 0, 127),
            "bars": check.integer(body, "bars", None, 1, 256),  # form models: bars as played
            "form": check.text(body, "form", None, 16),  # form models: e.g. "AABB"
        }
        model = model_path(studio, options["model"])
        primer = primer_path(studio, options["primer"])
        folder = studio.work / "tunes" / studio.next_id("c")

        def work() -> list[adapter.Tune]:
            with studio.compose_lock:
                return adapter.compose_tunes(
                    model=model, folder=folder, num=options["num"], length=options["length"],
                    temperature=options["temperature"], seed=options["seed"],
                    tempo=options["tempo"], program=options["program"], primer=primer,
                    key=options["key"], meter=options["meter"], chords=options["chords"],
                    accompaniment_program=options["accompaniment"], bars=options["bars"],
                    form=options["form"])

        tunes = await studio.work_slot(work)
        answer = []
        for index, tune in enumerate(tunes, 1):
            key = studio.next_id("t")
            studio.tunes[key] = ComposedTune(key, tune, options, index, len(tunes))
            answer.append(tune_json(key, tune, options))
        return JSONResponse({"tunes": answer})

    async def tune_file(request: Request) -> Response:
        key, kind = request.path_params["tune"], request.path_params["kind"]
        found = studio.tunes.get(key)
        if found is None:
            raise Refused(404, f"tune {key!r} is unknown in this studio session")
        name = f"seqgan-{key}-seed{found.options['seed']}"
        if kind == "mid":
            return FileResponse(found.tune.midi, media_type="audio/midi",
                                filename=f"{name}.mid")
        if kind == "wav":
            return FileResponse(found.tune.wav, media_type="audio/wav", filename=f"{name}.wav",
                                content_disposition_type="inline")
        if kind == "musicxml":
            if found.musicxml is None:
                found.musicxml = await studio.work_slot(lambda: _musicxml(studio, found))
            return FileResponse(found.musicxml,
                                media_type="application/vnd.recordare.musicxml+xml",
                                filename=f"{name}.musicxml")
        if kind == "abc" and found.tune.abc is not None:
            return FileResponse(found.tune.abc, media_type="text/vnd.abc",
                                filename=f"{name}.abc")
        if kind == "svg" and found.tune.svg is not None:
            return FileResponse(found.tune.svg, media_type="image/svg+xml",
                                filename=f"{name}.svg", content_disposition_type="inline")
        raise Refused(404, f"download {kind!r} is unknown; accepted: mid, wav, musicxml, abc, "
                      "svg (when Verovio is installed)")

    async def runs(request: Request) -> Response:
        def listing() -> list[dict[str, Any]]:
            return [adapter.run_summary(studio.runs, r, studio.jobs.presets)
                    for r in adapter.find_runs(studio.runs)]

        return JSONResponse({"runs": await asyncio.to_thread(listing),
                             "root": str(studio.runs)})

    async def run(request: Request) -> Response:
        path = await asyncio.to_thread(run_path, studio, request.query_params.get("id", ""))
        detail = await asyncio.to_thread(adapter.run_detail, studio.runs, path,
                                         studio.jobs.presets)
        detail["resumable"] = adapter.resumable(path)
        return JSONResponse(detail)

    async def run_file(request: Request) -> Response:
        path = run_path(studio, request.query_params.get("id", ""))
        name = request.query_params.get("path", "")
        allowed = name in adapter.RUN_FILES or PurePosixPath(name).parts[:1] == ("samples",)
        target = safe_child(path, name, "file")
        if not allowed:
            raise Refused(403, f"file {name!r} is refused: the studio serves a run's samples, "
                          f"and {', '.join(adapter.RUN_FILES)}")
        data = await asyncio.to_thread(guarded, studio, target, name, RUN_FILE_BYTES)
        return Response(data, media_type=media_type(target.name), headers={
            "Content-Disposition": f'attachment; filename="{clean_name(target.name)}"'})

    async def run_audio(request: Request) -> Response:
        path = run_path(studio, request.query_params.get("id", ""))
        name = request.query_params.get("name", "")
        target = safe_child(path / "samples", name, "sample")
        if target.suffix != ".mid":
            raise Refused(400, f"sample {name!r} is not a MIDI sample")
        data = await asyncio.to_thread(guarded, studio, target, name, PRIMER_BYTES * 16)
        import hashlib

        out = studio.work / "previews" / f"{hashlib.sha256(data).hexdigest()[:32]}.wav"
        if not out.is_file():
            out.parent.mkdir(parents=True, exist_ok=True)
            await studio.work_slot(lambda: adapter.preview_wav(data, out))
        return FileResponse(out, media_type="audio/wav", content_disposition_type="inline")

    async def tasks(request: Request) -> Response:
        choices = await asyncio.to_thread(adapter.task_choices)
        return JSONResponse({"tasks": choices, "methods": adapter.methods(),
                             "defaults": adapter.train_defaults()})

    async def train_start(request: Request) -> Response:
        body = await _json_body(request)
        from seqgan_music.limits import MAX_SEED

        data = validation.text(body, "data", "") or ""
        data_path = Path(data).expanduser() if data else None
        try:
            exists = data_path is None or data_path.exists()
        except (OSError, ValueError):  # a name too long, a NUL
            exists = False
        if not exists:
            raise DataError(f"data {data[:200]} does not exist; give a folder or file on this "
                            "machine, or leave it empty for the task's own data")
        resume = validation.text(body, "resume", None, MAX_ID)
        resume_dir = run_path(studio, resume) if resume else None
        task = validation.text(body, "task", "", 100) or ""
        if resume_dir is not None:
            task = adapter.run_task(resume_dir)
        seed = validation.integer(body, "seed", None, 0, MAX_SEED)
        preset = validation.text(body, "preset", "quick", 100) or "quick"
        method = validation.text(body, "method", "seqgan", 100) or "seqgan"
        await asyncio.to_thread(studio.jobs.start, task=task, preset=preset, method=method,
                                data=data_path, seed=seed, resume=resume_dir)
        return JSONResponse(studio.jobs.status())

    async def train_status(request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(studio.jobs.status))

    async def train_cancel(request: Request) -> Response:
        await _json_body(request)  # JSON or nothing: never a form another site posts
        if not studio.jobs.cancel():
            raise Refused(409, "no training is running in this studio")
        return JSONResponse(studio.jobs.status())

    async def train_events(request: Request) -> Response:
        async def stream() -> Any:
            last = None
            while True:
                status = await asyncio.to_thread(studio.jobs.status)
                text = json.dumps(status)
                if text != last:
                    last = text
                    yield f"data: {text}\n\n"
                if status["state"] != "running":
                    yield "event: done\ndata: {}\n\n"
                    return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(0.5)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    async def on_refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, Refused)
        return refuse(error.status, str(error))

    async def on_library_error(request: Request, error: Exception) -> Response:
        return refuse(400, " ".join(str(error).split()))

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return refuse(error.status_code, str(error.detail))

    async def on_unexpected(request: Request, error: Exception) -> Response:
        # A bug or a file-system surprise: one line in the page and on the console, server up.
        print(f"studio: {type(error).__name__}: {error}", file=sys.stderr)
        return refuse(500, f"the studio could not do that ({type(error).__name__}: {error})")

    routes = [
        Route("/", index),
        Route("/api/models", models),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/api/compose", compose, methods=["POST"]),
        Route("/api/tune/{tune}.{kind}", tune_file),
        Route("/api/runs", runs),
        Route("/api/run", run),
        Route("/api/run/file", run_file),
        Route("/api/run/audio", run_audio),
        Route("/api/tasks", tasks),
        Route("/api/train", train_start, methods=["POST"]),
        Route("/api/train/status", train_status),
        Route("/api/train/cancel", train_cancel, methods=["POST"]),
        Route("/api/train/events", train_events),
        Mount("/static", StaticFiles(directory=static_dir()), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        Refused: on_refused, SeqganMusicError: on_library_error, HTTPException: on_http,
        OSError: on_unexpected})
    app.add_middleware(Gate, studio=studio)
    return app


def _default_model() -> str:
    shipped = adapter.shipped_models()
    if not shipped:
        raise ConfigError("no model chosen and no shipped model in this installation")
    return shipped[0]["id"]


def tune_json(key: str, tune: adapter.Tune, options: dict[str, Any]) -> dict[str, Any]:
    return {"id": key, "notes": tune.notes, "primer_beats": tune.primer_seconds
            * options["tempo"] / 60.0, "beats": tune.seconds, "beats_per_bar": tune.beats_per_bar,
            "synth": adapter.synth_label(tune.synth), "model": tune.model, "options": options,
            "warnings": tune.warnings, "model_label": _model_label(options["model"]),
            "midi": f"/api/tune/{key}.mid", "wav": f"/api/tune/{key}.wav",
            "musicxml": f"/api/tune/{key}.musicxml", "abc": f"/api/tune/{key}.abc",
            "svg": f"/api/tune/{key}.svg" if tune.svg is not None else None}


def _model_label(model_id: str) -> str:
    kind, _, name = model_id.partition(":")
    return {"shipped": f"{name} (shipped)", "run": f"run {name}",
            "upload": "an uploaded model file"}.get(kind, model_id)


def _musicxml(studio: Studio, found: ComposedTune) -> Path:
    options = found.options
    out = studio.work / "musicxml" / found.id
    with studio.compose_lock:
        return adapter.write_musicxml(
            model=model_path(studio, options["model"]), out=out, length=options["length"],
            temperature=options["temperature"], seed=options["seed"], tempo=options["tempo"],
            program=options["program"], primer=primer_path(studio, options["primer"]),
            key=options["key"], meter=options["meter"], index=found.index, num=found.num,
            chords=options.get("chords", True), bars=options.get("bars"),
            form=options.get("form"))
