#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""gen_data_fixtures.py - fixtures for the data module's tests, made with
PyTorch and NumPy (Debian python3-torch 1.13, python3-numpy 1.24).

Run from the repository root:  /usr/bin/python3 tools/gen_data_fixtures.py
Writes tests/fixtures/data/:

bilinear.bin (all little-endian) -- normalization + bilinear resize reference:
  char magic[4] = "LMBL"; int32 version = 1
  int32 K; uint8 images[K][32][32][3]      random HWC images (seed 1234)
  float32 mean[3], std[3]                  CIFAR-100 training statistics
  int32 ncases; then per case:
    int32 image, out_h, out_w, nrows; int32 rows[nrows]
    float32 out[nrows][out_w][3]           the listed output rows, HWC
  out = F.interpolate(Normalize(ToTensor(img)), size=(out_h, out_w),
                      mode='bilinear', align_corners=False), i.e.
  x = img / 255 (float32), (x - mean) / std, then the resize. out_h = 32 is the
  identity resize: it checks the normalization alone. Only some rows of the
  large outputs are stored (the first three, the last three and six others)
  to keep the file small; all columns are stored.

logits_*.npy -- np.save / np.lib.format.write_array files of shape (6, 10)
  with value[i][j] = (i * 10 + j) * 0.25 - 7.5 (exact in float16):
  logits_f4_v1.npy ('<f4', format 1.0), logits_f2_v1.npy ('<f2', 1.0),
  logits_f4_v2.npy ('<f4', 2.0), logits_f2_v3.npy ('<f2', 3.0);
  and files numpy writes that the reader must refuse:
  bad_fortran.npy (fortran_order True), bad_f8.npy ('<f8'),
  bad_be.npy ('>f4'), bad_3d.npy (shape (2, 3, 10)).
"""
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                   "tests", "fixtures", "data")
MEAN = [0.50708, 0.48655, 0.44092]
STD = [0.26733, 0.25644, 0.27615]
SIZES = [32, 40, 24, 16, 64, 96, 160]


def normalize(img):
    x = torch.from_numpy(img).permute(2, 0, 1).float().div(255)
    mean = torch.tensor(MEAN, dtype=torch.float32)[:, None, None]
    std = torch.tensor(STD, dtype=torch.float32)[:, None, None]
    return x.sub(mean).div(std)


def rows_for(r, rng):
    if r <= 40:
        return list(range(r))
    middle = sorted(rng.choice(np.arange(3, r - 3), size=6, replace=False))
    return [0, 1, 2] + [int(v) for v in middle] + [r - 3, r - 2, r - 1]


def bilinear():
    rng = np.random.default_rng(1234)
    images = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    blob = bytearray(b"LMBL" + struct.pack("<i", 1))
    blob += struct.pack("<i", len(images)) + images.tobytes()
    blob += struct.pack("<3f", *MEAN) + struct.pack("<3f", *STD)
    cases = [(i, r) for i in range(len(images)) for r in SIZES]
    blob += struct.pack("<i", len(cases))
    for i, r in cases:
        x = normalize(images[i])[None]
        y = F.interpolate(x, size=(r, r), mode="bilinear",
                          align_corners=False)[0].permute(1, 2, 0)
        y = y.contiguous().numpy().astype("<f4")
        rows = rows_for(r, rng)
        blob += struct.pack("<4i", i, r, r, len(rows))
        blob += struct.pack("<%di" % len(rows), *rows)
        blob += y[rows].tobytes()
    with open(os.path.join(OUT, "bilinear.bin"), "wb") as f:
        f.write(blob)


def write_npy(name, arr, version):
    with open(os.path.join(OUT, name), "wb") as f:
        np.lib.format.write_array(f, arr, version=version)


def npy():
    v = (np.arange(60, dtype=np.float64).reshape(6, 10) * 0.25 - 7.5)
    write_npy("logits_f4_v1.npy", v.astype("<f4"), (1, 0))
    write_npy("logits_f2_v1.npy", v.astype("<f2"), (1, 0))
    write_npy("logits_f4_v2.npy", v.astype("<f4"), (2, 0))
    write_npy("logits_f2_v3.npy", v.astype("<f2"), (3, 0))
    write_npy("bad_fortran.npy", np.asfortranarray(v.astype("<f4")), (1, 0))
    write_npy("bad_f8.npy", v.astype("<f8"), (1, 0))
    write_npy("bad_be.npy", v.astype(">f4"), (1, 0))
    write_npy("bad_3d.npy", v.astype("<f4").reshape(2, 3, 10), (1, 0))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    bilinear()
    npy()
    print("torch", torch.__version__, "numpy", np.__version__, "->", OUT)
