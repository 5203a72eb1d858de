"""Train the adaptive-LIF "LSTM" example (Plank, Rao, Wild and Maass 2021)
on the spike-coded row-by-row digits.

Populations in the order model.snn declares them; a projection reads its
source at the position of the population it feeds (docs/language.md), so a
source declared later is read at the previous step:

    regular  (lif, alpha 1 - 1/20, threshold 1, reset to zero):
        v_r = alpha v_r + W_in_r x[t] + W_rr s_r[t-1] + W_ar s_a[t-1]
    adaptive (the same):
        v_a = alpha v_a + W_in_a x[t] + W_ra s_r[t] + W_aa s_a[t-1] + a[t-1]
    aux      (li, alpha_A = 1 - 1/700, one per adaptive neuron):
        a = alpha_A a - w_aux s_a[t]
    out      (li, alpha 1 - 1/20):
        u = alpha u + W_out_r s_r[t] + W_out_a s_a[t]

s = v > 1 forward (fast-sigmoid surrogate backward), v = 0 after a spike.
w_aux = 0.15 as in model.snn. Decision: the arg-max of u summed over steps.

    python training/train_adaptive_lstm.py
"""

import os
import time

import numpy as np
import torch

import common

SEED = 5
REGULAR = 64
ADAPTIVE = 48
EPOCHS = 120
W_AUX = np.float32(0.15)
ALPHA = float(np.float32(1 - 1 / 20))
ALPHA_AUX = float(np.float32(1 - 1 / 700))
NAMES = ("W_in_r", "W_in_a", "W_rr", "W_ra", "W_ar", "W_aa", "W_out_r", "W_out_a")


def init(n_in, n_out):
    g = torch.Generator().manual_seed(SEED)

    def mat(rows, cols, gain):
        return (torch.randn(rows, cols, generator=g) * gain / np.sqrt(cols)).requires_grad_()

    return {
        "W_in_r": mat(REGULAR, n_in, 1.0),
        "W_in_a": mat(ADAPTIVE, n_in, 1.0),
        "W_rr": mat(REGULAR, REGULAR, 0.3),
        "W_ra": mat(ADAPTIVE, REGULAR, 0.3),
        "W_ar": mat(REGULAR, ADAPTIVE, 0.3),
        "W_aa": mat(ADAPTIVE, ADAPTIVE, 0.3),
        "W_out_r": mat(n_out, REGULAR, 1.0),
        "W_out_a": mat(n_out, ADAPTIVE, 1.0),
    }


def forward(p, x, spikes_out=False):
    """[B, T, 8] spikes -> readout [B, T, 10]."""
    b, steps, _ = x.shape
    v_r = torch.zeros(b, REGULAR)
    v_a = torch.zeros(b, ADAPTIVE)
    s_r = torch.zeros(b, REGULAR)
    s_a = torch.zeros(b, ADAPTIVE)
    aux = torch.zeros(b, ADAPTIVE)
    u = torch.zeros(b, p["W_out_r"].shape[0])
    w_aux = float(W_AUX)
    out, rates = [], []
    for t in range(steps):
        v_r = ALPHA * v_r + (x[:, t] @ p["W_in_r"].T + s_r @ p["W_rr"].T + s_a @ p["W_ar"].T)
        s_r = common.spike(v_r - 1.0)
        v_r = v_r * (1.0 - s_r)
        v_a = ALPHA * v_a + (x[:, t] @ p["W_in_a"].T + s_r @ p["W_ra"].T + s_a @ p["W_aa"].T + aux)
        s_a = common.spike(v_a - 1.0)
        v_a = v_a * (1.0 - s_a)
        aux = ALPHA_AUX * aux + (-w_aux) * s_a
        u = ALPHA * u + (s_r @ p["W_out_r"].T + s_a @ p["W_out_a"].T)
        out.append(u)
        rates.append(torch.cat([s_r, s_a], 1))
    if spikes_out:
        return torch.stack(out, 1), torch.stack(rates, 1)
    return torch.stack(out, 1)


def main():
    common.setup(SEED)
    started = time.time()
    x, y = common.load("train", spikes=True)
    xt, yt = common.load("test", spikes=True)
    p = init(x.shape[2], 10)

    def loss_of(xb, yb):
        return torch.nn.functional.cross_entropy(forward(p, xb).mean(1), yb)

    def log(epoch):
        return f"test {common.evaluate(lambda xb: forward(p, xb), xt, yt, 'sum'):.3f}"

    print(f"adaptive_lstm: {REGULAR} regular + {ADAPTIVE} adaptive, {EPOCHS} epochs", flush=True)
    common.fit(list(p.values()), loss_of, x, y, EPOCHS, 5e-3, log=log, clip=1.0, seed=SEED)

    w = {k: common.f32(p[k]) for k in NAMES}
    ex = common.example("adaptive_lstm")
    common.write_npz(os.path.join(ex, "weights.npz"), w)
    t = {k: torch.from_numpy(v) for k, v in w.items()}
    acc = common.evaluate(lambda xb: forward(t, xb), xt, yt, "sum")
    k = common.GOLDEN_SAMPLES
    with torch.no_grad():
        golden = forward(t, xt[:k])
        _, spikes = forward(t, xt, spikes_out=True)
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
        epochs=EPOCHS,
        regular=REGULAR,
        adaptive=ADAPTIVE,
        spike_rate=float(spikes.mean()),
    )
    print(f"adaptive_lstm accuracy {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
