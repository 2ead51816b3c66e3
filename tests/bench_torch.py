#!/usr/bin/python3
"""bench_torch: one DL-DKD training step in PyTorch beside ours (obj/testbin/bench_step), on the
TVR step shape, same machine and threads. Not part of the project: `make bench` runs it through
tests/bench.sh only when `python3 -c 'import torch'` works.

The model and loss are the student of doc/method.md (sections 3-6) written the way the authors'
PyTorch release writes it (MS-SL's modules: LinearLayer = LayerNorm, dropout, Linear, ReLU; a
trainable position embedding with LayerNorm and dropout; BertAttention = BERT self-attention and
its output LayerNorm, no feed-forward; a frame Linear on the video side, attention pooling by a
bias-free Linear(d, 1) on the query side), two branches with separate weights, and the loss of
section 5: triplet text->video with a negative drawn from the 20 hardest, triplet video->text
(mean of a video's own queries against the hardest query of another video), InfoNCE both ways
on the unnormalised max, similarity KL on the inheritance branch (T = 0.2). The release loops
over queries and videos in Python for the losses; here every loss is vectorised (gathers, masks
and topk on the whole score matrix), the fairest PyTorch to compare with. The optimiser is
AdamW with each tensor's gradient clipped to norm 1 on its own (the release's BertAdam does the
same per parameter).

Per thread count N (torch.set_num_threads(N), ours -j N): one warm-up step of each, then
BENCH_REPS (default 3) rounds, each timing one PyTorch step and then one step of ours
(bench_step -p tvr -n 1 -j N, its own process: it prints the step's time without its input
generation and reference sgemms), alternating so that both see the same load. Prints the
medians of wall and of CPU seconds (all threads; the steadier of the two when the machine is
shared), their ratios, and both parameter counts (they must be equal for the comparison to be
fair; the script says so when they are not).
usage: tests/bench_torch.py [TBIN]   (TBIN: where bench_step is, default obj/testbin)
"""
import ctypes
import math
import os
import re
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

B, L, DV, NQ, T, DT, D, NH = 128, 128, 3072, 640, 30, 768, 384, 4
MARGIN, NCE_W, HARD_POOL, KD_T, KD_W, DROP = 0.1, 0.04, 20, 0.2, 0.1, 0.1


class LinearLayer(nn.Module):
    """LayerNorm(din) -> dropout -> Linear(din, dout) -> ReLU (the release's input projection)"""

    def __init__(self, din, dout):
        super().__init__()
        self.ln = nn.LayerNorm(din, eps=1e-5)
        self.drop = nn.Dropout(DROP)
        self.fc = nn.Linear(din, dout)

    def forward(self, x):
        return F.relu(self.fc(self.drop(self.ln(x))))


class PositionEncoding(nn.Module):
    """trainable position embedding added, then LayerNorm and dropout"""

    def __init__(self, rows, d):
        super().__init__()
        self.emb = nn.Embedding(rows, d)
        self.ln = nn.LayerNorm(d, eps=1e-5)
        self.drop = nn.Dropout(DROP)

    def forward(self, x):
        pos = self.emb(torch.arange(x.shape[1], device=x.device))
        return self.drop(self.ln(x + pos.unsqueeze(0)))


class BertAttention(nn.Module):
    """BERT self-attention and its output block (Linear, dropout, LayerNorm of the residual)"""

    def __init__(self, d, nh):
        super().__init__()
        self.nh, self.dh = nh, d // nh
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.drop_p = nn.Dropout(DROP)
        self.out = nn.Linear(d, d)
        self.drop_o = nn.Dropout(DROP)
        self.ln = nn.LayerNorm(d, eps=1e-5)

    def heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.nh, self.dh).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.dh)
        logits = logits + (1.0 - mask[:, None, None, :]) * -10000.0
        p = self.drop_p(torch.softmax(logits, dim=-1))
        ctx = (p @ v).permute(0, 2, 1, 3).reshape(x.shape)
        return self.ln(self.drop_o(self.out(ctx)) + x)


class Encoder(nn.Module):
    """one side of one branch: input projection, position embedding, attention block"""

    def __init__(self, din, rows):
        super().__init__()
        self.proj = LinearLayer(din, D)
        self.pos = PositionEncoding(rows, D)
        self.att = BertAttention(D, NH)

    def forward(self, x, mask):
        return self.att(self.pos(self.proj(x)), mask)


class Branch(nn.Module):
    def __init__(self):
        super().__init__()
        self.video = Encoder(DV, L)
        self.frame = nn.Linear(D, D)
        self.query = Encoder(DT, T)
        self.pool = nn.Linear(D, 1, bias=False)

    def forward(self, video, vmask, query, qmask):
        frames = self.frame(self.video(video, vmask))                      # (B, L, D)
        h = self.query(query, qmask)                                       # (Nq, T, D)
        a = self.pool(h).squeeze(-1) + (1.0 - qmask) * -1e10
        q = (torch.softmax(a, dim=-1).unsqueeze(-1) * h).sum(1)            # (Nq, D)
        return frames, q


def init_weights(m):
    """doc/method.md: Linear and embedding weights N(0, 0.02), biases 0, LayerNorm 1 and 0"""
    if isinstance(m, (nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if getattr(m, "bias", None) is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def branch_loss(frames, vmask, q, qvid, own_mask, gen):
    """triplet both ways and InfoNCE both ways of one branch; returns (loss, frame cosines)"""
    fn = frames / frames.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    qn = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    neg_inf = (1.0 - vmask)[None] * -1e10
    cos = torch.einsum("qd,bld->qbl", qn, fn) + neg_inf                    # (Nq, B, L)
    s = cos.max(-1).values                                                 # (Nq, B)
    u = (torch.einsum("qd,bld->qbl", q, frames) + neg_inf).max(-1).values
    ar = torch.arange(q.shape[0])
    pos = s[ar, qvid]
    # text -> video: a negative drawn uniformly from the 20 hardest other videos
    others = s.detach().masked_fill(own_mask, -float("inf"))
    top = others.topk(min(HARD_POOL, B - 1), dim=1).indices
    pick = torch.randint(top.shape[1], (q.shape[0],), generator=gen)
    t2v = F.relu(MARGIN + s[ar, top[ar, pick]] - pos).mean()
    # video -> text: mean of a video's own queries against the hardest query of another video
    own = own_mask.float()
    vpos = (s * own).sum(0) / own.sum(0)
    hard = s.detach().masked_fill(own_mask, -float("inf")).argmax(0)
    v2t = F.relu(MARGIN + s[hard, torch.arange(B)] - vpos).mean()
    # InfoNCE on the unnormalised scores
    nce_t2v = F.cross_entropy(u, qvid)
    lse = torch.logsumexp(u, dim=0)
    nce_v2t = (lse - torch.logsumexp(u.masked_fill(~own_mask, -float("inf")), dim=0)).mean()
    return t2v + v2t + NCE_W * (nce_t2v + nce_v2t), cos


def step(model, opt, batch, gen):
    video, vmask, query, qmask, qvid, own_mask, tau = batch
    opt.zero_grad(set_to_none=True)
    total, kd = 0.0, None
    for bi, br in enumerate(model):
        frames, q = br(video, vmask, query, qmask)
        loss, cos = branch_loss(frames, vmask, q, qvid, own_mask, gen)
        total = total + loss
        if bi == 0:  # similarity KL on the inheritance branch, own video's frames
            s_own = cos[torch.arange(NQ), qvid]                            # (Nq, L)
            kd = F.kl_div(F.log_softmax(s_own / KD_T, -1), F.softmax(tau / KD_T, -1),
                          reduction="sum")
    total = total + KD_W * kd
    total.backward()
    for p in model.parameters():
        torch.nn.utils.clip_grad_norm_(p, 1.0)
    opt.step()
    return float(total)


def make_batch(gen):
    def unit(*shape):
        x = torch.randn(*shape, generator=gen)
        return x / (x.norm(dim=-1, keepdim=True) + 1e-5)
    qvid = torch.arange(NQ) % B
    own_mask = qvid[:, None] == torch.arange(B)[None]
    return (unit(B, L, DV), torch.ones(B, L), unit(NQ, T, DT), torch.ones(NQ, T), qvid,
            own_mask, torch.rand(NQ, L, generator=gen) * 0.4)


def blas_threads(n):
    """torch.set_num_threads(n) and the products' threads: a torch built on a generic BLAS (as
    Debian's, on OpenBLAS) does not pass the count on to OpenBLAS, which would take every core;
    returns the OpenBLAS library told, or None"""
    for line in open("/proc/self/maps"):
        path = line.split()[-1]
        if "libopenblas" in path:
            lib = ctypes.CDLL(path)
            if hasattr(lib, "openblas_set_num_threads"):
                lib.openblas_set_num_threads(n)
                return path
    return None


def ours(tbin, n):
    """one step of bench_step at n threads, its own process: (step seconds, its CPU seconds,
    parameter count)"""
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"))
    r = subprocess.run([os.path.join(tbin, "bench_step"), "-p", "tvr", "-n", "1", "-j", str(n)],
                       capture_output=True, text=True, env=env, check=True)
    sec = re.search(r"tvr -j \d+ step 0: ([0-9.]+) s .*cpu ([0-9.]+) s", r.stderr)
    par = re.search(r"([0-9]+) parameters", r.stdout)
    if not sec or not par:
        sys.exit("bench_torch: cannot read bench_step's output:\n" + r.stdout + r.stderr)
    return float(sec.group(1)), float(sec.group(2)), int(par.group(1))


def main():
    tbin = sys.argv[1] if len(sys.argv) > 1 else "obj/testbin"
    reps = int(os.environ.get("BENCH_REPS", "3"))
    threads = [int(j) for j in os.environ.get("BENCH_THREADS", "1 2").split()]
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    model = nn.ModuleList([Branch(), Branch()])
    model.apply(init_weights)
    model.train()
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() == 2]
    rest = [p for n, p in model.named_parameters() if not (n.endswith("weight") and p.dim() == 2)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": rest, "weight_decay": 0.0}], lr=2.5e-4, eps=1e-6)
    batch = make_batch(gen)
    n_torch = sum(p.numel() for p in model.parameters())
    print(f"PyTorch {torch.__version__} beside bench_step, TVR step shape (B={B} L={L} dv={DV} "
          f"Nq={NQ} T={T} dt={DT} d={D}), medians of {reps} alternating steps after a warm-up")
    n_ours = None
    for n in threads:
        torch.set_num_threads(n)
        blas = blas_threads(n)
        step(model, opt, batch, gen)                  # warm-up: allocations, first-call costs
        tt, to, ct, co = [], [], [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            step(model, opt, batch, gen)
            tt.append(time.perf_counter() - t0)
            ct.append(time.process_time() - c0)
            sec, cpu, n_ours = ours(tbin, n)
            to.append(sec)
            co.append(cpu)
        mt, mo = statistics.median(tt), statistics.median(to)
        print(f"  -j {n}: PyTorch {mt:7.3f} s  ours {mo:7.3f} s  ours is {mt / mo:.2f}x faster"
              f"   (PyTorch {' '.join(f'{x:.2f}' for x in tt)}; ours {' '.join(f'{x:.2f}' for x in to)})")
        # CPU seconds of all threads: steadier than wall time on a shared machine
        mct, mco = statistics.median(ct), statistics.median(co)
        print(f"  -j {n}: CPU s   PyTorch {mct:7.3f}    ours {mco:7.3f}    ratio {mct / mco:.2f}"
              f"   (PyTorch's BLAS: {blas or 'not OpenBLAS, threads not set'})")
    print(f"  parameters: PyTorch {n_torch}, ours {n_ours}"
          + ("" if n_torch == n_ours else "  NOT EQUAL: the comparison is not like for like"))


if __name__ == "__main__":
    main()
