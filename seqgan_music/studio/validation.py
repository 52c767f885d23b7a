"""The one validator of the studio's JSON requests (`parse_body`, `integer`, `number`, `text`).

Bodies are parsed with bounds before any route sees them: at most `MAX_BODY` bytes, nesting at
most `MAX_DEPTH` deep (checked by a scan before `json.loads`, so 60,000 `[` never reach the
parser's recursion), no NaN/Infinity and no number that overflows a float (1e400), integers of
at most 40 digits. Fields are then read with the CLI's own rules: an integer is an integer
(`1.5` and `true` are refused, as `--seed 1.5` is), a number is finite, a text is a string of
bounded length. Every refusal is `Invalid` (HTTP 400) with a one-line message naming the field.
"""

from __future__ import annotations

import json
import math
from contextlib import suppress
from typing import Any

from seqgan_music.errors import ConfigError

MAX_BODY = 64 * 1024  # bytes of one JSON request
MAX_DEPTH = 16  # nesting of arrays and objects
MAX_DIGITS = 40  # digits of one integer (2**63 has 19)
MAX_TEXT = 4096  # characters of one text field


class Invalid(ConfigError):
    """A request body or field the studio refuses (answered with status 400)."""


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings skipped)."""
    deepest = depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def _constant(name: str) -> Any:
    raise Invalid(f"the request holds {name}; numbers must be finite")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Invalid(f"the number {text[:40]} is too large; numbers must be finite")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise Invalid(f"the integer {text[:20]}... has more than {MAX_DIGITS} digits")
    return int(text)


def parse_body(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object (empty body: `{}`), within the bounds above."""
    if len(raw) > MAX_BODY:
        raise Invalid(f"the request body is {len(raw):,} bytes; at most {MAX_BODY:,}")
    try:
        text = raw.decode("utf-8") if raw else "{}"
    except UnicodeDecodeError:
        raise Invalid("the request body is not UTF-8 JSON") from None
    if _depth(text) > MAX_DEPTH:
        raise Invalid(f"the request body nests deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except (ValueError, RecursionError):
        raise Invalid("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object")
    return body


def _given(body: dict[str, Any], key: str) -> bool:
    return body.get(key) not in (None, "")


def integer(body: dict[str, Any], key: str, default: Any, lowest: int, highest: int) -> Any:
    """`body[key]` as an integer in lowest..highest (an integer, or a string of digits)."""
    if not _given(body, key):
        return default
    value = body[key]
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() \
            and len(value.strip()) <= MAX_DIGITS:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{key} = {_show(body[key])} is invalid; expected an integer in "
                      f"{lowest}..{highest}")
    if not lowest <= value <= highest:
        raise Invalid(f"{key} = {value} is invalid; expected an integer in {lowest}..{highest}")
    return value


def flag(body: dict[str, Any], key: str, default: bool) -> bool:
    """`body[key]` as a boolean (true or false only)."""
    if key not in body or body[key] is None:
        return default
    value = body[key]
    if not isinstance(value, bool):
        raise Invalid(f"{key} = {_show(value)} is invalid; expected true or false")
    return value


def number(body: dict[str, Any], key: str, default: Any) -> Any:
    """`body[key]` as a finite float (a number, or a string that reads as one)."""
    if not _given(body, key):
        return default
    value = body[key]
    if isinstance(value, str) and len(value) <= MAX_DIGITS:
        with suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(float(value)):
        raise Invalid(f"{key} = {_show(body[key])} is invalid; expected a finite number")
    return float(value)


def text(body: dict[str, Any], key: str, default: str | None = None,
         limit: int = MAX_TEXT) -> str | None:
    """`body[key]` as a stripped string of at most `limit` characters (numbers accepted)."""
    if not _given(body, key):
        return default
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(f"{key} = {_show(value)} is invalid; expected a text")
    value = str(value).strip()
    if len(value) > limit or "\x00" in value:
        raise Invalid(f"{key} is invalid: more than {limit:,} characters or a NUL character")
    return value or default


def _show(value: Any) -> str:
    shown = json.dumps(value) if not isinstance(value, str) else repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
