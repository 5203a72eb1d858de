"""Train the synaptic-delay example (Patino-Saucedo, Sifalakis et al. 2024)
on the spike-coded row-by-row digits.

    x[8] spikes -> lif[H] (tau_mem 10 steps, threshold 1, reset to zero)
                -> li[10] (tau_mem 20 steps)
every synapse with its own delay:  I_i[t] = sum_j W_ij s_j[t - D_ij].

How the delays are chosen (METHODS.md section 5, synaptic pruning down to
K = 1 delay per synapse):
  1. every synapse gets |D| = 16 parallel weights, one per delay of the fixed
     grid 0, 2, ..., 30 steps, all trained together;
  2. per synapse only the K delays with the largest |w| are kept, for
     K = 8, 4, 2 and then 1, retraining the kept weights after each cut
     (cutting straight from 16 to 1 loses most of the accuracy);
  3. the last weights are fine-tuned with those delays fixed.
Delays are therefore whole even numbers of steps, 0..30 (the limit is 62).

LIF as docs/semantics.md: v = alpha v + I; s = v > 1 (fast-sigmoid surrogate
backward); v = 0 after a spike. li: u = alpha_o u + I. Decision: the arg-max
of u summed over the 32 steps.

    python training/train_delays.py
"""

import os
import time

import numpy as np
import torch

import common

SEED = 4
HIDDEN = 256
GRID = list(range(0, 31, 2))
EPOCHS = 20
PRUNE = ((8, 6), (4, 6), (2, 8), (1, 40))  # (K kept per synapse, epochs)
ALPHA_HID = float(common.alpha(10.0))
ALPHA_OUT = float(common.alpha(20.0))


def delayed(s):
    """[B, T, n] -> [B, T, |D|, n]: s[t - d] for every delay d of the grid."""
    b, steps, n = s.shape
    out = []
    for d in GRID:
        if d == 0:
            out.append(s)
        else:
            out.append(torch.cat([torch.zeros(b, min(d, steps), n), s[:, : max(steps - d, 0)]], 1))
    return torch.stack(out, 2)


def forward(p, x, masks=None, spikes_out=False):
    """[B, T, 8] -> readout [B, T, 10]. `p` holds W1 [H, |D|, 8] and
    W2 [10, |D|, H]; `masks` keeps one delay per synapse."""
    w1, w2 = p["W1"], p["W2"]
    if masks is not None:
        w1, w2 = w1 * masks[0], w2 * masks[1]
    b, steps, _ = x.shape
    cur = torch.einsum("btdn,hdn->bth", delayed(x), w1)
    v = torch.zeros(b, HIDDEN)
    spk = []
    for t in range(steps):
        v = ALPHA_HID * v + cur[:, t]
        s = common.spike(v - 1.0)
        v = v * (1.0 - s)
        spk.append(s)
    s = torch.stack(spk, 1)
    cur2 = torch.einsum("btdn,odn->bto", delayed(s), w2)
    u = torch.zeros(b, w2.shape[0])
    out = []
    for t in range(steps):
        u = ALPHA_OUT * u + cur2[:, t]
        out.append(u)
    if spikes_out:
        return torch.stack(out, 1), s
    return torch.stack(out, 1)


def keep_largest(w, mask, k):
    """Mask [rows, |D|, cols] keeping, per synapse, the k delays of largest
    |w| among those `mask` kept (the first of equal ones)."""
    idx = (w.detach() * mask).abs().topk(k, dim=1).indices
    out = torch.zeros_like(w)
    out.scatter_(1, idx, 1.0)
    return out


def delays_of(mask):
    """The one kept delay [rows, cols] of a K = 1 mask."""
    return torch.tensor(GRID)[mask.argmax(1)]


def collapse(w, mask):
    """[rows, |D|, cols] with one kept delay per synapse -> [rows, cols]."""
    return (w.detach() * mask).sum(1)


def main():
    common.setup(SEED)
    started = time.time()
    x, y = common.load("train", spikes=True)
    xt, yt = common.load("test", spikes=True)
    g = torch.Generator().manual_seed(SEED)
    nd, n_in = len(GRID), x.shape[2]
    p = {
        "W1": (torch.randn(HIDDEN, nd, n_in, generator=g) * 3.0 / np.sqrt(nd * n_in)).requires_grad_(),
        "W2": (torch.randn(10, nd, HIDDEN, generator=g) * 1.0 / np.sqrt(nd * HIDDEN)).requires_grad_(),
    }
    masks = None

    def loss_of(xb, yb):
        return torch.nn.functional.cross_entropy(forward(p, xb, masks).mean(1), yb)

    def log(epoch):
        return f"test {common.evaluate(lambda xb: forward(p, xb, masks), xt, yt, 'sum'):.3f}"

    print(f"delays: {len(GRID)} parallel delays per synapse, {EPOCHS} epochs", flush=True)
    common.fit(list(p.values()), loss_of, x, y, EPOCHS, 3e-3, log=log, clip=1.0, seed=SEED)
    acc_all = common.evaluate(lambda xb: forward(p, xb), xt, yt, "sum")
    print(f"  all delays {acc_all:.4f}", flush=True)
    masks = (torch.ones_like(p["W1"]), torch.ones_like(p["W2"]))
    stages = {}
    for k, epochs in PRUNE:
        masks = (keep_largest(p["W1"], masks[0], k), keep_largest(p["W2"], masks[1], k))
        cut = common.evaluate(lambda xb: forward(p, xb, masks), xt, yt, "sum")
        print(f"delays: keep {k} per synapse ({cut:.4f} after the cut), {epochs} epochs", flush=True)
        common.fit(list(p.values()), loss_of, x, y, epochs, 3e-3, log=log, clip=1.0, seed=SEED)
        stages[f"keep_{k}"] = {
            "after_cut": cut,
            "after_retraining": common.evaluate(lambda xb: forward(p, xb, masks), xt, yt, "sum"),
        }
    m1, m2 = masks
    d1, d2 = delays_of(m1), delays_of(m2)

    w = {
        "W1": common.f32(collapse(p["W1"], m1)),
        "D1": d1.numpy().astype(np.int32),
        "W2": common.f32(collapse(p["W2"], m2)),
        "D2": d2.numpy().astype(np.int32),
    }
    ex = common.example("delays")
    common.write_npz(os.path.join(ex, "weights.npz"), w)
    # The shipped form: one weight at one delay per synapse.
    shipped = {
        "W1": torch.zeros(HIDDEN, nd, n_in),
        "W2": torch.zeros(10, nd, HIDDEN),
    }
    for key, dkey in (("W1", "D1"), ("W2", "D2")):
        slot = torch.from_numpy(w[dkey].astype(np.int64)) // 2
        shipped[key].scatter_(1, slot[:, None, :], torch.from_numpy(w[key])[:, None, :])
    acc = common.evaluate(lambda xb: forward(shipped, xb), xt, yt, "sum")
    k = common.GOLDEN_SAMPLES
    with torch.no_grad():
        golden = forward(shipped, xt[:k])
        _, spikes = forward(shipped, xt, spikes_out=True)
    common.write_golden(os.path.join(ex, "golden.npz"), xt[:k], {"y": golden})
    common.write_trained(
        os.path.join(ex, "trained.json"),
        model="model.snn",
        golden="golden.npz",
        dataset=common.data_file("test", spikes=True),
        calibration=common.data_file("calib", spikes=True),
        classifier="y",
        decision="sum",
        float_accuracy=acc,
        train_seed=SEED,
        train_seconds=round(time.time() - started),
        epochs=[EPOCHS] + [e for _, e in PRUNE],
        hidden=HIDDEN,
        delays=(
            "trained as 16 parallel weights per synapse on the grid 0, 2, ..., 30 steps; "
            "per synapse the K delays of largest |w| kept for K = 8, 4, 2, 1 (synaptic "
            "pruning), retraining after each cut; weights fine-tuned with the last delays fixed"
        ),
        accuracy_all_delays=acc_all,
        pruning=stages,
        hidden_spike_rate=float(spikes.mean()),
    )
    print(f"delays accuracy {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
