"""Engraved scores: a melody's MusicXML (`render.write_melody_musicxml`: key with its mode, meter,
pick-up, repeats, chord symbols) engraved to SVG by Verovio (the `verovio` package, offline).

`score_svg(melody)` returns one SVG of the whole tune (one tall page); `write_svg` writes it
atomically. Verovio is imported only here, on first use.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from seqgan_music.errors import ConfigError
from seqgan_music.io.runs import atomic_write

PAGE_WIDTH = 2100  # Verovio units (tenths of a staff space x 10); with SCALE, ~ 840 px wide
SCALE = 40


def _toolkit() -> Any:
    try:
        import verovio
    except ImportError:
        raise ConfigError("--svg needs the verovio package (pip install verovio)") from None
    from importlib.resources import files

    verovio.enableLog(verovio.LOG_OFF)
    toolkit = verovio.toolkit()
    # the package sets its fonts' folder as a default of the importing thread only: a score
    # engraved in another thread (the studio's pool) needs it said again
    toolkit.setResourcePath(str(files("verovio") / "data"))
    return toolkit


def musicxml_text(melody: Any, title: str = "", tempo: float | None = None) -> str:
    """The melody as MusicXML text (through `render.write_melody_musicxml`)."""
    from seqgan_music.music.render import DEFAULT_TEMPO, write_melody_musicxml

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tune.musicxml"
        write_melody_musicxml(melody, path, tempo or DEFAULT_TEMPO, title or "Tune")
        return path.read_text(encoding="utf-8")


def engrave(data: str, width: int = PAGE_WIDTH, scale: int = SCALE) -> str:
    """MusicXML, ABC or MEI text -> one SVG of the whole score (Verovio guesses the format)."""
    toolkit = _toolkit()
    toolkit.setOptions({"pageWidth": width, "scale": scale, "adjustPageHeight": True,
                        "pageHeight": 60000, "breaks": "auto", "footer": "none",
                        "header": "auto", "svgViewBox": True,
                        # the glyphs of text (a chord's sharp, the tempo's note) travel inside
                        # the SVG, so a browser or viewer without Verovio's fonts shows them
                        "smuflTextFont": "embedded"})
    if not toolkit.loadData(data):
        raise ConfigError("Verovio could not read the score")
    svg: str = toolkit.renderToSVG(1)
    return svg


def score_svg(melody: Any, title: str = "", tempo: float | None = None) -> str:
    """One SVG of a melody's score (key, meter, repeats, endings, chord symbols)."""
    return engrave(musicxml_text(melody, title, tempo))


def write_svg(melody: Any, path: Path, title: str = "", tempo: float | None = None) -> Path:
    svg = score_svg(melody, title or path.stem, tempo)
    with atomic_write(path, "w") as handle:
        handle.write(svg)
    return path


__all__ = ["engrave", "musicxml_text", "score_svg", "write_svg"]
