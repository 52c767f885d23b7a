"""Evaluation that is not tied to one task: `bleu` (the Texygen convention of mean sentence BLEU
against a whole reference set, exact and vectorised, checked against NLTK). Task-specific
evaluators live with their plug-ins (`music.metrics`, `tasks.text`, `core.oracle`)."""
