"""The official SeqGAN code (LantaoYu/SeqGAN, TF1 API via tf.compat.v1 on tensorflow-cpu 2.x):
the speed figures bench_core.py measures for seqgan-music, at the official synthetic config.

    OMP_NUM_THREADS=2 python official_bench.py --src /tmp/peers/official --threads 2 \
        --repeats 5 --only g_step,d_epoch,mle_epoch,nll_oracle,sampling

Everything runs through the official classes and the same sess.run calls that sequence_gan.py
makes (that file is Python 2, so its loops are repeated here, without the file I/O):

- g_step: generator.generate + rollout.get_reward(sess, samples, 16, discriminator) + g_updates
  (one step of the adversarial loop; rollout.update_params is left out: it only builds new graph
  ops that the roll-out graph never uses);
- d_epoch: the 312 train_op runs of one discriminator epoch over 9,984 real + 9,984 generated
  sequences (what Dis_dataloader keeps of 10,000 + 10,000), dropout keep 0.75;
- mle_epoch: pre_train_epoch, 156 pretrain_step runs (9,984 sequences);
- nll_oracle: target_loss, 156 runs of target_lstm.pretrain_loss on given samples;
- sampling: generate_samples' 156 generator.generate runs (9,984 sequences).
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peertime import measure  # noqa: E402

MEASURES = ("g_step", "d_epoch", "mle_epoch", "nll_oracle", "sampling")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", default="/tmp/peers/official")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default=",".join(MEASURES))
    parser.add_argument("--d-batches", type=int, default=0,
                        help="time only this many batches of the D epoch and scale to the epoch "
                             "(for a busy machine; the note says so)")
    parser.add_argument("--tiny", action="store_true",
                        help="smoke test: 1/50 of the data, 2 roll-outs, 1 repeat")
    args = parser.parse_args()
    only = [m for m in args.only.split(",") if m]
    assert set(only) <= set(MEASURES), only
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import numpy as np
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    sys.path.insert(0, args.src)
    from discriminator import Discriminator
    from generator import Generator
    from rollout import ROLLOUT
    from target_lstm import TARGET_LSTM

    # sequence_gan.py's hyper-parameters
    emb, hidden, T, start, B, V = 32, 32, 20, 0, 64, 5000
    filter_sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20]
    num_filters = [100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160]
    rollouts = 2 if args.tiny else 16
    batches = max(2, int(10000 / B) // 50) if args.tiny else int(10000 / B)  # 156
    repeats = 1 if args.tiny else args.repeats

    random.seed(88)
    np.random.seed(88)
    generator = Generator(V, B, emb, hidden, T, start)
    with open(Path(args.src) / "save" / "target_params_py3.pkl", "rb") as handle:
        target_params = pickle.load(handle)
    target_lstm = TARGET_LSTM(V, B, emb, hidden, T, start, target_params)
    discriminator = Discriminator(sequence_length=T, num_classes=2, vocab_size=V,
                                  embedding_size=64, filter_sizes=filter_sizes,
                                  num_filters=num_filters, l2_reg_lambda=0.2)
    rollout = ROLLOUT(generator, 0.8)
    config = tf.ConfigProto(intra_op_parallelism_threads=args.threads,
                            inter_op_parallelism_threads=1)
    sess = tf.Session(config=config)
    sess.run(tf.global_variables_initializer())

    def generate(model, n_batches):
        return np.concatenate([model.generate(sess) for _ in range(n_batches)])

    real = generate(target_lstm, batches)  # generate_samples(sess, target_lstm, ...)
    print(f"official: TF {tf.__version__}, intra_op {args.threads}, inter_op 1, OMP_NUM_THREADS "
          f"{os.environ['OMP_NUM_THREADS']}, TF_ENABLE_ONEDNN_OPTS "
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default (on)')}; {len(real)} sequences per "
          f"10,000-sequence figure, {rollouts} roll-outs", flush=True)
    impl = "official" if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0" else "official_nodnn"

    if "g_step" in only:
        def g_step():
            samples = generator.generate(sess)
            rewards = rollout.get_reward(sess, samples, rollouts, discriminator)
            sess.run(generator.g_updates, {generator.x: samples, generator.rewards: rewards})
        measure(impl, "g_step", g_step, repeats, args.threads)

    if "d_epoch" in only:
        fake = generate(generator, batches)
        # Dis_dataloader.load_train_data, in memory
        sentences = np.concatenate([real, fake])
        labels = np.concatenate([[[0, 1]] * len(real), [[1, 0]] * len(fake)])
        order = np.random.permutation(len(labels))
        sentences, labels = sentences[order], labels[order]
        n = len(labels) // B
        xs = np.split(sentences[:n * B], n)
        ys = np.split(labels[:n * B], n)

        timed = min(args.d_batches, n) if args.d_batches else n

        def d_epoch(count=timed, start=0):
            for x_batch, y_batch in zip(xs[start:start + count], ys[start:start + count],
                                        strict=True):
                sess.run(discriminator.train_op, {discriminator.input_x: x_batch,
                                                  discriminator.input_y: y_batch,
                                                  discriminator.dropout_keep_prob: 0.75})

        def scaled_epoch():  # a different slice each call, so the repeats cover the epoch
            scaled_epoch.calls += 1
            d_epoch(timed, (scaled_epoch.calls * timed) % max(1, n - timed + 1))
        scaled_epoch.calls = 0
        # warm-up: 4 batches (the first run of train_op builds its executor; the epoch is long)
        if timed == n:
            measure(impl, "d_epoch", d_epoch, repeats, args.threads, f"{n} batches",
                    warm_up=lambda: d_epoch(4))
        else:
            measure(impl, "d_epoch", scaled_epoch, repeats, args.threads,
                    f"{timed} of {n} batches timed, scaled x{n / timed:.2f}",
                    warm_up=lambda: d_epoch(4), scale=n / timed)

    if "mle_epoch" in only:
        real_batches = np.split(real, len(real) // B)

        def mle_epoch():  # pre_train_epoch
            losses = [generator.pretrain_step(sess, batch)[1] for batch in real_batches]
            return float(np.mean(losses))
        measure(impl, "mle_epoch", mle_epoch, repeats, args.threads,
                f"{len(real_batches)} batches")

    if "nll_oracle" in only:
        given = np.split(generate(generator, batches), batches)

        def nll():  # target_loss
            return float(np.mean([sess.run(target_lstm.pretrain_loss, {target_lstm.x: b})
                                  for b in given]))
        measure(impl, "nll_oracle", nll, repeats, args.threads, f"{len(given)} batches")
        own = [sess.run(target_lstm.pretrain_loss, {target_lstm.x: b})
               for b in np.split(real, batches)]
        print(f"official NLL-oracle of the oracle's own samples: {np.mean(own):.3f}")

    if "sampling" in only:
        measure(impl, "sampling", lambda: generate(generator, batches), repeats, args.threads,
                f"{batches} batches of {B}")


if __name__ == "__main__":
    main()
