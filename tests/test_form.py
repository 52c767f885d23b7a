"""The written form: ABC repeat signs read, unfolded, encoded as tokens; the sampler's
constraint (bars add up, closed repeats, phrase-boundary ends, --bars, --form)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqgan_music.errors import ConfigError
from seqgan_music.music.codecs import FormCodec
from seqgan_music.music.constraint import FormConstraint, parse_form
from seqgan_music.music.form import expand_form
from seqgan_music.music.melody import Melody

TUNE_ABC = """X:1
T:Test reel
M:4/4
L:1/8
K:C
G|:c2e2 g2e2|d2f2 a2f2|[1 e2d2 c2B2:|[2 e2d2 c4||
|:g2g2 a2a2|f2f2 e2d2:|
"""


def strains() -> Melody:
    """Six bars of whole notes, 60 + bar: |: 0 1 [1 2 :| [2 3 || |: 4 5 :|"""
    notes = [(4.0 * i, 4.0 * i + 4.0, 60 + i) for i in range(6)]
    form = [(0.0, "|:"), (8.0, "[1"), (12.0, ":|"), (12.0, "[2"), (16.0, "||"), (16.0, "|:"),
            (24.0, ":|")]
    return Melody(notes, (4, 4), [4.0 * i for i in range(6)], (0, "major"), 24.0, form=form)


def test_expand_form_plays_repeats_and_endings() -> None:
    played = expand_form(strains())
    assert [p for _, _, p in played.notes] == [60, 61, 62, 60, 61, 63, 64, 65, 64, 65]
    assert [s for s, _, _ in played.notes] == [4.0 * i for i in range(10)]
    assert played.bars == [4.0 * i for i in range(10)] and played.end == 40.0
    assert played.form == []
    plain = Melody([(0.0, 1.0, 60)], end=4.0)
    assert expand_form(plain) is plain


def test_repeat_end_without_start_goes_back_to_the_last_repeat_end() -> None:
    notes = [(4.0 * i, 4.0 * i + 4.0, 60 + i) for i in range(4)]
    tune = Melody(notes, bars=[0.0, 4.0, 8.0, 12.0], end=16.0,
                  form=[(8.0, ":|"), (16.0, ":|")])
    assert [p for _, _, p in expand_form(tune).notes] == [60, 61, 60, 61, 62, 63, 62, 63]


def test_abc_reader_keeps_the_written_form_and_chords() -> None:
    from seqgan_music.music.readers import abc_melody

    tune = abc_melody(TUNE_ABC)
    assert tune.form == [(0.5, "|:"), (8.5, "[1"), (12.5, ":|"), (12.5, "[2"), (16.5, "||"),
                         (16.5, "|:"), (24.5, ":|")]
    assert tune.meter == (4, 4) and len(tune.notes) == 24
    played = expand_form(tune)
    assert len(played.notes) == 1 + 12 + 11 + 2 * 8
    assert played.length == pytest.approx(0.5 + 4 * 10)


def test_form_codec_round_trip_keeps_repeats_and_endings() -> None:
    codec = FormCodec()
    tune = strains()
    tokens = codec.encode(tune).tokens
    names = [codec.token_name(t) for t in tokens if t in (*codec.BAR_LINES, codec.ENDING_1,
                                                          codec.ENDING_2, codec.END)]
    assert names == ["|:", "|", "|", "[1", ":|", "[2", "|:", "|", ":|", "<end>"]
    back = codec.decode(tokens)
    assert back.form == tune.form[:4] + [(16.0, "|:"), (24.0, ":|")]
    assert back.notes == tune.notes and back.meter == (4, 4) and back.ended
    assert [p for _, _, p in expand_form(back).notes] == [60, 61, 62, 60, 61, 63, 64, 65, 64,
                                                          65]
    assert codec.windows(tokens, 40).shape == (1, 40)  # one row per whole tune
    assert (codec.windows(tokens, 80)[0, len(tokens):] == codec.END).all()


def random_walk(constraint: FormConstraint, num: int, length: int, seed: int) -> np.ndarray:
    """Tokens drawn uniformly among those the constraint allows (notes favoured)."""
    rng = np.random.default_rng(seed)
    state = constraint.start(num)
    out = np.zeros((num, length), dtype=np.int64)
    for t in range(length):
        allowed = constraint.allowed(state)
        assert allowed.any(axis=1).all()
        weights = allowed * (1 + 30 * constraint.step_cols) * rng.random(allowed.shape)
        out[:, t] = weights.argmax(axis=1)
        constraint.advance(state, out[:, t])
    return out


def bar_lengths(codec: FormCodec, tokens: np.ndarray) -> tuple[list[float], float, Melody]:
    melody = codec.decode(tokens)
    played = expand_form(melody)
    edges = [*played.bars, played.length]
    return list(np.diff(edges)), melody.bar_length(), melody


def test_constraint_never_lets_a_bar_overflow_and_ends_on_phrases() -> None:
    codec = FormCodec()
    rows = random_walk(codec.constraint(limit=600), 24, 600, seed=0)
    for row in rows:
        assert codec.END in row
        lengths, bar, melody = bar_lengths(codec, row)
        assert max(lengths) <= bar + 1e-9  # nothing overflows a bar
        # only a pick-up and the bar that completes it before a repeat/part sign are short
        assert sum(abs(x - bar) > 1e-9 for x in lengths) <= 2 + 2 * len(melody.form)
        heard = round(expand_form(melody).length / bar)
        tail = list(row[: list(row).index(codec.END)])
        # a phrase boundary, unless the bar cap or the token limit closed the tune
        assert heard >= 8 and (heard % 4 == 0 or heard >= 64 or len(tail) > 600 - 2 * 4 * 24)
        assert tail[-1] in (codec.PART, codec.REP_END)  # a final bar line, then the end


def test_constraint_gives_the_bars_and_the_form_asked_for() -> None:
    codec = FormCodec()
    for bars in (7, 16, 24):
        for row in random_walk(codec.constraint(bars=bars), 8, 700, seed=bars):
            melody = codec.decode(row)
            assert melody.ended
            heard = expand_form(melody).length / melody.bar_length()
            assert abs(heard - bars) <= 0.5  # a pick-up of at most half a bar
    for row in random_walk(codec.constraint(form="AABB"), 8, 700, seed=1):
        melody = codec.decode(row)
        marks = [m for _, m in melody.form]
        assert marks[-3:] == [":|", "|:", ":|"] and "[1" not in marks
        assert round(expand_form(melody).length / melody.bar_length()) == 32
    for row in random_walk(codec.constraint(form="AAB", bars=12), 4, 400, seed=2):
        melody = codec.decode(row)
        assert [m for _, m in melody.form][-2:] == [":|", "||"]
        assert round(expand_form(melody).length / melody.bar_length()) == 12


def test_form_option_is_checked() -> None:
    assert parse_form("AABB") == [True, True] and parse_form("aab") == [True, False]
    for bad in ("ABA", "AAAB", "", "A1"):
        with pytest.raises(ConfigError, match="--form"):
            parse_form(bad)
    with pytest.raises(ConfigError, match="--bars 30"):
        FormCodec().constraint(form="AABB", bars=30)


def test_metrical_ids_are_the_same_in_teacher_forcing_and_sampling() -> None:
    codec = FormCodec()
    constraint = codec.constraint()
    rows = random_walk(constraint, 4, 200, seed=3)
    tracked = constraint.track(rows)
    state = constraint.start(4)
    for t in range(rows.shape[1]):
        assert (constraint.ids(state) == tracked[:, t]).all()
        constraint.advance(state, rows[:, t])


def test_metrical_generator_numpy_and_torch_agree_and_sample_well_formed() -> None:
    import torch

    from seqgan_music.app.inference import NumpyGenerator
    from seqgan_music.config import GeneratorConfig
    from seqgan_music.core.generator import Generator

    codec = FormCodec()
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(embedding_dim=8, hidden_dim=16), codec.vocab_size,
                          codec.constraint(limit=300))
    rows = torch.from_numpy(random_walk(codec.constraint(), 3, 120, seed=4))
    weights = {k: v.detach().numpy() for k, v in generator.state_dict().items()}
    numpy_model = NumpyGenerator.from_state(weights, 0, codec.constraint())
    expected = generator.log_probs(rows).detach().numpy()
    assert np.allclose(numpy_model.log_probs(rows.numpy()), expected, atol=1e-4)
    sampled = generator.sample(6, 300, generator=torch.Generator().manual_seed(1))
    for row in sampled.numpy():
        lengths, bar, _ = bar_lengths(codec, row)
        assert codec.END in row and max(lengths) <= bar + 1e-9
    drawn = numpy_model.sample(4, 300, seed=2, constraint=codec.constraint(bars=8, limit=300))
    for row in drawn:
        melody = codec.decode(row)
        assert abs(expand_form(melody).length / melody.bar_length() - 8) <= 0.5


def test_corpus_reads_the_abc_sources_for_the_form_representation(tmp_path: Path) -> None:
    from seqgan_music.music.corpus import find_music_files

    (tmp_path / "MIDI" / "melody").mkdir(parents=True)
    (tmp_path / "MIDI" / "melody" / "a.mid").write_bytes(b"")
    (tmp_path / "ABC_cleaned").mkdir()
    (tmp_path / "ABC_cleaned" / "reels.abc").write_text(TUNE_ABC)
    files, layout = find_music_files(tmp_path, written=True)
    assert [f.name for f in files] == ["reels.abc"] and "ABC_cleaned" in layout
    files, _ = find_music_files(tmp_path)
    assert [f.name for f in files] == ["a.mid"]


@pytest.fixture(scope="module")
def form_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_cli import run
    from tests.test_music_cli import TINY_MUSIC

    base = tmp_path_factory.mktemp("form")
    (base / "tunes").mkdir()
    keys = ("C", "G", "D", "F", "A", "Bb", "E", "Am", "Dm")
    text = "\n".join(TUNE_ABC.replace("X:1", f"X:{i}").replace("K:C", f"K:{key}")
                     for i, key in enumerate(keys, 1))
    (base / "tunes" / "reels.abc").write_text(text)
    result = run("train", "midi", "--data", str(base / "tunes"), "--out", str(base / "runs"),
                 *TINY_MUSIC, "--set", "task_options.representation=form",
                 "--set", "data.seq_len=160", "--method", "mle")
    assert result.returncode == 0, result.stderr
    (run_dir,) = (base / "runs" / "midi").iterdir()
    return run_dir


def test_compose_honours_bars_and_form_and_writes_repeats(form_run: Path, tmp_path: Path
                                                          ) -> None:
    import pretty_midi

    from tests.test_cli import run

    out = tmp_path / "t.mid"
    made = run("compose", "--model", str(form_run), "--out", str(out), "--bars", "12",
               "--meter", "4/4", "--seed", "3", "--musicxml")
    assert made.returncode == 0, made.stderr
    assert "form representation" in made.stdout
    midi = pretty_midi.PrettyMIDI(str(out))
    seconds_per_bar = 4 * 60.0 / 150
    end = max(n.end for n in midi.instruments[0].notes)
    assert 11 * seconds_per_bar < end <= 13 * seconds_per_bar  # 12 bars (and a lead-in)
    aabb = run("compose", "--model", str(form_run), "--out", str(tmp_path / "f.mid"),
               "--form", "AABB", "--bars", "16", "--meter", "4/4", "--musicxml")
    assert aabb.returncode == 0, aabb.stderr
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "f.mid"))
    notes = [(n.start / seconds_per_bar, n.pitch) for n in midi.instruments[0].notes]
    lead = np.ceil(min(s for s, _ in notes) - 1e-6)  # the first full bar (after a pick-up)
    first = [(round((s - lead) * 64), p) for s, p in notes if lead - 1e-6 <= s < lead + 4 - 1e-6]
    again = [(round((s - lead - 4) * 64), p) for s, p in notes
             if lead + 4 - 1e-6 <= s < lead + 8 - 1e-6]
    assert first and first == again  # strain A is played twice (expanded in MIDI)
    xml = (tmp_path / "f.musicxml").read_text()  # and written once, with its repeat signs
    assert 'direction="backward"' in xml and 'direction="forward"' in xml
    bad = run("compose", "--model", str(form_run), "--out", str(tmp_path / "b.mid"),
              "--form", "ABA")
    assert bad.returncode == 1 and "--form 'ABA'" in bad.stderr


def test_bar_rewards_roll_out_from_bar_lines_under_the_constraint() -> None:
    import torch

    from seqgan_music.config import GeneratorConfig, RolloutConfig
    from seqgan_music.core.generator import Generator
    from seqgan_music.core.rollout import Rollout

    codec = FormCodec()
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(embedding_dim=8, hidden_dim=16), codec.vocab_size,
                          codec.constraint(limit=200))
    rollout = Rollout(generator, RolloutConfig(num_rollouts=3, reward_at="bar"))
    sequences = generator.sample(2, 200, generator=torch.Generator().manual_seed(0))
    completions, points = rollout.complete_at_bars(sequences, torch.Generator().manual_seed(1))
    assert len(points) == completions.shape[0] > 0
    for (b, t), group in zip(points, completions, strict=True):
        assert codec.token_name(int(sequences[b, t - 1])) in ("|", "|:", ":|", ":|:", "||")
        for row in group:
            assert (row[:t] == sequences[b, :t]).all()  # the prefix is kept
            lengths, bar, _ = bar_lengths(codec, row.numpy())
            assert max(lengths) <= bar + 1e-9
    scorer = lambda x: (x == codec.HOLD).float().mean(dim=1)  # noqa: E731
    q = rollout.rewards(sequences, scorer, torch.Generator().manual_seed(1))
    assert q.shape == sequences.shape and bool(((q >= 0) & (q <= 1)).all())
    first_b, first_t = next(p for p in points if p[0] == 0)
    assert bool((q[0, :first_t] == q[0, 0]).all())
    loss = generator.constrained_weighted_nll(sequences, q)
    loss.backward()
    assert generator.position.weight.grad is not None and torch.isfinite(loss)


def test_midi_bars_keep_the_downbeat_after_a_pick_up() -> None:
    from seqgan_music.music.form import on_downbeats
    from seqgan_music.music.render import melodies_to_midi

    # a pick-up of one beat, then a bar of 3 beats and one of 5 written by a model
    notes = [(0.0, 1.0, 60), (1.0, 4.0, 62), (4.0, 8.5, 64), (8.5, 9.5, 65), (9.0, 10.0, 67)]
    tune = Melody(notes, (4, 4), [0.0, 1.0, 4.0, 9.0], (0, "major"), 13.0)
    timed = on_downbeats(tune)
    assert timed.bars == [0.0, 1.0, 5.0, 9.0]
    # the long bar's note is cut at its bar line, the note past its length is dropped
    assert timed.notes == [(0.0, 1.0, 60), (1.0, 4.0, 62), (5.0, 9.0, 64), (9.0, 10.0, 67)]
    midi = melodies_to_midi([tune], tempo=60.0)
    starts = sorted(n.start for n in midi.instruments[0].notes)
    assert starts == [3.0, 4.0, 8.0, 12.0]  # a lead-in of 3 beats, downbeats at 4, 8, 12
