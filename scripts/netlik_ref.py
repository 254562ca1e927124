"""Time score_sde_pytorch's likelihood (Rademacher, RK45 rtol=atol=1e-5, eps=1e-5)
on an sdekit MLP checkpoint's EMA weights in float32, ROUNDS times in one process,
without the float64 truth solve peer_netlik.py runs first.
Usage: SCORE_SDE_PYTORCH=<dir> REF=<reference-bench> python3 scripts/netlik_ref.py CKPT POINTS.csv [ROUNDS]"""
import json, math, os, struct, sys, time
import numpy as np, torch
sys.path.insert(0, os.environ.get("REF", "/work/shared/reference-bench"))
import refbridge as rb

ck, pts = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
b = open(ck, "rb").read()
assert b[:8] == b"SDEKITCK", "not an sdekit checkpoint"
H = struct.unpack("<I", b[12:16])[0]; h = json.loads(b[16:16 + H]); off = 16 + H
P, B = h["params"], h["buffers"]
arr = np.frombuffer(b, dtype="<f8", count=P + B + (2 * P if h.get("adam") else 0) + (P if h.get("ema") else 0), offset=off)
buf = arr[P:P + B]
w = arr[P + B + (2 * P if h.get("adam") else 0):][:P] if h.get("ema") else arr[:P]
cfg = h["config"]; D = cfg["dim"]; E = cfg["embed_dim"]
assert cfg["embedding"] == "fourier" and cfg.get("time_scale", 1) == 1
widths = [D + E] + cfg["hidden"] + [D]
Ls, k = [], 0
for a, c in zip(widths[:-1], widths[1:]):
    Ls.append((torch.tensor(w[k:k + a * c].reshape(a, c), dtype=torch.float32),
               torch.tensor(w[k + a * c:k + a * c + c], dtype=torch.float32)))
    k += a * c + c
Wf = torch.tensor(buf, dtype=torch.float32)

class M(torch.nn.Module):
    def forward(self, x, labels):
        t = labels / 999.
        p = 2 * math.pi * t[:, None] * Wf[None, :]
        y = torch.cat([x.reshape(x.shape[0], -1), torch.sin(p), torch.cos(p)], dim=1)
        for i, (W, bb) in enumerate(Ls):
            y = y @ W + bb
            if i < len(Ls) - 1:
                y = torch.nn.functional.silu(y)
        return y.reshape(x.shape)

X = np.loadtxt(pts, delimiter=",", skiprows=1).reshape(-1, D)
lf = rb.likelihood.get_likelihood_fn(rb.make_sde("vp"), rb.identity, hutchinson_type="Rademacher",
                                     rtol=1e-5, atol=1e-5, method="RK45", eps=1e-5)
data = torch.from_numpy(X.astype(np.float32)).reshape(len(X), 1, 1, D)
for r in range(rounds):
    torch.manual_seed(777)
    t0 = time.perf_counter(); bpd, _, nfe = lf(M(), data); wall = time.perf_counter() - t0
    print(json.dumps({"round": r, "threads": torch.get_num_threads(), "wall_s": round(wall, 4), "nfev": int(nfe)}), flush=True)
