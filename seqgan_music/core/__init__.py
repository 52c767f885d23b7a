"""The SeqGAN algorithm (Yu, Zhang, Wang, Yu, AAAI 2017): pure compute, no files, no printing.

Read it top to bottom in this order:

1. `generator`: G_theta, embedding -> LSTM -> softmax over V tokens (a stochastic policy), its
   sampler and the fused output-layer NLL that MLE and REINFORCE minimise.
2. `discriminator`: D_phi, embedding -> convolutions of several widths with max-over-time
   pooling -> highway -> dropout -> the probability that a whole sequence is real;
   `conv_pool` is the same arithmetic as explicit GEMMs for bf16 training.
3. `rollout`: Q(Y_1:t-1, y_t) as the mean score of N Monte Carlo completions drawn by the
   roll-out policy G_beta (paper eq. 4), vectorised over the batch, N and t.
4. `steps`: Algorithm 1's steps: MLE epochs, D epochs on fresh negatives, one policy-gradient
   step (eq. 8), and the paper's baselines (scheduled sampling, PG-BLEU).
5. `oracle`: the synthetic benchmark's true distribution (Table 1) and NLL-oracle.

The loop that runs the steps through the phases with checkpoints and metrics is
`seqgan_music.trainer.loop.Trainer`. Several processes (`seqgan_music.runtime.distributed`)
change nothing here but which rows a process works on and the reduction of gradients and
figures; with one process those calls do nothing.
"""
