"""Train the lpRNN example (Boeshertz et al. 2024) on row-by-row digits, and
its 3-bit variant quantization-aware.

    x[8] -> lpLinear 64 -> lpRNN 64 -> linear readout 10, a = 0.8
    h1 = a*h1 + (1 - a)*clamp(W1 x + b1, 0, 6)
    h2 = a*h2 + (1 - a)*clamp(W2 h1 + U2 h2 + b2, 0, 6)   (U2 reads the previous h2)
    logits = Wo h2 + bo                                    (the new h2)

Decision: the arg-max of the logits summed over the 32 steps (`sum`).

The 3-bit variant starts from the float weights and is fine-tuned with every
weight matrix on the grid `snnc compile --backend loihi2 --weight-bits 3`
uses: per matrix and per sign a power-of-two step 2^k (k minimising that
sign's squared error), magnitudes 0..3 steps; a straight-through estimator
passes the gradient. Biases stay float. The shipped weights lie on the grid.

    python training/train_lprnn.py
"""

import os
import time

import numpy as np
import torch

import common

SEED = 1
HIDDEN = 64
A = np.float32(0.8)
ONE_MINUS_A = np.float32(1.0 - 0.8)  # `1 - a` folded in float64, as snnc does
EPOCHS = 80
QAT_EPOCHS = 60
NAMES = ("W1", "b1", "W2", "U2", "b2", "Wo", "bo")
MATRICES = ("W1", "W2", "U2", "Wo")


def init(n_in, n_out):
    g = torch.Generator().manual_seed(SEED)

    def mat(rows, cols, gain):
        return (torch.randn(rows, cols, generator=g) * gain / np.sqrt(cols)).requires_grad_()

    return {
        "W1": mat(HIDDEN, n_in, 2.0),
        "b1": torch.full((HIDDEN,), 0.1).requires_grad_(),
        "W2": mat(HIDDEN, HIDDEN, 1.0),
        "U2": mat(HIDDEN, HIDDEN, 0.5),
        "b2": torch.full((HIDDEN,), 0.1).requires_grad_(),
        "Wo": mat(n_out, HIDDEN, 1.0),
        "bo": torch.zeros(n_out).requires_grad_(),
    }


def forward(p, x):
    """[B, T, 8] -> logits [B, T, 10], the model.snn equations in float32."""
    b, steps, _ = x.shape
    h1 = torch.zeros(b, HIDDEN)
    h2 = torch.zeros(b, HIDDEN)
    a, c = float(A), float(ONE_MINUS_A)
    out = []
    for t in range(steps):
        h1 = a * h1 + c * torch.clamp(x[:, t] @ p["W1"].T + p["b1"], 0, 6)
        h2 = a * h2 + c * torch.clamp(h1 @ p["W2"].T + h2 @ p["U2"].T + p["b2"], 0, 6)
        out.append(h2 @ p["Wo"].T + p["bo"])
    return torch.stack(out, 1)


def grid(w, levels=3, ks=range(-24, 8)):
    """`w` on the 3-bit grid: per sign, sign * min(round(|w| / 2^k), 3) * 2^k
    with the k of least squared error (the first such k)."""
    w = w.detach()
    out = torch.zeros_like(w)
    steps = torch.tensor([2.0**k for k in ks], dtype=torch.float64)
    for sign in (1.0, -1.0):
        mask = (w * sign) > 0
        if not mask.any():
            continue
        mag = (w[mask] * sign).double()
        q = torch.clamp(torch.floor(mag[None] / steps[:, None] + 0.5), max=levels) * steps[:, None]
        err = ((q - mag[None]) ** 2).sum(1)
        best = int(torch.argmin(err))
        out[mask] = (sign * q[best]).float()
    return out


def quantized(p):
    """The parameters with every matrix on the grid (straight-through)."""
    return {k: (common.ste(v, grid(v)) if k in MATRICES else v) for k, v in p.items()}


def train(p, x, y, xt, yt, epochs, lr, quant):
    def fwd(xb):
        return forward(quantized(p) if quant else p, xb)

    def loss_of(xb, yb):
        return torch.nn.functional.cross_entropy(fwd(xb).mean(1), yb)

    def log(epoch):
        return f"test {common.evaluate(fwd, xt, yt, 'sum'):.3f}"

    common.fit(list(p.values()), loss_of, x, y, epochs, lr, log=log, clip=1.0, seed=SEED)


def ship(p, tag, x_test, y_test, started, extra):
    ex = common.example("lprnn")
    suffix = "" if tag == "" else "_" + tag
    weights = {k: common.f32(p[k]) for k in NAMES}
    common.write_npz(os.path.join(ex, f"weights{suffix}.npz"), weights)
    t = {k: torch.from_numpy(v) for k, v in weights.items()}
    acc = common.evaluate(lambda xb: forward(t, xb), x_test, y_test, "sum")
    k = common.GOLDEN_SAMPLES
    with torch.no_grad():
        golden = forward(t, x_test[:k])
    common.write_golden(os.path.join(ex, f"golden{suffix}.npz"), x_test[:k], {"logits": golden})
    common.write_trained(
        os.path.join(ex, f"trained{suffix}.json"),
        model=f"model{suffix}.snn",
        golden=f"golden{suffix}.npz",
        dataset=common.data_file("test"),
        calibration=common.data_file("calib"),
        classifier="logits",
        decision="sum",
        float_accuracy=acc,
        train_seed=SEED,
        train_seconds=round(time.time() - started),
        **extra,
    )
    return acc


def main():
    common.setup(SEED)
    started = time.time()
    x, y = common.load("train")
    xt, yt = common.load("test")
    p = init(x.shape[2], 10)
    print(f"lprnn: float training, {EPOCHS} epochs", flush=True)
    train(p, x, y, xt, yt, EPOCHS, 3e-3, quant=False)
    acc = ship(p, "", xt, yt, started, {"epochs": EPOCHS})
    print(f"lprnn float accuracy {acc:.4f}", flush=True)

    started = time.time()
    print(f"lprnn: 3-bit quantization-aware fine-tuning, {QAT_EPOCHS} epochs", flush=True)
    train(p, x, y, xt, yt, QAT_EPOCHS, 1e-3, quant=True)
    q = {k: (grid(v) if k in MATRICES else v.detach()) for k, v in p.items()}
    acc3 = ship(
        q,
        "3bit",
        xt,
        yt,
        started,
        {
            "epochs": QAT_EPOCHS,
            "weight_bits": 3,
            "starts_from": "weights.npz",
            "full_precision_accuracy": acc,
        },
    )
    print(f"lprnn 3-bit accuracy {acc3:.4f} (float {acc:.4f})", flush=True)


if __name__ == "__main__":
    main()
