"""Shared pieces of the training scripts: data, determinism, the surrogate
gradient, quantizers, and writing weights, goldens and trained.json.

Every forward pass in these scripts follows docs/semantics.md step by step
in float32, so `snnc sim` on the example reproduces what the script reports.
"""

import json
import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "examples", "data", "digits")
GOLDEN_SAMPLES = 4
DECISIONS = ("sum", "mean", "last", "max")


def setup(seed):
    """Fixed seeds, deterministic kernels, one thread."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)


def load(split, spikes=False):
    """(inputs [S, T, N] float32 tensor, labels [S] int64 tensor) of a split."""
    name = ("spikes_" if spikes else "") + split + ".npz"
    with np.load(os.path.join(DATA, name)) as f:
        return torch.from_numpy(f["inputs"]), torch.from_numpy(f["labels"])


def data_file(split, spikes=False):
    """The split's file, relative to the repository root."""
    name = ("spikes_" if spikes else "") + split + ".npz"
    return os.path.relpath(os.path.join(DATA, name), ROOT)


def decide(out, decision):
    """[B, T, m] outputs -> [B, m] scores whose arg-max is the class."""
    if decision == "sum":
        return out.sum(1)
    if decision == "mean":
        return out.mean(1)
    if decision == "last":
        return out[:, -1]
    if decision == "max":
        return out.max(1).values
    raise ValueError(decision)


class Spike(torch.autograd.Function):
    """Heaviside `x > 0` forward; the derivative of a fast sigmoid
    (SuperSpike, 1 / (1 + k|x|)^2) backward."""

    SLOPE = 5.0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + Spike.SLOPE * x.abs()) ** 2


spike = Spike.apply


def ste(x, q):
    """`q` forward, the identity's gradient backward (straight-through)."""
    return x + (q - x).detach()


def alpha(tau_steps):
    """Retention exp(-dt / tau) as snnc computes it: in float64, then f32."""
    t = np.asarray(tau_steps, dtype=np.float64)
    return np.exp(-1.0 / t).astype(np.float32)


def evaluate(forward, x, y, decision, batch=500):
    """Accuracy (0..1) of `forward` (inputs -> the classifier's [B, T, m])."""
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = forward(x[i : i + batch])
            correct += (decide(out, decision).argmax(1) == y[i : i + batch]).sum().item()
    return correct / len(x)


def fit(params, loss_of, x, y, epochs, lr, batch=64, log=None, clip=None, seed=0):
    """Adam on mini-batches, a cosine learning rate; `loss_of(xb, yb)` is the
    loss of one batch. `log(epoch)` returns a progress string."""
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator().manual_seed(seed)
    started = time.time()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            loss = loss_of(x[idx], y[idx])
            opt.zero_grad()
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if log is not None and (epoch + 1) % 5 == 0 or epoch + 1 == epochs:
            extra = log(epoch) if log is not None else ""
            print(
                f"  epoch {epoch + 1}/{epochs}  loss {total / len(x):.4f}  {extra}"
                f"  ({time.time() - started:.0f} s)",
                flush=True,
            )


def f32(t):
    """A tensor (or array) as a contiguous float32 numpy array."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(t, dtype=np.float32))


def write_npz(path, arrays):
    """Weights as an uncompressed .npz (float32, or int32 for delays)."""
    np.savez(path, **arrays)
    print(f"wrote {os.path.relpath(path, ROOT)}")


def write_safetensors(path, arrays):
    """Weights as a .safetensors file."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, path)
    print(f"wrote {os.path.relpath(path, ROOT)}")


def write_golden(path, inputs, outputs):
    """`inputs` [k, T, N] and `out_<name>` [k, T, m] of the script's forward."""
    arrays = {"inputs": f32(inputs)}
    for name, value in outputs.items():
        arrays["out_" + name] = f32(value)
    np.savez(path, **arrays)
    print(f"wrote {os.path.relpath(path, ROOT)}")


def write_trained(path, **fields):
    """trained.json: what was trained, on what, and how to do it again."""
    fields.setdefault("torch", torch.__version__)
    fields.setdefault("numpy", np.__version__)
    fields.setdefault(
        "command", "python " + os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    )
    with open(path, "w") as f:
        json.dump(fields, f, indent=2)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)}")


def example(name):
    """The example's folder."""
    return os.path.join(ROOT, "examples", name)
