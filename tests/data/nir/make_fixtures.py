"""Writes the NIR fixtures of snnc's import tests, and each tool's own output.

For every network: `<name>.nir` (the tool's export, with the time step in the
graph's metadata as `dt`, seconds), and `<name>.npz` holding `input` [T, N],
the input fed to the tool, and the tool's own simulated outputs by name
(`spikes`, `v`, ...), one [T, n] float32 array each.

Run from this directory with the pinned versions (requirements.txt):
    python3 -m venv venv && venv/bin/pip install -r requirements.txt
    venv/bin/python make_fixtures.py
"""

import numpy as np
import torch
import nir

torch.manual_seed(0)
rng = np.random.default_rng(0)
T = 100


def full(shape, v):
    """A per-neuron parameter (a scalar one exports without a shape)."""
    return torch.full(shape if isinstance(shape, tuple) else (shape,), v)


def spikes(n, p=0.2):
    return (rng.random((T, n)) < p).astype(np.float32)


def save(name, graph, dt, inp, outputs):
    graph.metadata = {"dt": dt}
    nir.write(f"{name}.nir", graph)
    arrays = {"input": inp.astype(np.float32)}
    arrays.update({k: np.asarray(v, dtype=np.float32) for k, v in outputs.items()})
    np.savez(f"{name}.npz", **arrays)
    print(name, {k: v.shape for k, v in arrays.items()})


# ---- snnTorch (dt = 1e-4 s is what its exporter assumes) -----------------
import snntorch as snn
import snntorch.utils
from snntorch.export_nir import export_to_nir


def snntorch_ff():
    """Linear -> Leaky -> Linear -> Leaky, zero reset (NIR's LIF resets to v_reset)."""
    net = torch.nn.Sequential(
        torch.nn.Linear(12, 16),
        snn.Leaky(beta=full(16, 0.9), threshold=full(16, 1.0), init_hidden=True, reset_mechanism="zero"),
        torch.nn.Linear(16, 5),
        snn.Leaky(beta=full(5, 0.8), threshold=full(5, 0.5), init_hidden=True, reset_mechanism="zero", output=True),
    )
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    x = spikes(12, 0.3)
    snn.utils.reset(net)
    out_s, out_v = [], []
    with torch.no_grad():
        for t in range(T):
            s, v = net(torch.from_numpy(x[t : t + 1]))
            out_s.append(s[0].numpy())
            out_v.append(v[0].numpy())
    graph = export_to_nir(net, torch.from_numpy(x[:1]), ignore_dims=[0])
    save("snntorch_ff", graph, 1e-4, x, {"spikes": out_s, "v": out_v})


def snntorch_recurrent():
    """Linear -> RLeaky (all-to-all recurrent weights) -> Linear -> Leaky.

    The graph is RLeaky's export. Its simulated output comes from snnTorch's
    Leaky fed with the recurrent Linear of the previous step's spikes (the
    same weights): RLeaky's own zero reset also discards the input of the
    step after a spike, which its NIR export (an LIF resetting to v_reset)
    does not say."""
    fc1 = torch.nn.Linear(10, 20)
    rlif = snn.RLeaky(beta=full(20, 0.85), threshold=full(20, 1.0), linear_features=20, reset_mechanism="zero")
    fc2 = torch.nn.Linear(20, 4)
    lif = snn.Leaky(beta=full(4, 0.9), threshold=full(4, 1.0), reset_mechanism="zero")
    with torch.no_grad():
        fc1.weight.mul_(3.0)
        rlif.recurrent.weight.mul_(2.0)
        fc2.weight.mul_(2.0)
    hid_lif = snn.Leaky(beta=full(20, 0.85), threshold=full(20, 1.0), reset_mechanism="zero")
    x = spikes(10, 0.3)
    spk = torch.zeros(1, 20)
    mem = torch.zeros(1, 20)
    mem2 = torch.zeros(1, 4)
    hid, out = [], []
    with torch.no_grad():
        for t in range(T):
            cur = fc1(torch.from_numpy(x[t : t + 1])) + rlif.recurrent(spk)
            spk, mem = hid_lif(cur, mem)
            s2, mem2 = lif(fc2(spk), mem2)
            hid.append(spk[0].numpy())
            out.append(s2[0].numpy())

    class Exportable(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.rlif, self.fc2, self.lif = fc1, rlif, fc2, lif

        def forward(self, x):
            spk, mem = self.rlif(self.fc1(x))
            s2, _ = self.lif(self.fc2(spk))
            return s2

    graph = export_to_nir(Exportable(), torch.from_numpy(x[:1]), ignore_dims=[0])
    save("snntorch_recurrent", graph, 1e-4, x, {"spikes": out, "hidden": hid})


def snntorch_synaptic():
    """Linear (no bias) -> Synaptic (CubaLIF) -> Linear (no bias) -> Synaptic."""
    net = torch.nn.Sequential(
        torch.nn.Linear(8, 12, bias=False),
        snn.Synaptic(alpha=full(12, 0.7), beta=full(12, 0.9), threshold=full(12, 0.2), init_hidden=True, reset_mechanism="zero"),
        torch.nn.Linear(12, 3, bias=False),
        snn.Synaptic(alpha=full(3, 0.6), beta=full(3, 0.85), threshold=full(3, 0.2), init_hidden=True, reset_mechanism="zero", output=True),
    )
    with torch.no_grad():
        net[0].weight.mul_(10.0)
        net[2].weight.abs_().mul_(2.0)
    x = spikes(8, 0.3)
    snn.utils.reset(net)
    out_s = []
    with torch.no_grad():
        for t in range(T):
            s, syn, mem = net(torch.from_numpy(x[t : t + 1]))
            out_s.append(s[0].numpy())
    graph = export_to_nir(net, torch.from_numpy(x[:1]), ignore_dims=[0])
    save("snntorch_synaptic", graph, 1e-4, x, {"spikes": out_s})


def snntorch_conv():
    """Conv2d -> Leaky -> Flatten -> Linear -> Leaky on 1x6x6 frames."""
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1),
        snn.Leaky(beta=full((2, 6, 6), 0.9), threshold=full((2, 6, 6), 1.0), init_hidden=True, reset_mechanism="zero"),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * 6 * 6, 4),
        snn.Leaky(beta=full(4, 0.9), threshold=full(4, 1.0), init_hidden=True, reset_mechanism="zero", output=True),
    )
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[3].weight.mul_(4.0)
    x = spikes(36, 0.3)
    snn.utils.reset(net)
    out_s = []
    with torch.no_grad():
        for t in range(T):
            s, v = net(torch.from_numpy(x[t : t + 1]).reshape(1, 1, 6, 6))
            out_s.append(s[0].numpy())
    graph = export_to_nir(net, torch.from_numpy(x[:1]).reshape(1, 1, 6, 6), ignore_dims=[0])
    save("snntorch_conv", graph, 1e-4, x, {"spikes": out_s})


# ---- Norse (its cells integrate with dt = 1e-3 s by default) -------------
# Norse 1.1's exporter writes each time constant as dt / tau_inv (dt = 1e-3)
# rather than 1 / tau_inv: in its files a step of dt·(1/tau_inv) seconds of
# simulation is dt/tau = dt_norse·tau_inv, so the step that reproduces its
# simulation is dt_norse² = 1e-6 s, which the metadata records.
import norse.torch as norse

NORSE_DT = 1e-3 * 1e-3


def norse_ff():
    """Linear -> LIFBoxCell (LIF) -> Linear -> LIBoxCell (LI readout)."""
    net = norse.SequentialState(
        torch.nn.Linear(10, 16),
        norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=full(16, 100.0), v_th=full(16, 0.5), v_leak=full(16, 0.0), v_reset=full(16, 0.0))),
        torch.nn.Linear(16, 3),
        norse.LIBoxCell(norse.LIBoxParameters(tau_mem_inv=full(3, 50.0), v_leak=full(3, 0.0))),
    )
    with torch.no_grad():
        net[0].weight.mul_(20.0)
    x = spikes(10, 0.3)
    state = None
    out_v = []
    with torch.no_grad():
        for t in range(T):
            v, state = net(torch.from_numpy(x[t : t + 1]), state)
            out_v.append(v[0].numpy())
    graph = norse.to_nir(net, torch.from_numpy(x[:1]))
    save("norse_ff", graph, NORSE_DT, x, {"v": out_v})


def norse_cuba():
    """Linear -> LIFCell (CubaLIF, the synaptic input added as a jump) -> Linear -> LIFCell."""
    p1 = norse.LIFParameters(tau_syn_inv=full(16, 200.0), tau_mem_inv=full(16, 100.0), v_th=full(16, 0.3), v_leak=full(16, 0.0), v_reset=full(16, 0.0))
    p2 = norse.LIFParameters(tau_syn_inv=full(4, 100.0), tau_mem_inv=full(4, 50.0), v_th=full(4, 0.2), v_leak=full(4, 0.0), v_reset=full(4, 0.0))
    net = norse.SequentialState(
        torch.nn.Linear(10, 16, bias=False),
        norse.LIFCell(p1),
        torch.nn.Linear(16, 4, bias=False),
        norse.LIFCell(p2),
    )
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[2].weight.mul_(3.0)
    x = spikes(10, 0.3)
    state = None
    out_s = []
    with torch.no_grad():
        for t in range(T):
            s, state = net(torch.from_numpy(x[t : t + 1]), state)
            out_s.append(s[0].numpy())
    graph = norse.to_nir(net, torch.from_numpy(x[:1]))
    save("norse_cuba", graph, NORSE_DT, x, {"spikes": out_s})


# ---- the nir package itself ----------------------------------------------
def nir_delay():
    """Input -> Delay (per element) -> Linear -> IF -> Output, and the IF's
    spikes through a Scale into an integrator I (a counter). Built with the
    nir package; simulated here by forward Euler (dt = 1 ms) in numpy, the
    equations of its node definitions."""
    dt = 1e-3
    n_in, n = 6, 4
    delay = np.array([0, 1, 2, 3, 5, 8], dtype=np.float32) * dt
    w = rng.normal(0, 1.0, (n, n_in)).astype(np.float32)
    r = np.full(n, 400.0, dtype=np.float32)
    thr = np.full(n, 1.0, dtype=np.float32)
    scale = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([n_in])),
            "delay": nir.Delay(delay=delay),
            "w": nir.Linear(weight=w),
            "if": nir.IF(r=r, v_threshold=thr, v_reset=np.zeros(n, dtype=np.float32)),
            "scale": nir.Scale(scale=scale),
            "count": nir.I(r=np.full(n, 1000.0, dtype=np.float32)),
            "spikes": nir.Output(output_type=np.array([n])),
            "total": nir.Output(output_type=np.array([n])),
        },
        edges=[
            ("input", "delay"),
            ("delay", "w"),
            ("w", "if"),
            ("if", "spikes"),
            ("if", "scale"),
            ("scale", "count"),
            ("count", "total"),
        ],
    )
    x = spikes(n_in, 0.4)
    steps = np.round(delay / dt).astype(int)
    v = np.zeros(n)
    c = np.zeros(n)
    out_s, out_c = [], []
    for t in range(T):
        xd = np.array([x[t - steps[j], j] if t >= steps[j] else 0.0 for j in range(n_in)])
        v = v + dt * r * (w @ xd)
        s = (v > thr).astype(np.float32)
        v = np.where(s > 0, 0.0, v)
        c = c + dt * 1000.0 * (scale * s)
        out_s.append(s)
        out_c.append(c.copy())
    save("nir_delay", graph, dt, x, {"spikes": out_s, "total": out_c})


if __name__ == "__main__":
    torch.set_num_threads(1)
    snntorch_ff()
    snntorch_recurrent()
    snntorch_synaptic()
    snntorch_conv()
    norse_ff()
    norse_cuba()
    nir_delay()
