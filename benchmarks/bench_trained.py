"""Benchmark of training an early-exit network: the MNIST-1D convolutional ResNet of the campaign.

Usage::

    python benchmarks/bench_trained.py [--quick] [--threads N] [--seeds K] [--out PATH]

The recipe is the full profile's reference model of ``validation/trained_networks/regularizers.py``
(ConvResNet, 64 channels, 4 blocks, global pooling at the exits, MNIST-1D with 5000 signals: 3500 to
train, 500 to validate, 1000 to test; deep supervision; AdamW with a cosine schedule, 20 epochs). For
each seed it reports the test accuracy of the last exit and of the exit at half depth, and two times
measured side by side in one run:

* ``fit``: :func:`stochdepth.nn.fit` as the campaign calls it (validation pass every epoch, best epoch
  kept, checkpoints off);
* ``floor``: the same number of optimiser steps on the same batches in a bare torch loop (no validation,
  no bookkeeping), the least any trainer of this model could spend.

The issue asks for at least 94% test accuracy in under 3 minutes on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stochdepth import nn
from validation.trained_networks.regularizers import SIZES
from validation.trained_networks.zoo import build_model, dataset, make_loss


def _optimizer(recipe):
    return lambda params: torch.optim.AdamW(params, lr=recipe.lr, weight_decay=1e-4)


def _scheduler(recipe):
    return lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, recipe.epochs)


def time_fit(recipe, data, seed):
    model = build_model(recipe, data, seed)
    start = time.perf_counter()
    nn.fit(
        model, make_loss(recipe), (data.train.x, data.train.y), (data.val.x, data.val.y),
        epochs=recipe.epochs, batch_size=recipe.batch_size, seed=seed, optimizer=_optimizer(recipe),
        scheduler=_scheduler(recipe), progress=False, metric="val_accuracy", grad_clip=1.0,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        out = model(data.test.x)
    acc = (out.logits.argmax(-1) == data.test.y).double().mean(dim=1).numpy()
    return seconds, float(acc[-1]), float(acc[acc.size // 2 - 1])


def time_floor(recipe, data, seed):
    model = build_model(recipe, data, seed)
    loss = make_loss(recipe)
    opt = _optimizer(recipe)(model.parameters())
    sched = _scheduler(recipe)(opt)
    gen = np.random.default_rng(seed)
    x, y = data.train.x, data.train.y
    start = time.perf_counter()
    for _ in range(recipe.epochs):
        order = torch.from_numpy(gen.permutation(x.shape[0]))
        for a in range(0, x.shape[0], recipe.batch_size):
            idx = order[a : a + recipe.batch_size]
            opt.zero_grad()
            loss(model(x[idx]), y[idx]).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        sched.step()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick profile's smaller model, 1 seed")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds (full profile)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/results/bench_trained.json"),
        help="where the JSON results go",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = SIZES["quick" if args.quick else "full"].recipe
    seeds = 1 if args.quick else args.seeds
    data = dataset(recipe)
    rows = []
    for seed in range(seeds):
        fit_s, final, half = time_fit(recipe, data, seed)
        floor_s = time_floor(recipe, data, seed)
        rows.append({"seed": seed, "fit_s": fit_s, "floor_s": floor_s, "final": final, "half": half})
        print(
            f"seed {seed}: fit {fit_s:6.1f} s  floor {floor_s:6.1f} s  ratio {fit_s / floor_s:4.2f}  "
            f"test accuracy last exit {final:.4f}  half depth {half:.4f}",
            flush=True,
        )
    final = np.array([r["final"] for r in rows])
    fit_s = np.array([r["fit_s"] for r in rows])
    print(
        f"recipe {recipe.label}: last-exit accuracy {final.mean():.4f} (min {final.min():.4f}), "
        f"fit time median {np.median(fit_s):.1f} s (max {fit_s.max():.1f} s) on {args.threads} threads"
    )
    load = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"recipe": recipe.label, "threads": args.threads, "load": load, "runs": rows}, indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
