#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""gen_cost_fixtures.py - reference MACs and parameter counts for lmnas' cost
model, from the PyTorch twin (tools/arch_torch.py, Debian python3-torch 1.13).

Writes tests/fixtures/cost/<name>.json, one per architecture:
  {"made_by": ..., "arch": {lmnas-arch/1 object},
   "macs": forward-hook MACs on Conv2d and Linear (batch 1),
   "params_trainable": sum(p.numel() for p in model.parameters()),
   "params_deployed": BN folded: conv/linear weights + one bias per output
                      channel,
   "layers": [[module path, macs, [H, W, C] of its output], ...] in call order}

Together the cases cover: both blocks, SE at 0.25 and 0.5 (and tiny widths
where floor(C*r) < 1), residual with and without projection, with and without
stem, every activation, kernels 1..7, resolutions 32 and 160 (plus an odd one),
10 and 100 classes."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arch_torch import ArchNet, count_macs, count_params  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                   "fixtures", "cost")


def stage(block, out, layers, kernel, stride, expand, se, skip, act):
    return {"block": block, "out": out, "layers": layers, "kernel": kernel,
            "stride": stride, "expand": expand, "se": se, "skip": skip,
            "act": act}


def arch(name, resolution, stem, stages, classes, channels=3, dropout=0.2):
    return {"format": "lmnas-arch/1", "name": name,
            "input": {"resolution": resolution, "channels": channels},
            "stem": stem, "stages": stages,
            "head": {"dropout": dropout, "classes": classes}}


def stem(out, kernel, stride, act):
    return {"out": out, "kernel": kernel, "stride": stride, "act": act}


CASES = [
    # MobileNetV2-like on CIFAR: mbconv, relu6, identity and projected residuals
    arch("mbv2_c10_32", 32, stem(16, 3, 1, "relu6"), [
        stage("mbconv", 16, 1, 3, 1, 1, 0.0, "residual", "relu6"),
        stage("mbconv", 24, 2, 3, 2, 6, 0.0, "residual", "relu6"),
        stage("mbconv", 32, 2, 5, 1, 4, 0.0, "residual", "relu6"),
    ], 10),
    # dwsep everywhere, no stem, relu, no skip, 100 classes
    arch("dwsep_c100_32_nostem", 32, None, [
        stage("dwsep", 16, 1, 3, 1, 1, 0.0, "none", "relu"),
        stage("dwsep", 32, 2, 3, 2, 1, 0.0, "none", "relu"),
        stage("dwsep", 64, 2, 3, 2, 1, 0.0, "none", "relu"),
    ], 100, dropout=0.0),
    # SE 0.25 with swish, EfficientNet-like, residual with projection at stride 1
    arch("effnet_se25_c10_160", 160, stem(24, 3, 2, "swish"), [
        stage("mbconv", 16, 1, 3, 1, 1, 0.25, "residual", "swish"),
        stage("mbconv", 24, 2, 3, 2, 6, 0.25, "residual", "swish"),
        stage("mbconv", 40, 2, 5, 2, 6, 0.25, "residual", "swish"),
        stage("mbconv", 48, 1, 3, 1, 4, 0.25, "residual", "swish"),
        stage("mbconv", 80, 2, 3, 2, 6, 0.25, "residual", "swish"),
    ], 10),
    # SE 0.5 with hswish, MobileNetV3-like, 100 classes at 160
    arch("mbv3_se50_c100_160", 160, stem(16, 3, 2, "hswish"), [
        stage("dwsep", 16, 1, 3, 2, 1, 0.5, "none", "relu"),
        stage("mbconv", 24, 2, 3, 2, 4, 0.0, "residual", "relu"),
        stage("mbconv", 40, 3, 5, 2, 3, 0.5, "residual", "hswish"),
        stage("mbconv", 80, 2, 3, 2, 6, 0.5, "residual", "hswish"),
    ], 100),
    # leakyrelu, dwsep residual: identity at stride 1, projection at 16 -> 24
    arch("dwsep_res_leaky_c10_32", 32, stem(16, 5, 1, "leakyrelu"), [
        stage("dwsep", 16, 2, 3, 1, 1, 0.25, "residual", "leakyrelu"),
        stage("dwsep", 24, 2, 5, 1, 1, 0.0, "residual", "leakyrelu"),
        stage("dwsep", 48, 1, 7, 2, 1, 0.5, "residual", "leakyrelu"),
    ], 10),
    # no stem, mbconv first on the raw input (3 channels: SE floor(3*r) < 1)
    arch("mbconv_nostem_tinyse_c100_32", 32, None, [
        stage("mbconv", 8, 1, 3, 1, 1, 0.25, "residual", "swish"),
        stage("mbconv", 8, 2, 1, 1, 2, 0.5, "residual", "relu6"),
        stage("mbconv", 16, 1, 3, 2, 2, 0.25, "none", "hswish"),
    ], 100),
    # every activation in one network, mixed blocks, 160, odd sizes after /2
    arch("mixed_acts_c10_160", 160, stem(8, 3, 2, "relu"), [
        stage("dwsep", 8, 1, 3, 1, 1, 0.0, "residual", "relu6"),
        stage("mbconv", 16, 2, 3, 2, 3, 0.25, "residual", "leakyrelu"),
        stage("mbconv", 24, 2, 5, 2, 4, 0.5, "residual", "swish"),
        stage("dwsep", 32, 1, 3, 2, 1, 0.25, "none", "hswish"),
        stage("mbconv", 48, 2, 3, 2, 2, 0.0, "residual", "relu"),
        stage("mbconv", 64, 1, 3, 2, 2, 0.5, "residual", "relu6"),
    ], 10),
    # wide MCUNet-ish at 160 with 7x7 kernels, 100 classes, grayscale input
    arch("wide_k7_gray_c100_160", 160, stem(32, 3, 2, "relu6"), [
        stage("mbconv", 32, 1, 7, 1, 2, 0.0, "residual", "relu6"),
        stage("mbconv", 48, 2, 7, 2, 3, 0.0, "residual", "relu6"),
        stage("dwsep", 96, 2, 5, 2, 1, 0.5, "residual", "swish"),
    ], 100, channels=1),
    # odd resolution, stride-2 stem with 7x7, projected residual everywhere
    arch("odd_res_proj_c10_45", 45, stem(12, 7, 2, "hswish"), [
        stage("mbconv", 20, 2, 3, 1, 2, 0.25, "residual", "swish"),
        stage("dwsep", 28, 1, 5, 1, 1, 0.5, "residual", "leakyrelu"),
        stage("mbconv", 36, 2, 3, 2, 3, 0.0, "residual", "relu"),
    ], 10, dropout=0.5),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    for a in CASES:
        model = ArchNet(a)
        macs, rows = count_macs(model)
        trainable, deployed = count_params(model)
        doc = {"made_by": "tools/gen_cost_fixtures.py with torch "
                          + torch.__version__,
               "arch": a, "macs": macs, "params_trainable": trainable,
               "params_deployed": deployed,
               "layers": [[n, m, s] for n, m, s in rows]}
        path = os.path.join(OUT, a["name"] + ".json")
        layers = doc.pop("layers")
        text = json.dumps(doc, indent=1)[:-2]  # reopen the object
        text += ',\n "layers": [\n  ' + ",\n  ".join(
            json.dumps(r) for r in layers) + "\n ]\n}\n"
        json.loads(text)  # the hand-joined text must still be JSON
        with open(path, "w") as f:
            f.write(text)
        print(f"{a['name']:32s} macs {macs:>11d} trainable {trainable:>8d} "
              f"deployed {deployed:>8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
