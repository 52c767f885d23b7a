"""The flat layout's import paths keep working for one release, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest

from seqgan_music import __version__, _deprecated


def fresh_import(name: str) -> object:
    """Import `name` as a plug-in would, the first time in this process."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.mark.parametrize("old", sorted(_deprecated.MOVED))
def test_an_old_module_warns_once_naming_the_new_paths(old: str) -> None:
    with pytest.warns(DeprecationWarning) as caught:
        fresh_import(old)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any(old in m and all(new in m for new in _deprecated.MOVED[old]) for m in messages)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # imported again: no second warning
        importlib.import_module(old)


def test_old_paths_give_the_very_objects_of_the_new_ones() -> None:
    from seqgan_music.app import compose, model, schema, train
    from seqgan_music.config import METHODS
    from seqgan_music.core import discriminator, generator, steps
    from seqgan_music.io import runs
    from seqgan_music.music import keys, melody, readers
    from seqgan_music.trainer import loop

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from seqgan_music.models import Discriminator, Generator
        from seqgan_music.music.compose import ComposeOptions
        from seqgan_music.pipeline import build_config, load_model
        from seqgan_music.schema import check_model, load_error_reason
        from seqgan_music.training import METHODS as OLD_METHODS
        from seqgan_music.training import Corpus, Trainer, mle_epoch

        from seqgan_music.music.codecs import Melody, parse_key
        from seqgan_music.music.form import parse_abc_written

    assert Generator is generator.Generator and Discriminator is discriminator.Discriminator
    assert Trainer is loop.Trainer and Corpus is loop.Corpus and mle_epoch is steps.mle_epoch
    assert OLD_METHODS is METHODS
    assert build_config is train.build_config and load_model is model.load_model
    assert check_model is schema.check_model and load_error_reason is runs.load_error_reason
    assert ComposeOptions is compose.ComposeOptions
    assert Melody is melody.Melody and parse_key is keys.parse_key
    assert parse_abc_written is readers.parse_abc_written


def test_a_moved_name_warns_once_and_an_unknown_one_is_an_attribute_error() -> None:
    import seqgan_music.music.codecs as codecs
    from seqgan_music.music import keys

    _deprecated._warned.discard(("seqgan_music.music.codecs", "key_name"))
    with pytest.warns(DeprecationWarning, match=r"codecs\.key_name .*seqgan_music\.music\.keys"):
        assert codecs.key_name is keys.key_name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert codecs.key_name is keys.key_name  # warned once
    with pytest.raises(AttributeError):
        codecs.no_such_name  # noqa: B018
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module("seqgan_music.training")
    with pytest.raises(AttributeError):
        old.no_such_name  # noqa: B018


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_warning_names_the_release_that_removes_the_old_paths() -> None:
    assert version(_deprecated.REMOVED_IN) > version(_deprecated.DEPRECATED_SINCE) \
        > version(__version__)
    message = _deprecated.message("seqgan_music.runs", ["seqgan_music.io.runs"])
    assert f"removed in {_deprecated.REMOVED_IN}" in message
    assert "seqgan_music.io.runs" in message
