#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench_train_torch.py - PyTorch's training step on an lmnas-arch/1
architecture, the reference that tests/bench/bench_train.c is compared with
(tests/bench/bench_train.sh runs both). Run with /usr/bin/python3 (Debian
python3-torch 1.13).

One step is what lmnas' trainer does: forward, distillation loss against
random teacher logits (alpha * CE with label smoothing + (1 - alpha) * T^2 *
KL), zero_grad, backward, SGD (momentum 0.9, Nesterov, weight decay 5e-4 on
conv/linear weights only). The model (tools/arch_torch.py) and the input are
in channels_last memory format, PyTorch's fastest CPU layout (oneDNN
convolutions). glibc's malloc settings come from the environment:
tests/bench/bench_train.sh runs this script both with the caching-allocator
setting (MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184
MALLOC_TOP_PAD_=1073741824, PyTorch's best CPU configuration here: without it
every step's big buffers go back to the OS and fault in again) and without.
Warm-up steps, then timed steps; prints one line

  torch arch=NAME res=R batch=N threads=T steps=S img_s=X step_ms=Y
        best_ms=B cpu_ms=C peak_rss_mib=Z

with best_ms the fastest single step (the least disturbed by other load on
the machine), cpu_ms the process CPU time per step (user + system) and
peak_rss_mib
from getrusage (the whole process: interpreter and libraries included, as
for the C side)."""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arch_torch import ArchNet  # noqa: E402

ALPHA, T, SMOOTH = 0.5, 4.0, 0.1
LR, MOM, WD = 0.01, 0.9, 5e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arch")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-channels-last", action="store_true",
                    help="keep the default NCHW layout")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    with open(args.arch) as f:
        arch = json.load(f)
    net = ArchNet(arch)
    r, c = net.resolution, net.channels
    k = arch["head"]["classes"]
    n = args.batch
    fmt = torch.contiguous_format if args.no_channels_last else torch.channels_last
    net = net.to(memory_format=fmt)
    x = torch.randn(n, c, r, r).contiguous(memory_format=fmt)
    y = torch.randint(0, k, (n,))
    t = torch.randn(n, k) * 3.0

    decay = [p for name, p in net.named_parameters()
             if name.endswith(".weight") and ".bn." not in name]
    no_decay = [p for name, p in net.named_parameters()
                if not (name.endswith(".weight") and ".bn." not in name)]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": WD},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=LR, momentum=MOM, nesterov=True)
    net.train()
    soft_t = F.softmax(t / T, 1)

    def step():
        logits = net(x)
        ce = F.cross_entropy(logits, y, label_smoothing=SMOOTH)
        kl = F.kl_div(F.log_softmax(logits / T, 1), soft_t,
                      reduction="batchmean")
        loss = ALPHA * ce + (1 - ALPHA) * T * T * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    for _ in range(args.warmup):
        step()
    c0 = cpu()
    t0 = time.perf_counter()
    best = float("inf")
    for _ in range(args.steps):
        ts = time.perf_counter()
        loss = step()
        best = min(best, time.perf_counter() - ts)
    secs = time.perf_counter() - t0
    cpu_s = cpu() - c0
    if loss != loss:
        print("bench_train_torch: the loss is NaN", file=sys.stderr)
        return 1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch arch={arch.get('name', '')} res={r} batch={n} "
          f"threads={args.threads} steps={args.steps} "
          f"img_s={n * args.steps / secs:.1f} "
          f"step_ms={1000.0 * secs / args.steps:.1f} "
          f"best_ms={1000.0 * best:.1f} "
          f"cpu_ms={1000.0 * cpu_s / args.steps:.1f} peak_rss_mib={rss:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
