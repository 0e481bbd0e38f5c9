#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""flash_calibrate.py - measures the flash of generated MCU projects to
calibrate the cost model's code constants (service/cost/cost.h: COST_BASE_*,
COST_KERNEL_*, COST_OP_*), and prints estimate vs arm-none-eabi-size.

For a set of seeded random architectures (and tools/parity_arch.json) it runs
`lmnas export --arch A --target T --out DIR` (untrained weights, random
calibration: sizes do not depend on the values), builds the project with the
project's own flags plus -g, and attributes every symbol of the ELF to its
source file with `arm-none-eabi-nm -S -l`:
  - kernels/<family>.c           -> COST_KERNEL_<family> (constant per family)
  - model.c                      -> fitted to ops of each kind (least squares)
  - main/console/board/startup/system/semihost, libc, shared inline headers
    and padding                  -> COST_BASE_<target>
model_weights.c and test_data.c are exact byte counts and not fitted.
Usage: tools/flash_calibrate.py [LMNAS_BINARY] (default build/release/lmnas).
Needs numpy (Debian python3-numpy, as with /usr/bin/python3's torch)."""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np

LMNAS = sys.argv[1] if len(sys.argv) > 1 else "build/release/lmnas"
KINDS = ["conv2d", "conv1x1", "depthwise", "linear", "gap", "mul", "add"]
ACTS = ["relu", "relu6", "leakyrelu", "swish", "hswish"]


def random_arch(rng, i):
    stages = []
    for _ in range(rng.randint(1, 4)):
        block = rng.choice(["dwsep", "mbconv"])
        st = {"block": block, "out": rng.choice([8, 12, 16, 24, 32]),
              "layers": rng.randint(1, 3), "kernel": rng.choice([3, 5, 7]),
              "stride": rng.choice([1, 2]), "se": rng.choice([0, 0.25, 0.5]),
              "skip": rng.choice(["none", "residual"]),
              "act": rng.choice(ACTS)}
        if block == "mbconv":
            st["expand"] = rng.randint(1, 4)
        stages.append(st)
    arch = {"format": "lmnas-arch/1", "name": f"cal{i}",
            "input": {"resolution": rng.choice([16, 24, 32]), "channels": 3},
            "stages": stages,
            "head": {"classes": rng.choice([10, 100])}}
    if rng.random() < 0.7:
        arch["stem"] = {"out": rng.choice([8, 16]), "kernel": 3,
                        "stride": rng.choice([1, 2]),
                        "act": rng.choice(ACTS)}
    return arch


# prefixes of kernel functions in top-level assembly -> their family's file
ASM_SYMBOLS = {"s8_pw_asm_": "pointwise_conv2d_s8.c"}


def nm_by_file(elf):
    out = subprocess.run(["arm-none-eabi-nm", "-S", "-l", elf],
                         capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) < 4 or p[2] not in "tTrRdD":
            continue
        f = os.path.basename(p[4].split(":")[0]) if len(p) > 4 else "?"
        # functions written in top-level assembly have no line info
        f = ASM_SYMBOLS.get(p[3].split("_asm_")[0] + "_asm_", f)
        sizes[f] = sizes.get(f, 0) + int(p[1], 16)
    return sizes


def size_of(elf):
    out = subprocess.run(["arm-none-eabi-size", elf], capture_output=True,
                         text=True, check=True).stdout.splitlines()[1].split()
    return int(out[0]) + int(out[1])


def main():
    rng = random.Random(7)
    archs = [random_arch(rng, i) for i in range(24)]
    with open("tools/parity_arch.json") as f:
        archs.append(json.load(f))
    rows = []
    tmp = tempfile.mkdtemp(prefix="lmnas-flashcal-")
    for target in ["stm32h743", "qemu"]:
        for i, arch in enumerate(archs):
            ap = os.path.join(tmp, f"a{i}.json")
            with open(ap, "w") as f:
                json.dump(arch, f)
            d = os.path.join(tmp, f"{target}{i}")
            r = subprocess.run([LMNAS, "export", "--arch", ap, "--target",
                                target, "--out", d, "--calib", "4"],
                               capture_output=True, text=True)
            if r.returncode:
                print("skip", arch["name"], r.stderr.strip()[-200:])
                continue
            subprocess.run(["make", "-s", "-C", d, f"TARGET={target}",
                            "EXTRA_CFLAGS=-g"], check=True,
                           capture_output=True)
            elf = os.path.join(d, "build", target, "model.elf")
            rep = json.load(open(os.path.join(d, "report.json")))
            kinds = [op["kind"] for op in rep["cost"]["ops"]]
            rows.append({"target": target, "arch": arch["name"],
                         "files": nm_by_file(elf), "size": size_of(elf),
                         "estimate": rep["flash"]["estimate"],
                         "test_data": rep["flash"]["test_data"],
                         "kinds": kinds,
                         "luts": rep["flash"]["estimate"]["luts"] // 256})
    # kernel families: the same code in every project that uses them
    fam = {}
    for r in rows:
        for f, s in r["files"].items():
            if f.endswith("_s8.c") or f == "mat_mult_s8_s16.c":
                fam.setdefault(f, set()).add(s)
    print("kernel families (bytes, all values seen):")
    for f in sorted(fam):
        print(f"  {f:28s} {sorted(fam[f])}")
    # the requantization of GAP, MUL and ADD (counted under "requant") sits
    # in model.c's parameter structs: take it out of model.c before fitting
    for r in rows:
        e = r["estimate"]
        in_weights = (r["files"].get("model_weights.c", 0) - e["weights"] -
                      e["biases"] - e["luts"])
        r["model_c"] = r["files"].get("model.c", 0) - (e["requant"] -
                                                       in_weights)
    # model.c: least squares over op counts per kind + LUT calls
    X, y = [], []
    for r in rows:
        X.append([r["kinds"].count(k) for k in KINDS] + [r["luts"]])
        y.append(r["model_c"])
    coef, *_ = np.linalg.lstsq(np.array(X, float), np.array(y, float),
                               rcond=None)
    print("model.c per op:", {k: round(c, 1) for k, c in
                              zip(KINDS + ["lut"], coef)})
    # base: everything that is not the network, its data or a kernel
    for target in ["stm32h743", "qemu"]:
        base = []
        for r in rows:
            if r["target"] != target:
                continue
            data = sum(r["estimate"][k] for k in
                       ("weights", "biases", "requant", "luts"))
            kern = sum(s for f, s in r["files"].items()
                       if f.endswith("_s8.c") or f == "mat_mult_s8_s16.c")
            base.append(r["size"] - r["test_data"] - data - kern -
                        r["model_c"])
        print(f"base {target}: min {min(base)} max {max(base)} "
              f"mean {sum(base) / len(base):.0f}")
    print("\nestimate (current cost.h) vs arm-none-eabi-size - test data:")
    worst = 0
    for r in rows:
        meas = r["size"] - r["test_data"]
        est = r["estimate"]["total"]
        dev = 100.0 * (est - meas) / meas
        worst = max(worst, abs(dev))
        print(f"  {r['target']:9s} {r['arch']:9s} estimate {est:8d} "
              f"measured {meas:8d} {dev:+6.2f}%")
    print(f"worst deviation {worst:.2f}%")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
