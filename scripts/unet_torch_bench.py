#!/usr/bin/python3
"""Time one training step of sdekit's U-Net rebuilt in PyTorch (CPU).

The architecture is model.UNetConfig's defaults on 1x28x28 images (see
model/doc.go, "U-Net", and docs/bench.md, "U-Net"):

  time:  32 Gaussian Fourier features [sin(2 pi W t), cos(2 pi W t)], W ~ N(0, 16^2)
         -> Linear(32, 128) -> SiLU -> Linear(128, 128) -> SiLU  (s, shared by all blocks)
  conv_in 3x3, 1 -> 32
  down:  28x28: ResBlock(32 -> 32); skip; avgpool 2x2
         14x14: ResBlock(32 -> 64); skip; avgpool 2x2
          7x7:  ResBlock(64 -> 64); skip
  mid:   ResBlock(64), Attention(64), ResBlock(64)
  up:     7x7:  concat skip -> ResBlock(128 -> 64); nearest 2x; conv3x3 64 -> 64
         14x14: concat skip -> ResBlock(128 -> 64); nearest 2x; conv3x3 64 -> 32
         28x28: concat skip -> ResBlock(64 -> 32)
  out:   GroupNorm(8) -> SiLU -> conv3x3 32 -> 1
  ResBlock(a -> b): GN(8)-SiLU-conv3x3(a->b) + Linear(128, b)(s) per channel,
         GN(8)-SiLU-dropout(0)-conv3x3(b->b), plus x (conv1x1 a->b when a != b)
  Attention(C): GN(8) -> conv1x1 C -> 3C = [Q K V]; softmax(Q K^T/sqrt(C)) V over
         the 49 pixels, single head; conv1x1 C -> C; plus x

One step: forward on a batch of 64 random images and times, loss
sum((out - y)^2)/(2 batch) (the Go benchmark's), backward, Adam, EMA.
Usage: unet_torch_bench.py [-steps N] [-threads T] [-batch B]
       unet_torch_bench.py -check DIR   (DIR from SDEKIT_UNET_EXPORT=DIR go test -run ExportForTorch ./model)

-check loads the weights of sdekit's network into this one (float64) and
compares the outputs on the same inputs: the evidence that the two
architectures are the same function, not only the same size.
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb, groups, dropout):
        super().__init__()
        self.n1 = nn.GroupNorm(groups, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(temb, cout)
        self.n2 = nn.GroupNorm(groups, cout)
        self.drop = nn.Dropout(dropout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, s):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.e(s)[:, :, None, None]
        h = self.c2(self.drop(F.silu(self.n2(h))))
        return h + (self.skip(x) if self.skip is not None else x)


class Attention(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3 * c, h * w).chunk(3, dim=1)
        p = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(c), dim=-1)  # n x N x N
        o = torch.bmm(v, p.transpose(1, 2)).reshape(n, c, h, w)  # O^T = V^T P^T
        return x + self.proj(o)


class UNet(nn.Module):
    def __init__(self, channels=1, base=32, mult=(1, 2, 2), num_res=1, groups=8,
                 embed=32, temb=128, attention=True, dropout=0.0, fourier_scale=16.0):
        super().__init__()
        self.register_buffer("W", torch.randn(embed // 2) * fourier_scale)
        self.t1 = nn.Linear(embed, temb)
        self.t2 = nn.Linear(temb, temb)
        self.conv_in = nn.Conv2d(channels, base, 3, padding=1)
        ch = [base * m for m in mult]
        self.down = nn.ModuleList()
        c = base
        for l in range(len(mult)):
            blocks = nn.ModuleList()
            for _ in range(num_res):
                blocks.append(ResBlock(c, ch[l], temb, groups, dropout))
                c = ch[l]
            self.down.append(blocks)
        self.mid1 = ResBlock(c, c, temb, groups, dropout)
        self.attn = Attention(c, groups) if attention else None
        self.mid2 = ResBlock(c, c, temb, groups, dropout)
        self.up = nn.ModuleList()
        self.upconv = nn.ModuleList()
        for l in reversed(range(len(mult))):
            blocks = nn.ModuleList()
            cin = c + ch[l]
            for _ in range(num_res):
                blocks.append(ResBlock(cin, ch[l], temb, groups, dropout))
                cin = ch[l]
            c = ch[l]
            self.up.append(blocks)
            if l > 0:
                self.upconv.append(nn.Conv2d(c, ch[l - 1], 3, padding=1))
                c = ch[l - 1]
        self.norm_out = nn.GroupNorm(groups, c)
        self.conv_out = nn.Conv2d(c, channels, 3, padding=1)
        self.levels = len(mult)

    def forward(self, x, t):
        a = 2 * math.pi * t[:, None] * self.W[None, :]
        e = torch.cat([torch.sin(a), torch.cos(a)], dim=1)
        s = F.silu(self.t2(F.silu(self.t1(e))))
        h = self.conv_in(x)
        skips = []
        for l, blocks in enumerate(self.down):
            for b in blocks:
                h = b(h, s)
            skips.append(h)
            if l < self.levels - 1:
                h = F.avg_pool2d(h, 2)
        h = self.mid1(h, s)
        if self.attn is not None:
            h = self.attn(h)
        h = self.mid2(h, s)
        for i, blocks in enumerate(self.up):
            h = torch.cat([h, skips.pop()], dim=1)
            for b in blocks:
                h = b(h, s)
            if i < self.levels - 1:
                h = self.upconv[i](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


def go_order(net):
    """The parameters of net in the layout of sdekit's U-Net (model/unet_graph.go's
    plan order), each as (tensor, function from sdekit's flat block to the tensor)."""
    out = []

    def dense(lin):  # sdekit: 1x1 convolution, weight in x out
        out.append((lin.weight, lambda v, w=lin.weight: v.reshape(w.shape[1], w.shape[0]).T))
        out.append((lin.bias, lambda v: v))

    def conv1(c):
        out.append((c.weight, lambda v, w=c.weight: v.reshape(w.shape[1], w.shape[0]).T.reshape(w.shape)))
        out.append((c.bias, lambda v: v))

    def conv3(c):  # sdekit: (ky, kx, cin) x cout
        def f(v, w=c.weight):
            co, ci = w.shape[0], w.shape[1]
            return v.reshape(3, 3, ci, co).permute(3, 2, 0, 1)
        out.append((c.weight, f))
        out.append((c.bias, lambda v: v))

    def norm(n):
        out.append((n.weight, lambda v: v))
        out.append((n.bias, lambda v: v))

    def block(b):
        norm(b.n1)
        conv3(b.c1)
        dense(b.e)
        norm(b.n2)
        conv3(b.c2)
        if b.skip is not None:
            conv1(b.skip)

    dense(net.t1)
    dense(net.t2)
    conv3(net.conv_in)
    for blocks in net.down:
        for b in blocks:
            block(b)
    block(net.mid1)
    if net.attn is not None:
        norm(net.attn.norm)
        conv1(net.attn.qkv)
        conv1(net.attn.proj)
    block(net.mid2)
    for i, blocks in enumerate(net.up):
        for b in blocks:
            block(b)
        if i < net.levels - 1:
            conv3(net.upconv[i])
    norm(net.norm_out)
    conv3(net.conv_out)
    return out


def check(folder):
    import os
    import numpy as np
    torch.set_default_dtype(torch.float64)
    net = UNet()
    rd = lambda name: torch.from_numpy(np.fromfile(os.path.join(folder, name + ".bin"), dtype="<f8"))
    flat, off = rd("params"), 0
    order = go_order(net)
    with torch.no_grad():
        for p, f in order:
            k = p.numel()
            p.copy_(f(flat[off:off + k]))
            off += k
        net.W.copy_(rd("buffers"))
    assert off == flat.numel(), (off, flat.numel())
    assert len(order) == len(list(net.parameters()))
    x, t, want = rd("x"), rd("t"), rd("out")
    n = t.numel()
    with torch.no_grad():
        got = net(x.reshape(n, 1, 28, 28), t).reshape(-1)
    err = (got - want).abs().max().item()
    scale = want.abs().max().item()
    print(f"{n} images: max |sdekit - pytorch| = {err:.3g} (outputs up to {scale:.3g}), {flat.numel()} parameters mapped")
    return err <= 1e-9 * max(1.0, scale)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-steps", type=int, default=10)
    ap.add_argument("-threads", type=int, default=1)
    ap.add_argument("-batch", type=int, default=64)
    ap.add_argument("-check", default="", help="folder of SDEKIT_UNET_EXPORT: compare with sdekit's outputs")
    args = ap.parse_args()
    if args.check:
        raise SystemExit(0 if check(args.check) else 1)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    net = UNet()
    ema = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.randn(args.batch, 1, 28, 28)
    t = torch.rand(args.batch)

    def step():
        opt.zero_grad(set_to_none=False)
        out = net(x, t)
        loss = 0.5 * ((out - y) ** 2).sum() / args.batch
        loss.backward()
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                e.mul_(0.999).add_(p, alpha=0.001)

    step()  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    dt = (time.perf_counter() - t0) / args.steps
    dc = (time.process_time() - c0) / args.steps
    nparams = sum(p.numel() for p in net.parameters())
    print(f"pytorch {torch.__version__} threads={args.threads} batch={args.batch} params={nparams}: {dt * 1000:.0f} ms/step, {dc * 1000:.0f} cpu-ms/step")


if __name__ == "__main__":
    main()
