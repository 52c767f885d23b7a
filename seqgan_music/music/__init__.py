"""Music: the plug-in's representations, readers, writers and evaluators.

Token 0 is a rest and tokens 1..88 are the piano keys MIDI 21..108 in the paper's
representation (a tune sampled every 0.4 s, windows of 32); other codecs are on the tune's own
beat grid. Modules, lowest first:

- `tokens`: the paper's vocabulary, windows, and tokens -> notes.
- `melody`: `Melody`, one tune in quarter notes, what readers give and codecs take.
- `keys`: keys, modes, meters and pitch names: parsing, estimating, spelling.
- `form`: repeat signs, endings and part boundaries; `expand_form` plays them.
- `midi_notes`: a MIDI file's pitched tracks as notes (symusic, pretty_midi's semantics).
- `readers`: MIDI (pretty_midi) and ABC (music21) files -> melodies.
- `constraint`: the well-formed decoding of the `form` representation.
- `codecs`: the representations (`paper`, `onset`, `form`, ...): melody <-> tokens.
- `harmony`, `abc`, `render`, `score`: chords; ABC, MIDI, WAV, plots, MusicXML and SVG out.
- `store`, `corpus`: a folder of files -> cached per-tune sequences, split by tune, windows.
- `metrics`, `form_metrics`, `ngram`: BLEU-4, MSE, symbolic-music and form statistics.
- `zoo`: the shipped models and their cards.
"""
