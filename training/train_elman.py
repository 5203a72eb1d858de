"""Train the Elman example (Diehl et al. 2016, train-and-constrain for
TrueNorth) on row-by-row digits, and the same network without constraints.

    h   = clamp(W_in x + W_rec h + b, 0, 1)      (W_rec reads the previous h)
    acc = acc + W_out h                          (the new h; no leak)
    logits = acc

Decision `last`: the arg-max of the last step's `acc`, i.e. of W_out h
summed over the 32 steps.

Diehl's constraints are applied one at a time, each followed by retraining,
and then two stages make the weights hold their accuracy under the rate
code snnc maps the network to on TrueNorth (truenorth.py: one window of
K = 15 ticks per model step):
  0. float training of the clamped network;
  1. 16 weight levels: row j of the weights into a population (for `h` row j
     of W_in and of W_rec together, for `acc` row j of W_out) becomes
     n * c_j with integers n in -8..7 and one scale c_j > 0 per row (four
     TrueNorth axon types {1, 2, 4, -8} * c_j give exactly these levels);
     c_j = max(max(w)/7, max(-w)/8) over the row, rounded to 12 significant
     bits so that every n * c_j is exact in float32; straight-through;
  2. 16 activity levels: during training the activity is
     round(15 * clamp(z, 0, 1)) / 15, straight-through (on the chip a spike
     count 0..15 in a window of 15 ticks);
     fan-in <= 64 holds by construction (8 inputs + 56 hidden units);
  3. saturation: the same, plus a penalty on the pre-activation above 1,
     SATURATION * mean(relu(z - 1)^2). On the chip an integrate-and-fire
     neuron has no upper cap on its potential: input above one spike a
     tick is not clamped away but fires in later windows (windup);
  4. rate code: fine-tuning through the chip's window code itself, its
     spike counts straight-through (forward the chip's counts, backward the
     float clamp along the chip's activities), with the saturation penalty
     on those pre-activations.
All weights stay on the 16 levels throughout. The shipped model.snn is the
float clamp form (the chip supplies the activity levels); trained.json
gives, per stage, the accuracy of the float model, of 16 activity levels
and of the window code.

The unconstrained variant (relu.snn) has h = relu(W_in x + W_rec h + b), the
same readout, and is trained in float only.

    python training/train_elman.py
"""

import os
import time

import numpy as np
import torch

import common
import truenorth

SEED = 2
HIDDEN = 56
EPOCHS = 150
STAGE_EPOCHS = 80
SATURATION_EPOCHS = 40
WINDOW_EPOCHS = 20
SATURATION = 3.0
LEVELS = truenorth.WINDOW_TICKS
NAMES = ("W_in", "W_rec", "b", "W_out")


def init(n_in, n_out):
    g = torch.Generator().manual_seed(SEED)
    return {
        "W_in": (torch.randn(HIDDEN, n_in, generator=g) * 1.0 / np.sqrt(n_in)).requires_grad_(),
        "W_rec": (torch.randn(HIDDEN, HIDDEN, generator=g) * 0.5 / np.sqrt(HIDDEN)).requires_grad_(),
        "b": torch.zeros(HIDDEN).requires_grad_(),
        "W_out": (torch.randn(n_out, HIDDEN, generator=g) * 1.0 / np.sqrt(HIDDEN)).requires_grad_(),
    }


def forward(p, x, act="clamp", levels=None, with_z=False):
    """[B, T, 8] -> logits [B, T, 10]. `act` is `clamp` (0..1) or `relu`;
    `levels` (15) rounds the clamped activity to multiples of 1 / levels.
    `with_z` also returns the pre-activations [B, T, 56]."""
    b, steps, _ = x.shape
    h = torch.zeros(b, HIDDEN)
    acc = torch.zeros(b, p["W_out"].shape[0])
    out, zs = [], []
    for t in range(steps):
        z = x[:, t] @ p["W_in"].T + h @ p["W_rec"].T + p["b"]
        zs.append(z)
        if act == "relu":
            h = torch.relu(z)
        else:
            h = torch.clamp(z, 0, 1)
            if levels is not None:
                h = common.ste(h, torch.round(h * levels) / levels)
        acc = acc + h @ p["W_out"].T
        out.append(acc)
    if with_z:
        return torch.stack(out, 1), torch.stack(zs, 1)
    return torch.stack(out, 1)


def saturation(z):
    """The penalty on pre-activations above the clamp's 1."""
    return torch.relu(z - 1).square().mean()


def row_scales(w):
    """One scale per row: c_j = max(max(w)/7, max(-w)/8), rounded to 12
    significant bits (so n * c_j, |n| <= 8, is exact in float32)."""
    w = w.detach().double()
    c = torch.maximum(w.clamp(min=0).max(1).values / 7, (-w).clamp(min=0).max(1).values / 8)
    c = torch.where(c > 0, c, torch.ones_like(c))
    m, e = np.frexp(c.numpy())
    c = np.ldexp(np.round(m * 2**12) / 2**12, e)
    return torch.from_numpy(c).float()


def levels16(w):
    """`w` [rows, cols] on 16 levels per row: n * c_j, n in -8..7."""
    c = row_scales(w)[:, None]
    return torch.clamp(torch.round(w.detach() / c), -8, 7) * c


def constrained(p):
    """W_in | W_rec together per row, W_out per row, on 16 levels (STE)."""
    n_in = p["W_in"].shape[1]
    both = torch.cat([p["W_in"], p["W_rec"]], 1)
    q = common.ste(both, levels16(both))
    return {
        "W_in": q[:, :n_in],
        "W_rec": q[:, n_in:],
        "b": p["b"],
        "W_out": common.ste(p["W_out"], levels16(p["W_out"])),
    }


def train(p, data, test, epochs, lr, fwd, penalty=0.0):
    """Adam on the cross-entropy of the last step's logits of `fwd(xb)`;
    when `fwd` also returns pre-activations z, plus `penalty` *
    saturation(z). `data` and `test` are (inputs, labels) of the kind `fwd`
    takes; the progress shows the accuracy on `test`."""

    def logits(xb):
        out = fwd(xb)
        return out if isinstance(out, torch.Tensor) else out[0]

    def loss_of(xb, yb):
        out = fwd(xb)
        if isinstance(out, torch.Tensor):
            return torch.nn.functional.cross_entropy(out[:, -1], yb)
        out, z = out
        return torch.nn.functional.cross_entropy(out[:, -1], yb) + penalty * saturation(z)

    def log(_):
        return f"test {common.evaluate(logits, *test, 'last'):.3f}"

    x, y = data
    common.fit(list(p.values()), loss_of, x, y, epochs, lr, log=log, clip=1.0, seed=SEED)


def scores(w, xt, yt, st):
    """Accuracies of weights `w` on the test split: the float model, 16
    activity levels, and the chip's window code (`st`: the split's spikes)."""
    return {
        "float": common.evaluate(lambda xb: forward(w, xb), xt, yt, "last"),
        "activity_levels": common.evaluate(lambda xb: forward(w, xb, levels=LEVELS), xt, yt, "last"),
        "window_code": truenorth.accuracy(w, st, yt),
    }


def saturated(w, xt):
    """(fraction of pre-activations above 1, the largest) on the test split."""
    with torch.no_grad():
        _, z = forward(w, xt, with_z=True)
    return (z > 1).double().mean().item(), z.max().item()


def ship(weights, suffix, act, xt, yt, started, extra):
    ex = common.example("elman")
    w = {k: common.f32(weights[k]) for k in NAMES}
    common.write_safetensors(os.path.join(ex, f"weights{suffix}.safetensors"), w)
    t = {k: torch.from_numpy(v) for k, v in w.items()}
    acc = common.evaluate(lambda xb: forward(t, xb, act), xt, yt, "last")
    k = common.GOLDEN_SAMPLES
    with torch.no_grad():
        golden = forward(t, xt[:k], act)
    common.write_golden(os.path.join(ex, f"golden{suffix}.npz"), xt[:k], {"logits": golden})
    model = "model.snn" if suffix == "" else "relu.snn"
    common.write_trained(
        os.path.join(ex, f"trained{suffix}.json"),
        model=model,
        golden=f"golden{suffix}.npz",
        dataset=common.data_file("test"),
        calibration=common.data_file("calib"),
        classifier="logits",
        decision="last",
        float_accuracy=acc,
        train_seed=SEED,
        train_seconds=round(time.time() - started),
        **extra,
    )
    return acc, t


def main():
    common.setup(SEED)
    x, y = common.load("train")
    xt, yt = common.load("test")
    spikes, spikes_t = truenorth.encode(x), truenorth.encode(xt)

    def frozen():
        return {k: v.detach() for k, v in constrained(p).items()}

    stages = {}

    def done(name, w):
        stages[name] = scores(w, xt, yt, spikes_t)
        r = stages[name]
        print(
            f"  {name}: float {r['float']:.4f}, 16 activity levels {r['activity_levels']:.4f}, "
            f"window code {r['window_code']:.4f}",
            flush=True,
        )

    started = time.time()
    p = init(x.shape[2], 10)
    data, test = (x, y), (xt, yt)
    print(f"elman: stage 0, float clamp network, {EPOCHS} epochs", flush=True)
    train(p, data, test, EPOCHS, 3e-3, lambda xb: forward(p, xb))
    done("float", {k: v.detach() for k, v in p.items()})
    print(f"elman: stage 1, 16 weight levels, {STAGE_EPOCHS} epochs", flush=True)
    train(p, data, test, STAGE_EPOCHS, 1e-3, lambda xb: forward(constrained(p), xb))
    done("weight_levels", frozen())
    print(f"elman: stage 2, 16 activity levels, {STAGE_EPOCHS} epochs", flush=True)
    train(p, data, test, STAGE_EPOCHS, 1e-3, lambda xb: forward(constrained(p), xb, levels=LEVELS))
    done("activity_levels", frozen())
    sat_before = saturated(frozen(), xt)
    print(f"elman: stage 3, saturation penalty, {SATURATION_EPOCHS} epochs", flush=True)
    train(
        p,
        data,
        test,
        SATURATION_EPOCHS,
        1e-3,
        lambda xb: forward(constrained(p), xb, levels=LEVELS, with_z=True),
        SATURATION,
    )
    done("saturation", frozen())
    print(f"elman: stage 4, the rate code, {WINDOW_EPOCHS} epochs", flush=True)
    train(
        p,
        (spikes, y),
        (spikes_t, yt),
        WINDOW_EPOCHS,
        3e-4,
        lambda sb: truenorth.window_code(constrained(p), sb, straight_through=True),
        SATURATION,
    )
    done("window_code", frozen())
    final = frozen()
    sat_after = saturated(final, xt)
    last = stages["window_code"]
    acc, _ = ship(
        final,
        "",
        "clamp",
        xt,
        yt,
        started,
        {
            "epochs": [EPOCHS, STAGE_EPOCHS, STAGE_EPOCHS, SATURATION_EPOCHS, WINDOW_EPOCHS],
            "constraints": {
                "weight_levels": "row j of [W_in | W_rec] and of W_out is n * c_j, n in -8..7",
                "activity_levels": LEVELS + 1,
                "fan_in": HIDDEN + x.shape[2],
                "saturation_penalty": SATURATION,
            },
            "stage_accuracy": stages,
            "activity_quantized_accuracy": last["activity_levels"],
            "window_code_accuracy": last["window_code"],
            "window_ticks": truenorth.WINDOW_TICKS,
            "saturated_fraction": {"activity_levels": sat_before[0], "shipped": sat_after[0]},
            "max_preactivation": {"activity_levels": sat_before[1], "shipped": sat_after[1]},
        },
    )
    print(
        f"elman constrained: clamp form {acc:.4f}, 16 activity levels "
        f"{last['activity_levels']:.4f}, window code (K = {truenorth.WINDOW_TICKS}) "
        f"{last['window_code']:.4f}",
        flush=True,
    )

    started = time.time()
    common.setup(SEED)
    p = init(x.shape[2], 10)
    print(f"elman relu (unconstrained), {EPOCHS} epochs", flush=True)
    train(p, data, test, EPOCHS, 3e-3, lambda xb: forward(p, xb, "relu"))
    acc_r, _ = ship(p, "_relu", "relu", xt, yt, started, {"epochs": EPOCHS})
    print(f"elman relu accuracy {acc_r:.4f}", flush=True)


if __name__ == "__main__":
    main()
