"""The import paths of the flat layout (up to 0.1), kept for one release with a warning.

Up to 0.1 the package root held every module side by side (`seqgan_music.models`,
`seqgan_music.training`, `seqgan_music.runs`, ...); the layout of layers (docs/architecture.md)
moved them into folders. Plug-ins import some of those names, so the old paths still work until
`REMOVED_IN`:

- `MOVED`: each old module and the modules its names live in now (in the order they are looked
  up). `install()`, called by `seqgan_music/__init__.py`, puts a finder on `sys.meta_path` that
  answers an import of an old module with a small forwarding module: every attribute is looked
  up in the new modules, so `from seqgan_music.models import Generator` gives the very class of
  `seqgan_music.core.generator`. The first import of each old module warns (DeprecationWarning,
  naming the new paths).
- `MOVED_NAMES`: names that left a module which stays (`music.codecs` lost `Melody`'s helpers to
  `music.keys` and `music.melody`); that module's `__getattr__` calls `moved_name`, which warns
  once per name and returns the object from its new module.

Nothing in the package imports an old path (tests/test_architecture.py checks it); delete this
module, its `install()` call and the two `__getattr__` hooks in REMOVED_IN.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Sequence
from typing import Any

DEPRECATED_SINCE = "0.2.0"
REMOVED_IN = "0.3.0"

MOVED: dict[str, tuple[str, ...]] = {
    "seqgan_music.allocator": ("seqgan_music.runtime.allocator",),
    "seqgan_music.threads": ("seqgan_music.runtime.threads",),
    "seqgan_music.distributed": ("seqgan_music.runtime.distributed",),
    "seqgan_music.models": ("seqgan_music.core.generator", "seqgan_music.core.discriminator"),
    "seqgan_music.conv_pool": ("seqgan_music.core.conv_pool",),
    "seqgan_music.rollout": ("seqgan_music.core.rollout",),
    "seqgan_music.oracle": ("seqgan_music.core.oracle",),
    "seqgan_music.training": ("seqgan_music.trainer.loop", "seqgan_music.core.steps",
                              "seqgan_music.config"),
    "seqgan_music.runs": ("seqgan_music.io.runs",),
    "seqgan_music.safe_io": ("seqgan_music.io.safe_io",),
    "seqgan_music.provenance": ("seqgan_music.io.provenance",),
    "seqgan_music.data": ("seqgan_music.io.downloads",),
    "seqgan_music.bleu": ("seqgan_music.eval.bleu",),
    "seqgan_music.schema": ("seqgan_music.app.schema", "seqgan_music.io.runs"),
    "seqgan_music.inference": ("seqgan_music.app.inference",),
    "seqgan_music.pipeline": ("seqgan_music.app.train", "seqgan_music.app.model",
                              "seqgan_music.io.runs"),
    "seqgan_music.music.compose": ("seqgan_music.app.compose",),
}

MOVED_NAMES: dict[str, tuple[str, ...]] = {
    "seqgan_music.music.codecs": ("seqgan_music.music.keys", "seqgan_music.music.melody"),
    "seqgan_music.music.form": ("seqgan_music.music.readers",),
}

_warned: set[tuple[str, str]] = set()


def message(old: str, new: Sequence[str]) -> str:
    """The warning for an old path `old` whose names now live in `new`."""
    return (f"{old} is deprecated since seqgan-music {DEPRECATED_SINCE} and will be removed in "
            f"{REMOVED_IN}; import from {' or '.join(new)} instead (docs/architecture.md)")


def _find(targets: Sequence[str], name: str) -> tuple[str | None, Any]:
    """The first of `targets` (module names) that holds `name`, and the object."""
    for target in targets:
        module = importlib.import_module(target)
        if name in vars(module):
            return target, vars(module)[name]
    return None, None


class _Forward(types.ModuleType):
    """An old module: attributes come from the modules that hold its names now."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):  # the module's own, never forwarded
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        found, value = _find(MOVED[self.__name__], name)
        if found is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        return value

    def __dir__(self) -> list[str]:
        names: set[str] = set()
        for target in MOVED[self.__name__]:
            names.update(dir(importlib.import_module(target)))
        return sorted(names)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _Forward(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        new = MOVED[module.__name__]
        module.__doc__ = f"Deprecated alias: {message(module.__name__, new)}."
        warnings.warn(message(module.__name__, new), DeprecationWarning, stacklevel=2)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _LOADER)


_LOADER = _Loader()
_FINDER = _Finder()


def install() -> None:
    """Answer imports of the old module paths (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def moved_name(module: str, name: str) -> Any:
    """`module.name` for a name that moved out of `module` (its `__getattr__` calls this)."""
    dunder = name.startswith("__") and name.endswith("__")
    found, value = (None, None) if dunder else _find(MOVED_NAMES.get(module, ()), name)
    if found is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    if (module, name) not in _warned:
        _warned.add((module, name))
        warnings.warn(message(f"{module}.{name}", [found]), DeprecationWarning, stacklevel=3)
    return value
