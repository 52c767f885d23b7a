"""TextGAN-PyTorch's discriminator epoch with the paper's highway: the like-for-like D figure.

TextGAN-PyTorch's `CNNDiscriminator` has the official filters (widths 1-10, 15, 20; 1,720
filters) but one highway matrix for both the transform and the gate:

    h = W x + b;  y = sigmoid(h) * relu(h) + (1 - sigmoid(h)) * x

where the paper's highway (Srivastava et al. 2015), the official SeqGAN code and seqgan-music
have two, y = t * relu(W_h x + b_h) + (1 - t) * x with t = sigmoid(W_t x + b_t). Its D has
4.1 M parameters against the official 7.0 M, so its D epoch moves and multiplies less (Adam's
pass over the parameters is the largest memory traffic of a step). This script times TextGAN's
own `train_dis_epoch` twice, interleaved: with its D as it is, and with a second matrix for the
gate added to the same class (the official network, in TextGAN's code), as the peers' harness
times it (one warm-up epoch of 4 batches, then `--repeats` epochs of 312 batches of 64).

Run it with the python of TextGAN's venv (`benchmarks/peers/setup.sh` makes one:
`$PEERS/venv-textgan`):

    /tmp/peers/venv-textgan/bin/python benchmarks/peer_same_network.py \\
        --src /tmp/peers/textgan --threads 2 --repeats 5

and `python benchmarks/bench_core.py --only d_epoch --threads 2` beside it for seqgan-music.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", default="/tmp/peers/textgan", help="TextGAN-PyTorch checkout")
    parser.add_argument("--harness", default=str(Path(__file__).resolve().parent / "peers"),
                        help="the peers' harness folder (for its timing, peertime.py)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--variants", default="textgan,textgan_paper_highway")
    args = parser.parse_args()
    for folder, what in ((args.src, "TextGAN-PyTorch checkout"),
                         (args.harness, "peers' harness")):
        if not Path(folder).is_dir():
            raise SystemExit(f"error: no {what} at {folder}")
    sys.path[:0] = [args.src, args.harness]

    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(args.threads)
    from peertime import measure  # type: ignore[import-not-found]
    from textgan_bench import oracle_config  # type: ignore[import-not-found]

    cfg = oracle_config()
    from instructor.oracle_data.instructor import BasicInstructor
    from models.Oracle import Oracle
    from models.SeqGAN_D import SeqGAN_D
    from models.SeqGAN_G import SeqGAN_G
    from utils.data_loader import DisDataIter

    class PaperHighwayD(SeqGAN_D):  # type: ignore[misc, valid-type]
        """TextGAN's SeqGAN_D with a separate gate matrix: the official discriminator."""

        def __init__(self, *a, **k) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*a, **k)
            self.gate = nn.Linear(self.feature_dim, self.feature_dim)
            for param in self.gate.parameters():  # TextGAN's init_params, dis_init "uniform"
                torch.nn.init.uniform_(param, a=-0.05, b=0.05)

        def get_feature(self, inp):  # type: ignore[no-untyped-def]
            emb = self.embeddings(inp).unsqueeze(1)
            convs = [F.relu(conv(emb)).squeeze(3) for conv in self.convs]
            pools = [F.max_pool1d(conv, conv.size(2)).squeeze(2) for conv in convs]
            pred = torch.cat(pools, 1)
            gate = torch.sigmoid(self.gate(pred))
            return gate * F.relu(self.highway(pred)) + (1.0 - gate) * pred

    torch.manual_seed(0)
    n = cfg.samples_num
    oracle = Oracle(32, 32, cfg.vocab_size, cfg.max_seq_len, cfg.padding_idx, gpu=False)
    gen = SeqGAN_G(cfg.gen_embed_dim, cfg.gen_hidden_dim, cfg.vocab_size, cfg.max_seq_len,
                   cfg.padding_idx, gpu=False)
    oracle_samples = oracle.sample(n, 4 * cfg.batch_size)
    dis_data = DisDataIter(oracle_samples, gen.sample(n, 4 * cfg.batch_size))
    warm = DisDataIter(oracle_samples[:128], oracle_samples[128:256])  # 4 batches
    inst = object.__new__(BasicInstructor)
    criterion = torch.nn.CrossEntropyLoss()
    kinds = {"textgan": SeqGAN_D, "textgan_paper_highway": PaperHighwayD}
    for name in args.variants.split(","):
        dis = kinds[name](cfg.dis_embed_dim, cfg.vocab_size, cfg.padding_idx, gpu=False)
        opt = torch.optim.Adam(dis.parameters(), lr=cfg.dis_lr)
        params = sum(p.numel() for p in dis.parameters())
        measure(name, "d_epoch",
                lambda dis=dis, opt=opt: inst.train_dis_epoch(dis, dis_data.loader, criterion,
                                                              opt),
                args.repeats, args.threads, f"{len(dis_data.loader)} batches, D of "
                f"{params / 1e6:.2f} M parameters",
                warm_up=lambda dis=dis, opt=opt: inst.train_dis_epoch(dis, warm.loader,
                                                                      criterion, opt))


if __name__ == "__main__":
    main()
