"""TrueNorth's rate code for the Elman network (Diehl et al. 2016), in float:
what the chip computes when snnc maps the clamped units of `examples/elman`
onto integrate-and-fire neurons, one window of K ticks per model step.

- Input channel i (value x in 0..1) is rate-coded by an accumulator: every
  tick it adds x and, once it reaches 1 (to within 1e-9), sends a spike and
  subtracts 1.
- Hidden unit j is an integrate-and-fire neuron with threshold 1,
  subtractive reset and a potential floored at 0. Every tick it adds
  W_in @ (this tick's input spikes) + W_rec @ (the hidden spikes of K ticks
  earlier, so window t - 1's spikes arrive in window t, tick for tick) + b.
  Its spike count over a window, divided by K, is its activity. The
  potential has no upper cap: input above one spike a tick stays in the
  potential and fires in later windows (windup), where the float model
  clamps it at 1.
- The readout integrates W_out @ (hidden spikes) / K without leak; the
  logits of step t are its value at the end of window t.

`window_code` runs this exactly (in the parameters' dtype; float64 for the
accuracy that trained.json records), or, for training, with straight-through
counts: the forward is the chip's, the backward the float model's
clamp(W_in r + W_rec a + b, 0, 1) along the chip's own activities a, with r
the window's input spike rate (the input's count / K).
"""

import torch

import common

WINDOW_TICKS = 15


def encode(x, ticks=WINDOW_TICKS):
    """Input spikes of the rate code: [B, T, N] values in 0..1 -> [B, T*K, N]
    (0 or 1, float32), tick k of window t at index t*K + k. The accumulator
    runs in float64."""
    x = x.double()
    b, steps, n = x.shape
    level = torch.zeros(b, n, dtype=torch.float64)
    out = torch.zeros(b, steps * ticks, n)
    for t in range(steps):
        for k in range(ticks):
            level = level + x[:, t]
            s = (level >= 1 - 1e-9).double()
            level = level - s
            out[:, t * ticks + k] = s.float()
    return out


def _window(v, drive, rec, b):
    """One window of integrate-and-fire ticks: (potential after, spikes
    [B, K, H]). `drive` and `rec` [B, K, H] are the input and recurrent
    currents of each tick."""
    spikes = []
    for k in range(drive.shape[1]):
        v = v + drive[:, k] + rec[:, k] + b
        s = (v >= 1).to(v.dtype)
        v = torch.clamp(v - s, min=0)
        spikes.append(s)
    return v, torch.stack(spikes, 1)


def window_code(p, spikes, ticks=WINDOW_TICKS, straight_through=False):
    """Logits [B, T, m] of the rate code for input spikes [B, T*K, N] (from
    `encode`), in the dtype of `p`'s weights. With `straight_through`, also
    the float pre-activations z [B, T, H] along the chip's activities, and
    gradients flow through the float clamp (see the module's text)."""
    dtype = p["W_rec"].dtype
    b, total, n = spikes.shape
    steps = total // ticks
    hidden = p["W_rec"].shape[0]
    spikes = spikes.to(dtype).reshape(b, steps, ticks, n)
    with torch.no_grad():
        drive = spikes @ p["W_in"].detach().T
    rates = spikes.sum(2) / ticks
    v = torch.zeros(b, hidden, dtype=dtype)
    fired = torch.zeros(b, ticks, hidden, dtype=dtype)
    a = torch.zeros(b, hidden, dtype=dtype)
    acc = torch.zeros(b, p["W_out"].shape[0], dtype=dtype)
    out, zs = [], []
    for t in range(steps):
        with torch.no_grad():
            rec = fired @ p["W_rec"].detach().T
            v, fired = _window(v, drive[:, t], rec, p["b"].detach())
            count = fired.sum(1) / ticks
        if straight_through:
            z = rates[:, t] @ p["W_in"].T + a @ p["W_rec"].T + p["b"]
            a = common.ste(torch.clamp(z, 0, 1), count)
            zs.append(z)
        else:
            a = count
        acc = acc + a @ p["W_out"].T
        out.append(acc)
    if straight_through:
        return torch.stack(out, 1), torch.stack(zs, 1)
    return torch.stack(out, 1)


def accuracy(p, spikes, labels, decision="last", ticks=WINDOW_TICKS):
    """Accuracy (0..1) of the exact rate code in float64."""
    p64 = {k: v.detach().double() for k, v in p.items()}
    with torch.no_grad():
        out = window_code(p64, spikes, ticks)
    return (common.decide(out, decision).argmax(1) == labels).double().mean().item()
