"""Train the adaptive spiking RNN example (Yin, Corradi and Bohte 2021) on
the spike-coded row-by-row digits.

    spikes[8] -> alif[H] (recurrent, trained per-neuron tau_m, tau_adp, bias)
              -> li[10] readout (trained tau_out, gain = 1 - exp(-dt/tau_out))

One step, as docs/semantics.md defines `alif` (reset by subtraction) and `li`:
    I = W_in x[t] + W_rec s[t-1]
    b = rho b + (1 - rho) s[t-1];  theta = b0 + beta b
    v = alpha v + (1 - alpha) (I + bias) - theta s[t-1]
    s = v > theta                    (forward; a fast-sigmoid surrogate backward)
    u = alpha_o u + (1 - alpha_o) W_out s
with alpha = exp(-dt/tau_m), rho = exp(-dt/tau_adp), alpha_o = exp(-dt/tau_out),
beta = 1.8, b0 = 0.01. Decision: the arg-max of u summed over the steps.

64 hidden neurons: 128 reach 93.8% instead of 91.2%, but per-neuron
retention factors of more than 64 values print without their values in an
IR dump (`snnc dump-ir` without --values), which the dump round-trip test of
every example needs.

    python training/train_alif_srnn.py
"""

import os
import time

import numpy as np
import torch

import common

SEED = 3
HIDDEN = 64
EPOCHS = 150
BETA = 1.8
B0 = 0.01
TAU_MIN = 1.5


def init(n_in, n_out):
    g = torch.Generator().manual_seed(SEED)
    return {
        "W_in": (torch.randn(HIDDEN, n_in, generator=g) * 2.0 / np.sqrt(n_in)).requires_grad_(),
        "W_rec": (torch.randn(HIDDEN, HIDDEN, generator=g) * 0.5 / np.sqrt(HIDDEN)).requires_grad_(),
        "b_h": torch.zeros(HIDDEN).requires_grad_(),
        "W_out": (torch.randn(n_out, HIDDEN, generator=g) * 1.0 / np.sqrt(HIDDEN)).requires_grad_(),
        "tau_m": (10.0 + 2.0 * torch.randn(HIDDEN, generator=g)).requires_grad_(),
        "tau_adp": (60.0 + 10.0 * torch.randn(HIDDEN, generator=g)).requires_grad_(),
        "tau_out": (8.0 + 1.0 * torch.randn(n_out, generator=g)).requires_grad_(),
    }


def decays(p):
    """Retention factors from the time constants (in steps): trainable
    float32 during training."""
    a = torch.exp(-1.0 / p["tau_m"].clamp(min=TAU_MIN))
    r = torch.exp(-1.0 / p["tau_adp"].clamp(min=TAU_MIN))
    ao = torch.exp(-1.0 / p["tau_out"].clamp(min=TAU_MIN))
    return a, r, ao, 1.0 - ao


def shipped_decays(w):
    """The same as snnc computes them from the shipped float32 taus."""
    f = lambda v: torch.from_numpy(v)  # noqa: E731
    ao = np.exp(-1.0 / w["tau_out"].astype(np.float64))
    return (
        f(common.alpha(w["tau_m"])),
        f(common.alpha(w["tau_adp"])),
        f(ao.astype(np.float32)),
        f((1.0 - ao).astype(np.float32)),
    )


def forward(p, x, dec=None, spikes_out=False):
    """[B, T, 8] spikes -> readout [B, T, 10] (and the hidden spikes)."""
    a, r, ao, gain = dec if dec is not None else decays(p)
    b_, steps, _ = x.shape
    v = torch.zeros(b_, HIDDEN)
    adp = torch.zeros(b_, HIDDEN)
    s = torch.zeros(b_, HIDDEN)
    u = torch.zeros(b_, p["W_out"].shape[0])
    out, spk = [], []
    for t in range(steps):
        cur = x[:, t] @ p["W_in"].T + s @ p["W_rec"].T
        adp = r * adp + (1 - r) * s
        theta = B0 + BETA * adp
        v = a * v + (1 - a) * (cur + p["b_h"]) - theta * s
        s = common.spike(v - theta)
        u = ao * u + gain * (s @ p["W_out"].T)
        out.append(u)
        spk.append(s)
    if spikes_out:
        return torch.stack(out, 1), torch.stack(spk, 1)
    return torch.stack(out, 1)


def main():
    common.setup(SEED)
    started = time.time()
    x, y = common.load("train", spikes=True)
    xt, yt = common.load("test", spikes=True)
    p = init(x.shape[2], 10)
    params = list(p.values())

    def loss_of(xb, yb):
        return torch.nn.functional.cross_entropy(forward(p, xb).mean(1) * 4, yb)

    def log(epoch):
        return f"test {common.evaluate(lambda xb: forward(p, xb), xt, yt, 'sum'):.3f}"

    print(f"alif_srnn: {HIDDEN} hidden, {EPOCHS} epochs", flush=True)
    common.fit(params, loss_of, x, y, EPOCHS, 5e-3, log=log, clip=1.0, seed=SEED)

    names = ("W_in", "W_rec", "b_h", "W_out", "tau_m", "tau_adp", "tau_out")
    w = {k: common.f32(p[k]) for k in names}
    for k in ("tau_m", "tau_adp", "tau_out"):
        w[k] = np.maximum(w[k], np.float32(TAU_MIN))
    ex = common.example("alif_srnn")
    common.write_npz(os.path.join(ex, "weights.npz"), w)
    t = {k: torch.from_numpy(v) for k, v in w.items()}
    dec = shipped_decays(w)
    acc = common.evaluate(lambda xb: forward(t, xb, dec), xt, yt, "sum")
    k = common.GOLDEN_SAMPLES
    with torch.no_grad():
        logits, spikes = forward(t, xt[:k], dec, spikes_out=True)
        _, all_spikes = forward(t, xt, dec, spikes_out=True)
    common.write_golden(
        os.path.join(ex, "golden.npz"),
        xt[:k],
        {"logits": logits, "hidden_spikes": spikes},
    )
    common.write_trained(
        os.path.join(ex, "trained.json"),
        model="model.snn",
        golden="golden.npz",
        dataset=common.data_file("test", spikes=True),
        calibration=common.data_file("calib", spikes=True),
        classifier="logits",
        decision="sum",
        float_accuracy=acc,
        train_seed=SEED,
        train_seconds=round(time.time() - started),
        epochs=EPOCHS,
        hidden=HIDDEN,
        hidden_spike_rate=float(all_spikes.mean()),
    )
    print(f"alif_srnn accuracy {acc:.4f}, hidden spike rate {float(all_spikes.mean()):.3f}", flush=True)


if __name__ == "__main__":
    main()
