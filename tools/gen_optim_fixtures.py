#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""gen_optim_fixtures.py - reference values for lmnas' SGD and gradient
clipping, from PyTorch (Debian python3-torch 1.13).

Writes tests/fixtures/train/sgd.txt: for each case, a header line
  case <name> <n> <steps> <lr> <momentum> <nesterov> <wd> <clip>
then the decay mask (n ints), the initial params (n floats), then per step the
gradient (n floats) followed by the params after that step (n floats).
Parameters 0..n/2-1 are decayed, the rest are not (two param groups)."""
import os
import torch

torch.manual_seed(1234)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "train", "sgd.txt")


def case(f, name, n, steps, lr, mom, nesterov, wd, clip):
    half = n // 2
    p0 = torch.randn(n, dtype=torch.float32)
    a = p0[:half].clone().requires_grad_(True)
    b = p0[half:].clone().requires_grad_(True)
    opt = torch.optim.SGD([{"params": [a], "weight_decay": wd},
                           {"params": [b], "weight_decay": 0.0}],
                          lr=lr, momentum=mom, nesterov=nesterov)
    f.write(f"case {name} {n} {steps} {lr!r} {mom!r} {int(nesterov)} {wd!r} {clip!r}\n")
    f.write(" ".join(["1"] * half + ["0"] * (n - half)) + "\n")
    f.write(" ".join(f"{v:.9g}" for v in p0.tolist()) + "\n")
    for _ in range(steps):
        g = torch.randn(n, dtype=torch.float32) * 3.0
        f.write(" ".join(f"{v:.9g}" for v in g.tolist()) + "\n")
        a.grad = g[:half].clone()
        b.grad = g[half:].clone()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_([a, b], clip)
        opt.step()
        after = torch.cat([a.detach(), b.detach()])
        f.write(" ".join(f"{v:.9g}" for v in after.tolist()) + "\n")


with open(OUT, "w") as f:
    case(f, "momentum", 64, 5, 0.1, 0.9, False, 5e-4, 0.0)
    case(f, "nesterov", 37, 6, 0.05, 0.9, True, 1e-3, 0.0)
    case(f, "plain", 16, 3, 0.5, 0.0, False, 0.0, 0.0)
    case(f, "clipped", 50, 4, 0.1, 0.9, True, 5e-4, 2.0)
print("wrote", OUT)
