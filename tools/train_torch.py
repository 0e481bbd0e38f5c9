#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""train_torch.py - the PyTorch reference training run for lmnas' accuracy
parity check: the same architecture (tools/arch_torch.py), the same recipe as
`lmnas train` (service/train/loop.c), on the CIFAR binary files.

Recipe (lmnas defaults): stratified 5% validation split held out of the
training set; augmentation random crop 32 with 4 px zero padding + horizontal
flip, normalisation with the data set's statistics; batch 128 (last partial
batch dropped); SGD momentum 0.9 Nesterov, weight decay 5e-4 on conv/linear
weights only; learning rate warmup over 1 epoch from 0.1x, then cosine to 0,
per step; label smoothing 0.1; Kaiming-normal (fan_out) conv init, N(0, 0.01)
linear, zero biases. Test top-1 on the whole test set at the end.

Usage: train_torch.py ARCH.json DATA_DIR [--epochs 15] [--lr 0.05]
       [--threads 2] [--seed 1] [--dataset cifar100]
Prints one JSON line per epoch and a final {"test_top1": ...} line."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from arch_torch import ArchNet  # noqa: E402

STATS = {"cifar100": ((0.50708, 0.48655, 0.44092), (0.26733, 0.25644, 0.27615)),
         "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}


def load(path, kind):
    rec = 3074 if kind == "cifar100" else 3073
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, rec)
    labels = raw[:, rec - 3073].astype(np.int64)
    pixels = raw[:, rec - 3072:].reshape(-1, 3, 32, 32)
    return pixels, labels


def split(labels, val_fraction, seed):
    rng = np.random.default_rng(seed)
    val, train = [], []
    for c in np.unique(labels):
        idx = np.nonzero(labels == c)[0]
        rng.shuffle(idx)
        nv = int(round(len(idx) * val_fraction))
        val.extend(idx[:nv])
        train.extend(idx[nv:])
    return np.array(sorted(train)), np.array(sorted(val))


def init(net):
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, 0, 0.01)
            torch.nn.init.zeros_(m.bias)


def batches(pixels, labels, idx, bs, mean, std, augment, rng, res):
    order = rng.permutation(idx) if augment else idx
    n = len(order) // bs * bs if augment else len(order)
    for s in range(0, n, bs):
        b = order[s:s + bs]
        x = torch.from_numpy(pixels[b]).float()
        if augment:
            x = F.pad(x, (4, 4, 4, 4))
            out = torch.empty(len(b), 3, 32, 32)
            dy = rng.integers(0, 9, len(b))
            dx = rng.integers(0, 9, len(b))
            flip = rng.random(len(b)) < 0.5
            for i in range(len(b)):
                crop = x[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
                out[i] = crop.flip(2) if flip[i] else crop
            x = out
        x = (x / 255.0 - mean) / std
        if res != 32:
            x = F.interpolate(x, size=(res, res), mode="bilinear",
                              align_corners=False)
        yield x.contiguous(memory_format=torch.channels_last), \
            torch.from_numpy(labels[b])


def evaluate(net, pixels, labels, idx, mean, std, res):
    net.eval()
    correct, total, loss = 0, 0, 0.0
    with torch.no_grad():
        for x, y in batches(pixels, labels, idx, 256, mean, std, False, None,
                            res):
            out = net(x)
            loss += F.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
    net.train()
    return correct / total, loss / total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("arch")
    ap.add_argument("data")
    ap.add_argument("--dataset", default="cifar100")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    with open(a.arch) as f:
        arch = json.load(f)
    net = ArchNet(arch).to(memory_format=torch.channels_last)
    init(net)
    res = arch["input"]["resolution"]
    mean = torch.tensor(STATS[a.dataset][0]).view(1, 3, 1, 1)
    std = torch.tensor(STATS[a.dataset][1]).view(1, 3, 1, 1)
    trp, trl = load(os.path.join(a.data, "train.bin"), a.dataset)
    tep, tel = load(os.path.join(a.data, "test.bin"), a.dataset)
    train_idx, val_idx = split(trl, 0.05, a.seed)
    decay = [p for n, p in net.named_parameters()
             if n.endswith(".weight") and ".bn." not in n]
    nodecay = [p for n, p in net.named_parameters()
               if not (n.endswith(".weight") and ".bn." not in n)]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                           {"params": nodecay, "weight_decay": 0.0}],
                          lr=a.lr, momentum=0.9, nesterov=True)
    spe = len(train_idx) // a.batch
    rng = np.random.default_rng(a.seed)
    step = 0
    for epoch in range(a.epochs):
        t0 = time.time()
        tot = 0.0
        for x, y in batches(trp, trl, train_idx, a.batch, mean, std, True,
                            rng, res):
            e = step / spe
            if e < 1.0:
                lr = a.lr * (0.1 + 0.9 * e)
            else:
                t = min(1.0, (e - 1.0) / max(1e-9, a.epochs - 1.0))
                lr = a.lr * 0.5 * (1 + math.cos(math.pi * t))
            for g in opt.param_groups:
                g["lr"] = lr
            loss = F.cross_entropy(net(x), y, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item()
            step += 1
        vacc, vloss = evaluate(net, trp, trl, val_idx, mean, std, res)
        print(json.dumps({"epoch": epoch + 1, "train_loss": tot / spe,
                          "val_top1": vacc, "val_loss": vloss,
                          "seconds": round(time.time() - t0, 1)}), flush=True)
    tacc, tloss = evaluate(net, tep, tel, np.arange(len(tel)), mean, std, res)
    print(json.dumps({"test_top1": tacc, "test_loss": tloss}), flush=True)


if __name__ == "__main__":
    main()
