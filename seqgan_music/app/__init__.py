"""The library functions behind each command, shared by the three faces (CLI, studio, API):

- `train`: resolve a config, train a task into a run directory, evaluate a run.
- `model`: load a trained model, sample from it, write samples, export it.
- `compose`: tunes from a music model, written as MIDI, ABC, MusicXML, WAV, plots.
- `inference`: the `.safetensors` model file and its torch-free numpy generator.
- `schema`: what a model or checkpoint must hold to be used (checked before use).
"""
