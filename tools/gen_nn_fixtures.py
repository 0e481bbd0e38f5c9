#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""gen_nn_fixtures.py - writes the PyTorch reference fixtures for
tests/unit/test_nn_layers.c into tests/fixtures/nn/.

Run with Debian's PyTorch: /usr/bin/python3 tools/gen_nn_fixtures.py
(torch 1.13; deterministic: fixed seed, CPU, float64).

How the references are made: every input (activations, weights, upstream
gradients) is drawn in float32, so the C code sees exactly the same values;
PyTorch then computes outputs and gradients in float64 from those values and
the results are rounded once to float32. A fixture is therefore the exact
answer to within half a float32 ulp, and the measured C error is the C code's
own float32 rounding, not a mix of two implementations' rounding.

File format (little-endian), one file per case, `<case>.bin`:
    magic    8 bytes  b"LMNF0001"
    count    u32      number of tensors
    count times:
      name   32 bytes ASCII, NUL-padded
      dtype  u32      0 = float32, 1 = int32
      ndim   u32
      dims   ndim x u32
      data   prod(dims) x 4 bytes
Layouts: activations NHWC; conv2d weights and their gradients in PyTorch's
(C_out, C_in, K, K) and depthwise in (C, 1, K, K), so the C test also checks
the layout converters. Every case has an int32 tensor "params" whose meaning
is listed per layer below. Activation ids follow enum nn_act in
service/nn/nn.h.
"""
import os
import struct
import sys

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                   "tests", "fixtures", "nn")
F32, I32 = 0, 1
ACT = {"none": 0, "relu": 1, "relu6": 2, "leakyrelu": 3, "swish": 4,
       "hswish": 5, "sigmoid": 6}
gen = torch.Generator().manual_seed(20240601)


def randn(*shape, scale=1.0):
    """float32 values, returned as float64 (exactly representable)."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) *
            scale).to(torch.float32).double()


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


def nchw(t):
    return t.permute(0, 3, 1, 2).contiguous()


def write(name, tensors):
    buf = bytearray(b"LMNF0001")
    buf += struct.pack("<I", len(tensors))
    for key, t in tensors.items():
        t = torch.as_tensor(t).detach()
        dtype = I32 if not t.is_floating_point() else F32
        arr = t.to(torch.int32 if dtype == I32 else torch.float32).contiguous()
        assert len(key) < 32, key
        buf += key.encode().ljust(32, b"\0")
        buf += struct.pack("<II", dtype, arr.dim())
        buf += struct.pack("<%dI" % arr.dim(), *arr.shape)
        buf += arr.numpy().astype("<f4" if dtype == F32 else "<i4").tobytes()
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(buf)
    return len(buf)


def act_fn(name):
    return {
        "none": lambda x: x,
        "relu": F.relu,
        "relu6": F.relu6,
        "leakyrelu": lambda x: F.leaky_relu(x, 0.01),
        "swish": F.silu,
        "hswish": F.hardswish,
        "sigmoid": torch.sigmoid,
    }[name]


# conv2d params: n h w cin cout k stride pad
def conv2d(name, n, h, w, cin, cout, k, stride, pad):
    x = randn(n, cin, h, w).requires_grad_()
    wt = randn(cout, cin, k, k, scale=(cin * k * k) ** -0.5).requires_grad_()
    y = F.conv2d(x, wt, stride=stride, padding=pad)
    dy = randn(*y.shape)
    y.backward(dy)
    return write(name, {
        "params": torch.tensor([n, h, w, cin, cout, k, stride, pad]),
        "x": nhwc(x), "w": wt, "y": nhwc(y), "dy": nhwc(dy),
        "dx": nhwc(x.grad), "dw": wt.grad})


# dwconv params: n h w c k stride pad
def dwconv(name, n, h, w, c, k, stride, pad):
    x = randn(n, c, h, w).requires_grad_()
    wt = randn(c, 1, k, k, scale=1.0 / k).requires_grad_()
    y = F.conv2d(x, wt, stride=stride, padding=pad, groups=c)
    dy = randn(*y.shape)
    y.backward(dy)
    return write(name, {
        "params": torch.tensor([n, h, w, c, k, stride, pad]),
        "x": nhwc(x), "w": wt, "y": nhwc(y), "dy": nhwc(dy),
        "dx": nhwc(x.grad), "dw": wt.grad})


# bn params: n h w c act
def bn(name, n, h, w, c, act):
    offset = randn(1, c, 1, 1, scale=2.0)
    spread = randn(1, c, 1, 1).abs() + 0.5
    x = (randn(n, c, h, w) * spread + offset).float().double().requires_grad_()
    gamma = (randn(c) * 0.5 + 1.0).float().double().requires_grad_()
    beta = randn(c, scale=0.5).requires_grad_()
    rm_in = randn(c, scale=0.1)
    rv_in = (randn(c).abs() + 0.5).float().double()
    rm, rv = rm_in.clone(), rv_in.clone()
    z = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1,
                     eps=1e-5)
    y = act_fn(act)(z)
    dy = randn(*y.shape)
    y.backward(dy)
    xd = x.detach()
    mean = xd.mean(dim=(0, 2, 3))
    var = xd.var(dim=(0, 2, 3), unbiased=False)
    with torch.no_grad():
        y_eval = act_fn(act)(F.batch_norm(xd, rm_in, rv_in, gamma, beta,
                                          training=False, eps=1e-5))
    return write(name, {
        "params": torch.tensor([n, h, w, c, ACT[act]]),
        "x": nhwc(x), "gamma": gamma, "beta": beta,
        "rm_in": rm_in, "rv_in": rv_in, "y": nhwc(y),
        "mean": mean, "rstd": 1.0 / torch.sqrt(var + 1e-5),
        "rm_out": rm, "rv_out": rv, "y_eval": nhwc(y_eval),
        "dy": nhwc(dy), "dx": nhwc(x.grad), "dgamma": gamma.grad,
        "dbeta": beta.grad})


# act params: count act. The input includes every kink exactly, so the
# gradient conventions at -3, 0, 3, 6 are compared too. The kinks come first:
# PyTorch 1.13's CPU kernels run a vectorised loop over the bulk of a tensor
# and a scalar loop over the last few elements, and for hardswish at x = 3
# the two disagree (vectorised 1, scalar 1.5); training tensors go through
# the vectorised one, so that is the convention fixed here.
def act(name, act_name, count):
    kinks = torch.tensor([-6.0, -3.0, 0.0, 3.0, 6.0, -1e-3, 1e-3],
                         dtype=torch.float32).double()
    x = torch.cat([kinks, randn(count - len(kinks), scale=4.0)])
    x.requires_grad_()
    y = act_fn(act_name)(x)
    dy = randn(count)
    y.backward(dy)
    return write(name, {"params": torch.tensor([count, ACT[act_name]]),
                        "x": x, "y": y, "dy": dy, "dx": x.grad})


# gap params: n h w c
def gap(name, n, h, w, c):
    x = randn(n, c, h, w).requires_grad_()
    y = x.mean(dim=(2, 3))
    dy = randn(n, c)
    y.backward(dy)
    return write(name, {"params": torch.tensor([n, h, w, c]), "x": nhwc(x),
                        "y": y, "dy": dy, "dx": nhwc(x.grad)})


# linear params: n cin cout
def linear(name, n, cin, cout):
    x = randn(n, cin).requires_grad_()
    wt = randn(cout, cin, scale=cin ** -0.5).requires_grad_()
    b = randn(cout).requires_grad_()
    y = F.linear(x, wt, b)
    dy = randn(n, cout)
    y.backward(dy)
    return write(name, {"params": torch.tensor([n, cin, cout]), "x": x,
                        "w": wt, "b": b, "y": y, "dy": dy, "dx": x.grad,
                        "dw": wt.grad, "db": b.grad})


# se params: n h w c r. w1 (R, C) and w2 (C, R) are PyTorch's 1x1 conv
# weights (R, C, 1, 1) and (C, R, 1, 1) without the unit dims.
def se(name, n, h, w, c, r):
    x = randn(n, c, h, w).requires_grad_()
    w1 = randn(r, c, scale=c ** -0.5).requires_grad_()
    b1 = randn(r, scale=0.5).requires_grad_()
    w2 = randn(c, r, scale=r ** -0.5).requires_grad_()
    b2 = randn(c, scale=0.5).requires_grad_()
    s = F.adaptive_avg_pool2d(x, 1)
    hid = F.relu(F.conv2d(s, w1[:, :, None, None], b1))
    g = torch.sigmoid(F.conv2d(hid, w2[:, :, None, None], b2))
    y = x * g
    dy = randn(*y.shape)
    y.backward(dy)
    return write(name, {
        "params": torch.tensor([n, h, w, c, r]), "x": nhwc(x), "w1": w1,
        "b1": b1, "w2": w2, "b2": b2, "y": nhwc(y), "dy": nhwc(dy),
        "dx": nhwc(x.grad), "dw1": w1.grad, "db1": b1.grad, "dw2": w2.grad,
        "db2": b2.grad})


# resize params: n h w c ho wo
def resize(name, n, h, w, c, ho, wo):
    x = randn(n, c, h, w).requires_grad_()
    y = F.interpolate(x, size=(ho, wo), mode="bilinear", align_corners=False)
    dy = randn(*y.shape)
    y.backward(dy)
    return write(name, {"params": torch.tensor([n, h, w, c, ho, wo]),
                        "x": nhwc(x), "y": nhwc(y), "dy": nhwc(dy),
                        "dx": nhwc(x.grad)})


# ce params: n k; hyper = [smoothing]
def ce(name, n, k, smoothing, scale=3.0):
    logits = randn(n, k, scale=scale).requires_grad_()
    labels = torch.randint(0, k, (n,), generator=gen)
    loss = F.cross_entropy(logits, labels, label_smoothing=smoothing)
    loss.backward()
    return write(name, {"params": torch.tensor([n, k]),
                        "hyper": torch.tensor([smoothing]),
                        "logits": logits, "labels": labels,
                        "loss": loss.reshape(1), "dlogits": logits.grad})


# kd params: n k; hyper = [alpha, temperature, smoothing]
def kd(name, n, k, alpha, temp, smoothing):
    s = randn(n, k, scale=3.0).requires_grad_()
    t = randn(n, k, scale=3.0)
    labels = torch.randint(0, k, (n,), generator=gen)
    loss = alpha * F.cross_entropy(s, labels, label_smoothing=smoothing) + \
        (1 - alpha) * temp * temp * F.kl_div(
            F.log_softmax(s / temp, dim=1), F.softmax(t / temp, dim=1),
            reduction="batchmean")
    loss.backward()
    return write(name, {"params": torch.tensor([n, k]),
                        "hyper": torch.tensor([alpha, temp, smoothing]),
                        "student": s, "teacher": t, "labels": labels,
                        "loss": loss.reshape(1), "dlogits": s.grad})


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".bin"):
            os.remove(os.path.join(OUT, f))
    total = 0
    total += conv2d("conv2d_k3_s2_stem", 2, 9, 9, 3, 8, 3, 2, 1)
    total += conv2d("conv2d_k5_s1_odd", 3, 5, 6, 4, 6, 5, 1, 2)
    total += conv2d("conv2d_k7_s2", 2, 11, 10, 3, 5, 7, 2, 3)
    total += conv2d("conv2d_k3_s1_nopad", 2, 6, 7, 5, 3, 3, 1, 0)
    total += conv2d("conv2d_1x1", 2, 5, 5, 6, 10, 1, 1, 0)
    total += conv2d("conv2d_1x1_s2", 2, 7, 6, 7, 3, 1, 2, 0)
    total += dwconv("dwconv_k3_s1", 2, 7, 7, 5, 3, 1, 1)
    total += dwconv("dwconv_k3_s2_even", 2, 8, 6, 11, 3, 2, 1)
    total += dwconv("dwconv_k5_s2", 3, 9, 9, 6, 5, 2, 2)
    total += dwconv("dwconv_k7_s1", 2, 6, 7, 9, 7, 1, 3)
    total += dwconv("dwconv_k7_s2_small", 2, 4, 5, 3, 7, 2, 3)
    for a in ACT:
        total += bn("bn_" + a, 3, 4, 5, 7, a)
    total += bn("bn_relu6_wide", 2, 3, 3, 19, "relu6")
    for a in ACT:
        total += act("act_" + a, a, 96)
    total += gap("gap", 3, 5, 4, 6)
    total += gap("gap_1x1", 2, 1, 1, 9)
    total += linear("linear", 4, 13, 7)
    total += linear("linear_n1", 1, 5, 3)
    total += se("se_c8_r2", 3, 5, 5, 8, 2)
    total += se("se_c13_r3", 2, 3, 4, 13, 3)
    total += resize("resize_up", 2, 5, 5, 3, 12, 12)
    total += resize("resize_up_rect", 1, 7, 6, 4, 11, 13)
    total += resize("resize_down", 2, 9, 9, 3, 4, 4)
    total += resize("resize_same", 1, 5, 5, 2, 5, 5)
    total += ce("ce_plain", 5, 7, 0.0)
    total += ce("ce_smooth", 6, 10, 0.1)
    total += ce("ce_large_logits", 4, 9, 0.2, scale=300.0)
    total += kd("kd_a05_t4", 4, 10, 0.5, 4.0, 0.1)
    total += kd("kd_a09_t1", 3, 7, 0.9, 1.0, 0.0)
    total += kd("kd_a0_t2", 3, 5, 0.0, 2.0, 0.0)
    print("wrote %d bytes of fixtures to %s" % (total, os.path.normpath(OUT)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
