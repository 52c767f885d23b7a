"""Commands that use a trained model: `compose`, `models`, `generate`, `evaluate`, `export`.

Each parses, calls one library function (`seqgan_music.app.compose`, `seqgan_music.app.model`,
`seqgan_music.app.train.evaluate_run`) and renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seqgan_music.cli.console import check_file, new_console, print_figures, reporting
from seqgan_music.cli.options import MODEL_HELP

if TYPE_CHECKING:
    pass


def compose_command(
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="MIDI (.mid) or ABC (.abc) file to write (numbered tune-1.mid, "
        "tune-2.mid... when -n > 1).")] = Path("tune.mid"),
    model: Annotated[Path | None, typer.Option(
        "--model", help="Run directory, checkpoint, model folder, a shipped model's name "
        "(seqgan-music models) or 'latest' (the latest finished nottingham run in --runs); "
        "default: the shipped default model.")] = None,
    num: Annotated[int, typer.Option("-n", "--num", help="Number of tunes.")] = 1,
    length: Annotated[int | None, typer.Option(
        "--length", help="Steps to generate at most (paper models: 0.4 s steps, default 32; "
        "onset models: sixteenth notes, default 1,024, the tune ends where the model ends it).")]
        = None,
    temperature: Annotated[float, typer.Option(
        "--temperature", help="Sampling temperature (< 1 safer, > 1 wilder).")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same tune.")] = 0,
    primer: Annotated[str | None, typer.Option(
        "--primer", help="A .mid/.midi/.abc file whose melody the tune continues, or notes "
        "inline: \"D4 - E4 F#4 | G4 - - - r\" (a name starts a note one step long, '-' holds it "
        "a step more, 'r' rests a step, '|' is a bar line).")] = None,
    tune: Annotated[int, typer.Option(
        "--tune", help="Which tune of a primer file of several, from 1 (only that one is "
        "read), e.g. --tune 3.")] = 1,
    keep_primer: Annotated[bool, typer.Option(
        "--keep-primer/--no-keep-primer", help="Include the primer in the output.")] = True,
    tempo: Annotated[float, typer.Option("--tempo", help="Quarter notes per minute.")] = 150.0,
    program: Annotated[int, typer.Option(
        "--program", help="General MIDI instrument 0..127 (0 piano, 40 violin, 73 flute).")] = 0,
    wav: Annotated[bool, typer.Option("--wav", help="Also render a .wav beside the MIDI.")]
        = False,
    plot: Annotated[bool, typer.Option("--plot", help="Also draw a piano-roll .png.")] = False,
    musicxml: Annotated[bool, typer.Option(
        "--musicxml", help="Also write notation as .musicxml.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    runs: Annotated[Path, typer.Option("--runs", help="Where --model latest looks.")] =
        Path("runs"),
    key: Annotated[str | None, typer.Option(
        "--key", help="Key to write the tune in: a tonic and a mode, e.g. G, Bb, Em, Dmix, "
        "\"E dorian\", Ador (default: onset "
        "models G major / E minor; paper models as sampled).")] = None,
    meter: Annotated[str | None, typer.Option(
        "--meter", help="Time signature, e.g. 4/4, 6/8, 3/4 (onset models start the tune in "
        "it; default: the model chooses).")] = None,
    soundfont: Annotated[Path | None, typer.Option(
        "--soundfont", help="General MIDI .sf2/.sf3 for --wav (default: searched in the usual "
        "system folders).")] = None,
    abc: Annotated[bool, typer.Option(
        "--abc", help="Also write the tune as ABC (.abc; or --out tune.abc for ABC alone).")]
        = False,
    svg: Annotated[bool, typer.Option(
        "--svg", help="Also engrave the score as .svg (key, meter, repeats, chords).")] = False,
    chords: Annotated[bool, typer.Option(
        "--chords/--no-chords", help="Harmonise the tune: chord symbols in ABC and MusicXML, "
        "an accompaniment track in MIDI and WAV.")] = True,
    accompaniment_program: Annotated[int, typer.Option(
        "--accompaniment-program", help="General MIDI instrument of the accompaniment "
        "(25 steel guitar, 0 piano, 21 accordion, 32 acoustic bass).")] = 25,
    bars: Annotated[int | None, typer.Option(
        "--bars", help="Bars the tune lasts as played, repeats counted (form models; default: "
        "the model ends it at a phrase boundary).")] = None,
    form: Annotated[str | None, typer.Option(
        "--form", help="Strains of the tune, e.g. AABB (a doubled letter is a repeated "
        "strain), AAB, ABC (form models; 8 bars a strain unless --bars says).")] = None,
) -> None:
    """Compose folk tunes with a trained music model and write them as MIDI.

    Example: seqgan-music compose --out tune.mid -n 4 --seed 7 --plot
    """
    from seqgan_music.app.compose import ComposeOptions, compose
    from seqgan_music.music.tokens import STEP_SECONDS

    primer_file, primer_notes = _primer_arguments(primer)
    options = ComposeOptions(out, model, num, length, temperature, seed, primer_file,
                             keep_primer, tempo, program, wav, plot, musicxml, force, runs,
                             tune=tune, primer_notes=primer_notes, key=key, meter=meter,
                             soundfont=soundfont, abc=abc, svg=svg, chords=chords,
                             accompaniment_program=accompaniment_program, bars=bars, form=form)
    console = new_console()
    with reporting(new_console(stderr=True)) as reporter:
        result = compose(options, reporter)
    steps = len(result.tunes[0])
    seconds = steps * 60.0 / tempo
    console.print(f"model: {result.model}", markup=False)
    primer_note = (f", primer {result.primer_steps} steps kept"
                   if result.primer_steps and result.primer is not None else "")
    if result.primer is not None and result.primer.num_tunes > 1:
        console.print(f"primer: tune {result.primer.tune} of the {result.primer.num_tunes} in "
                      f"{primer} (--tune N for another)", markup=False)
    if result.representation == "paper":
        console.print(f"{num} tune(s) of {steps} steps ({seconds:.1f} s at {tempo:g} qpm; the "
                      f"model's step is {STEP_SECONDS} s){primer_note}", markup=False)
    else:
        console.print(f"{num} tune(s) in {result.representation} representation, "
                      f"{', '.join(sorted(set(result.meters)))}, "
                      f"{', '.join(sorted(set(result.keys)))}; {_ended(result.ended)}"
                      f"{primer_note}", markup=False)
    if result.synth:
        console.print(f"audio: {result.synth}", markup=False)
    for path in result.files:
        console.print(f"wrote {path}", markup=False)


def _ended(ended: list[bool]) -> str:
    """How the tunes ended, in words that fit the count."""
    done, num = sum(ended), len(ended)
    if done == num:
        return "ended by the model" if num == 1 else f"all {num} ended by the model"
    if done == 0:
        return ("stopped at --length (the model did not end it)" if num == 1
                else f"none ended by the model (all {num} stop at --length)")
    return f"{done} of {num} ended by the model (the other {num - done} stop at --length)"


def _primer_arguments(primer: str | None) -> tuple[Path | None, str | None]:
    """--primer: a file (an existing path or a name ending in a music suffix) or inline notes."""
    if primer is None:
        return None, None
    path = Path(primer)
    if path.exists() or path.suffix.lower() in (".mid", ".midi", ".abc"):
        return path, None
    return None, primer


def models_command() -> None:
    """List the models shipped with seqgan-music (compose --model NAME picks one).

    Example: seqgan-music models
    """
    from seqgan_music.music.zoo import default_model, shipped_models

    console = new_console()
    models = shipped_models()
    if not models:
        console.print("no shipped models in this installation", markup=False)
        return
    default = default_model().name
    for model in models:
        mark = " (default)" if model.name == default else ""
        console.print(f"{model.name}{mark}: {model.summary}", markup=False)
        console.print(f"    {model.path}", markup=False)


def generate_command(
    model: Annotated[Path, typer.Option("--model", help=MODEL_HELP)],
    num: Annotated[int, typer.Option("-n", "--num", help="Number of samples.")] = 10,
    temperature: Annotated[float, typer.Option(
        "--temperature", help="Sampling temperature, e.g. 0.8 (< 1 safer, > 1 wilder).")]
        = 1.0,
    seed: Annotated[int, typer.Option(
        "--seed", help="Same seed, same samples, e.g. --seed 7.")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write to this file instead of stdout; the suffix picks the format: "
        ".mid/.midi (music), .txt (decoded text, any task) or .jsonl.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
) -> None:
    """Sample from a trained model and print (or write) the decoded sequences.

    Example: seqgan-music generate --model runs/poems/20260101-120000 -n 5 --temperature 0.8

    Example: seqgan-music generate --model runs/nottingham/20260101-120000 --seed 7 --out a.mid
    """
    from seqgan_music.app.model import (
        generate,
        load_model,
        output_format,
        resolve_model_path,
        write_samples,
    )
    from seqgan_music.io.runs import check_output

    model = resolve_model_path(model)
    if out is not None:
        check_output(out, force)
    loaded = load_model(model)
    if out is not None:
        output_format(loaded.task, out)  # refuse a mismatch before sampling
    with reporting(new_console(stderr=True)) as reporter:
        tokens = generate(loaded, num, temperature, seed, reporter=reporter)
    if out is not None:
        write_samples(loaded, tokens, out)
        new_console().print(f"wrote {num} samples to {out}", markup=False)
    else:
        for line in loaded.task.decode(tokens, loaded.state.get("task", {})):
            print(line)


def evaluate_command(
    model: Annotated[Path, typer.Option("--model", help=MODEL_HELP)],
    num: Annotated[int | None, typer.Option(
        "-n", "--num", help="Samples to evaluate (default: the run's num_eval_samples).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")]
        = None,
    data: Annotated[Path | None, typer.Option("--data", help="Local data path.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --json.")] = False,
) -> None:
    """Run the task's evaluators on a trained model; MLE and final model side by side.

    Example: seqgan-music evaluate --model runs/oracle/20260101-120000 --json figures.json
    """
    import json

    from seqgan_music.app.model import resolve_model_path
    from seqgan_music.app.train import evaluate_run
    from seqgan_music.io.runs import atomic_write, check_output

    model = resolve_model_path(model)
    if json_out is not None:
        check_output(json_out, force)
    outcome = evaluate_run(model, num, data)
    console = new_console()
    if outcome.data_label:
        console.print(f"data: {outcome.data_label}", markup=False)
    print_figures(console, outcome.figures, f"evaluation of {model}", outcome.config.task)
    console.print(f"figures on {outcome.evaluation}", markup=False)
    if json_out is not None:
        with atomic_write(json_out) as handle:
            json.dump(outcome.figures, handle, indent=2)


def export_command(
    model: Annotated[Path, typer.Option("--model", help="Run directory or checkpoint.")],
    out: Annotated[Path, typer.Option(
        "--out", help="A folder (no suffix: config.json, model.safetensors and README.md, the "
        "model card, as the Hugging Face Hub keeps models), a .safetensors file (read without "
        "torch) or .pt (a slim torch checkpoint).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
) -> None:
    """Save a run's generator alone (small; for sharing, generate and compose --model).

    Example: seqgan-music export --model runs/nottingham/20260101-120000 --out my-tunes
    """
    from seqgan_music.app.model import export_model

    check_file(model, "model")
    path = export_model(model, out, force)
    if path.is_dir():
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        new_console().print(f"wrote {path}/ (config.json, model.safetensors, README.md; "
                         f"{size / 1024:.0f} KiB); compose --model {path} plays it",
                         markup=False)
        return
    card = path.with_suffix(".md") if path.suffix == ".safetensors" else None
    also = f" and its model card {card}" if card is not None and card.is_file() else ""
    new_console().print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB){also}", markup=False)
