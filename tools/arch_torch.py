#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""arch_torch.py - the PyTorch twin of an lmnas-arch/1 architecture: builds the
exact network described in service/arch/arch.h as an nn.Module, so that MACs,
parameter counts and (later) weights can be compared with and exchanged with
lmnas' C code. Run with /usr/bin/python3 (Debian python3-torch 1.13).

Module tree and parameter names (state_dict keys are these paths plus
".weight", ".bias", ".running_mean", ".running_var", ".num_batches_tracked"):

  stem.conv        Conv2d(channels, stem.out, k, stride s, pad k//2, no bias)
  stem.bn          BatchNorm2d(stem.out, eps 1e-5)
  stem.act         activation
  stages.{i}.{j}   block j of stage i (j = 0 has the stage's stride and maps
                   the previous width to `out`; the others are stride 1,
                   out -> out)
    .expand.conv   mbconv only: Conv2d(C_in, C_in*expand, 1, no bias)
    .expand.bn     BatchNorm2d
    .expand.act
    .dw.conv       Conv2d(C, C, k, stride s, pad k//2, groups C, no bias)
                   (C = C_in*expand for mbconv, C_in for dwsep)
    .dw.bn, .dw.act
    .se.reduce     SE only: Conv2d(C, max(1, floor(C*r)), 1, bias)
    .se.expand     Conv2d(max(1, floor(C*r)), C, 1, bias)
    .project.conv  Conv2d(C, out, 1, no bias)
    .project.bn    BatchNorm2d (no activation)
    .shortcut.conv residual with stride 1 and C_in != out only:
                   Conv2d(C_in, out, 1, no bias)
    .shortcut.bn   BatchNorm2d
  head.pool        AdaptiveAvgPool2d(1)
  head.dropout     Dropout(p)
  head.fc          Linear(C_last, classes, bias)

Forward of a block: y = expand(x) (mbconv), y = dw(y), y = y * sigmoid(
se.expand(relu(se.reduce(mean_hw(y))))) (SE), y = project(y), then when the
block has a residual (skip "residual" and stride 1): y = y + x, or y + shortcut(x)
when widths differ. Activations: relu, relu6, leakyrelu (slope 0.01),
swish (nn.SiLU), hswish (nn.Hardswish). The lmnas graph (service/graph) names
its ops with the same paths (without ".conv"), so C and PyTorch line up.

Note: an mbconv block always has its expand conv, also when expand == 1, as
arch.h says ("1x1 (C_in -> C_in*expand)")."""
import json
import math
import sys

import torch
from torch import nn

FORMAT = "lmnas-arch/1"


def make_act(name):
    if name == "relu":
        return nn.ReLU()
    if name == "relu6":
        return nn.ReLU6()
    if name == "leakyrelu":
        return nn.LeakyReLU(0.01)
    if name == "swish":
        return nn.SiLU()
    if name == "hswish":
        return nn.Hardswish()
    raise ValueError(f"unknown activation {name!r}")


class ConvBN(nn.Sequential):
    """conv (no bias) -> BN [-> act]; children named conv, bn, act."""

    def __init__(self, cin, cout, k, stride=1, groups=1, act=None):
        super().__init__()
        self.add_module("conv", nn.Conv2d(cin, cout, k, stride, k // 2,
                                          groups=groups, bias=False))
        self.add_module("bn", nn.BatchNorm2d(cout, eps=1e-5))
        if act is not None:
            self.add_module("act", make_act(act))


def se_channels(c, r):
    """max(1, floor(C*r)) computed in double precision, as the C code does."""
    return max(1, int(math.floor(c * r)))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        m = se_channels(c, r)
        self.reduce = nn.Conv2d(c, m, 1, bias=True)
        self.expand = nn.Conv2d(m, c, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = torch.relu(self.reduce(s))
        s = torch.sigmoid(self.expand(s))
        return x * s


class Block(nn.Module):
    def __init__(self, st, cin, stride):
        super().__init__()
        out, k, act = st["out"], st["kernel"], st["act"]
        c = cin
        self.expand = None
        if st["block"] == "mbconv":
            c = cin * st["expand"]
            self.expand = ConvBN(cin, c, 1, act=act)
        self.dw = ConvBN(c, c, k, stride, groups=c, act=act)
        self.se = SqueezeExcite(c, st["se"]) if st["se"] > 0 else None
        self.project = ConvBN(c, out, 1)
        self.residual = st["skip"] == "residual" and stride == 1
        self.shortcut = None
        if self.residual and cin != out:
            self.shortcut = ConvBN(cin, out, 1)

    def forward(self, x):
        y = x
        if self.expand is not None:
            y = self.expand(y)
        y = self.dw(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        if self.residual:
            y = y + (self.shortcut(x) if self.shortcut is not None else x)
        return y


class Head(nn.Module):
    def __init__(self, cin, dropout, classes):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, classes, bias=True)

    def forward(self, x):
        return self.fc(self.dropout(torch.flatten(self.pool(x), 1)))


def with_defaults(arch):
    """The lmnas-arch/1 object with the format's defaults filled in
    (service/arch/arch.h): input.channels 3; stem null, or kernel 3, stride
    2, act relu6; a stage's stride 1, expand 1, se 0, skip none, act relu6;
    head.dropout 0. Unknown keys are not checked here (lmnas' parser does)."""
    if arch.get("format") != FORMAT:
        raise ValueError(f"format is not {FORMAT}")
    inp = arch["input"]
    stem = arch.get("stem")
    out = {"name": arch.get("name", ""),
           "resolution": inp["resolution"], "channels": inp.get("channels", 3),
           "stem": None, "stages": [],
           "dropout": arch.get("head", {}).get("dropout", 0.0),
           "classes": arch["head"]["classes"]}
    if stem is not None:
        out["stem"] = {"out": stem["out"], "kernel": stem.get("kernel", 3),
                       "stride": stem.get("stride", 2),
                       "act": stem.get("act", "relu6")}
    for st in arch["stages"]:
        out["stages"].append({
            "block": st["block"], "out": st["out"], "layers": st["layers"],
            "kernel": st["kernel"], "stride": st.get("stride", 1),
            "expand": st.get("expand", 1), "se": st.get("se", 0.0),
            "skip": st.get("skip", "none"), "act": st.get("act", "relu6")})
    return out


class ArchNet(nn.Module):
    """The network of an lmnas-arch/1 object (see the module docstring)."""

    def __init__(self, arch):
        super().__init__()
        a = with_defaults(arch)
        self.resolution, self.channels = a["resolution"], a["channels"]
        c = a["channels"]
        self.stem = None
        if a["stem"] is not None:
            st = a["stem"]
            self.stem = ConvBN(c, st["out"], st["kernel"], st["stride"],
                               act=st["act"])
            c = st["out"]
        self.stages = nn.ModuleList()
        for st in a["stages"]:
            blocks = nn.ModuleList()
            for j in range(st["layers"]):
                stride = st["stride"] if j == 0 else 1
                blocks.append(Block(st, c, stride))
                c = st["out"]
            self.stages.append(blocks)
        self.head = Head(c, a["dropout"], a["classes"])

    def forward(self, x):
        if self.stem is not None:
            x = self.stem(x)
        for blocks in self.stages:
            for b in blocks:
                x = b(x)
        return self.head(x)


def count_macs(model):
    """MACs as forward hooks on Conv2d and Linear count them: conv
    out.numel() * in_channels/groups * kh*kw, linear in*out (batch 1).
    Returns (total, [(module path, macs, [H, W, C]) in call order])."""
    rows = []
    names = {m: n for n, m in model.named_modules()}

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            macs = out.numel() * (m.in_channels // m.groups) * kh * kw
            shape = [out.shape[2], out.shape[3], out.shape[1]]
        else:
            macs = m.in_features * m.out_features * (out.numel() // m.out_features)
            shape = [1, 1, m.out_features]
        rows.append((names[m], int(macs), [int(v) for v in shape]))

    hs = [m.register_forward_hook(hook) for m in model.modules()
          if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, model.channels, model.resolution,
                          model.resolution))
    for h in hs:
        h.remove()
    return sum(r[1] for r in rows), rows


def count_params(model):
    """(trainable, deployed): trainable is sum(p.numel()); deployed folds
    every BN into the conv before it (the conv gains one bias per output
    channel, the BN's gamma and beta disappear)."""
    trainable = sum(p.numel() for p in model.parameters())
    deployed = 0
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            out = m.out_channels if isinstance(m, nn.Conv2d) else m.out_features
            deployed += m.weight.numel() + out  # folded or own bias
    return int(trainable), int(deployed)


def main(argv):
    if len(argv) != 2:
        print("usage: arch_torch.py ARCH.json  (prints MACs and params)")
        return 2
    with open(argv[1]) as f:
        arch = json.load(f)
    model = ArchNet(arch)
    macs, rows = count_macs(model)
    trainable, deployed = count_params(model)
    for name, m, shape in rows:
        print(f"{name:32s} {m:12d}  {shape}")
    print(f"macs {macs} params_trainable {trainable} params_deployed {deployed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
