"""Text: tokenizers, corpora and evaluators for the text tasks (poems, obama, coco, emnlp-news,
and a user's own file). The tasks themselves live in `seqgan_music.tasks.text`."""
