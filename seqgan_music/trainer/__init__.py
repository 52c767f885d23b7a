"""The training loop: `loop.Trainer` runs a method's phases (MLE pre-training, D pre-training,
adversarial training, or a baseline) with the steps of `seqgan_music.core.steps`, keeping
models, optimizers and random state resumable through checkpoints and logging metrics to the
run directory. `loop.Corpus` is what a task hands it; `loop.Reporter` hears its progress."""
