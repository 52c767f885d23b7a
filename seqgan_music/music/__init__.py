"""Music: melodies as token sequences (the SeqGAN paper's Nottingham representation).

Token 0 is a rest and tokens 1..88 are the piano keys MIDI 21..108; a tune is sampled every
0.4 s (the sounding melody pitch at each step) and cut into windows of 32. Modules:

- `tokens`: the vocabulary, windows, and tokens -> notes/MIDI.
- `readers`: MIDI (pretty_midi) and ABC (music21) files -> one melody pitch sequence per tune.
- `corpus`: a folder of files -> cached per-tune sequences, split by tune, windows, manifest.
- `metrics`: BLEU-4, MSE to the nearest test sequence, symbolic-music statistics.
- `render`: MIDI, WAV, piano-roll PNG and MusicXML output for `seqgan-music compose`.
"""
