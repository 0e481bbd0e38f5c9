#!/usr/bin/python3
"""gen_model_fixtures.py - whole-model training parity fixtures for lmnas'
training engine, from PyTorch (Debian python3-torch 1.13) and the twin in
tools/arch_torch.py.

For each architecture: the initial state_dict (PyTorch layout), a few fixed
batches (inputs NHWC, labels, teacher logits), and the loss of each of STEPS
SGD steps (momentum 0.9, Nesterov, weight decay on conv/linear weights only)
under the distillation loss with label smoothing, then the parameters and BN
running statistics after the last step.

Files: tests/fixtures/model/<name>.json (arch, hyper-parameters, tensor table,
losses) and <name>.bin (float32 little-endian): every state_dict tensor at
the start (table order, num_batches_tracked skipped), then the inputs
(NB, N, R, R, C), labels (NB, N) as floats, teacher logits (NB, N, K), then
every tensor again after the last step. Step s uses batch s % NB."""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from arch_torch import ArchNet  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "model")
STEPS, NB, N = 20, 5, 4
LR, MOM, WD = 0.05, 0.9, 5e-4
ALPHA, T, SMOOTH = 0.5, 4.0, 0.1


def stage(block, out, layers, kernel, stride, expand, se, skip, act):
    return {"block": block, "out": out, "layers": layers, "kernel": kernel,
            "stride": stride, "expand": expand, "se": se, "skip": skip,
            "act": act}


ARCHS = [
    {"format": "lmnas-arch/1", "name": "mb_se_proj", "input": {"resolution": 16, "channels": 3},
     "stem": {"out": 8, "kernel": 3, "stride": 2, "act": "relu6"},
     "stages": [stage("mbconv", 8, 2, 3, 1, 2, 0.25, "residual", "swish"),
                stage("mbconv", 12, 1, 5, 1, 3, 0.5, "residual", "hswish"),
                stage("dwsep", 16, 2, 3, 2, 1, 0.0, "residual", "leakyrelu")],
     "head": {"dropout": 0.0, "classes": 10}},
    {"format": "lmnas-arch/1", "name": "dwsep_nostem", "input": {"resolution": 12, "channels": 3},
     "stem": None,
     "stages": [stage("dwsep", 8, 1, 3, 2, 1, 0.5, "none", "relu"),
                stage("mbconv", 8, 2, 3, 1, 2, 0.0, "residual", "relu6"),
                stage("mbconv", 12, 1, 3, 1, 2, 0.25, "residual", "leakyrelu"),
                stage("dwsep", 16, 1, 5, 2, 1, 0.0, "none", "swish")],
     "head": {"dropout": 0.0, "classes": 7}},
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for arch in ARCHS:
        torch.manual_seed(42)
        net = ArchNet(arch)
        # a non-trivial start for BN: random gamma/beta
        with torch.no_grad():
            for mod in net.modules():
                if isinstance(mod, torch.nn.BatchNorm2d):
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.2, 0.2)
        names = [k for k in net.state_dict() if not k.endswith("num_batches_tracked")]
        start = {k: v.detach().clone() for k, v in net.state_dict().items()}
        r, c, k = arch["input"]["resolution"], arch["input"]["channels"], arch["head"]["classes"]
        xs = torch.randn(NB, N, c, r, r)
        ys = torch.randint(0, k, (NB, N))
        ts = torch.randn(NB, N, k) * 3.0
        decay = [p for n, p in net.named_parameters()
                 if n.endswith(".weight") and ".bn." not in n]
        no_decay = [p for n, p in net.named_parameters()
                    if not (n.endswith(".weight") and ".bn." not in n)]
        opt = torch.optim.SGD([{"params": decay, "weight_decay": WD},
                               {"params": no_decay, "weight_decay": 0.0}],
                              lr=LR, momentum=MOM, nesterov=True)
        net.train()
        losses = []
        for s in range(STEPS):
            b = s % NB
            logits = net(xs[b].double().float())
            ce = F.cross_entropy(logits, ys[b], label_smoothing=SMOOTH)
            kl = F.kl_div(F.log_softmax(logits / T, 1), F.softmax(ts[b] / T, 1),
                          reduction="batchmean")
            loss = ALPHA * ce + (1 - ALPHA) * T * T * kl
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        end = net.state_dict()
        table = [{"name": n, "shape": list(start[n].shape)} for n in names]
        meta = {"made_by": "tools/gen_model_fixtures.py with torch " + torch.__version__,
                "arch": arch, "steps": STEPS, "batches": NB, "batch": N,
                "lr": LR, "momentum": MOM, "nesterov": True, "weight_decay": WD,
                "alpha": ALPHA, "temperature": T, "smoothing": SMOOTH,
                "tensors": table, "losses": losses}
        with open(os.path.join(OUT, arch["name"] + ".json"), "w") as f:
            json.dump(meta, f, indent=1)
        with open(os.path.join(OUT, arch["name"] + ".bin"), "wb") as f:
            for n in names:
                f.write(start[n].float().numpy().astype("<f4").tobytes())
            f.write(xs.permute(0, 1, 3, 4, 2).contiguous().numpy().astype("<f4").tobytes())
            f.write(ys.float().numpy().astype("<f4").tobytes())
            f.write(ts.numpy().astype("<f4").tobytes())
            for n in names:
                f.write(end[n].float().numpy().astype("<f4").tobytes())
        print(arch["name"], "losses", losses[0], "->", losses[-1])


if __name__ == "__main__":
    main()
