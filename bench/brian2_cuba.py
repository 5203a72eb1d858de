"""The user-style CUBA network of `snnc bench --runtime` in Brian2's C++
standalone mode, one thread, timing only `network.run`; optionally the same
network on snnc's runtime (`snnc compile` + `snnc run --stats`) in the same
sitting.

    snnc bench --runtime --backend loihi --keep /tmp/nets   # writes the network
    python bench/brian2_cuba.py /tmp/nets/user-cuba --snnc target/release/snnc

The network is read from the files snnc reads (`weights.npz`: four dense
[targets, sources] blocks). The neuron equations reproduce snnc's `lif`
step (docs/semantics.md) exactly under Euler integration at dt = 1 ms:

    v <- alpha_mem * v + i + bias     (frozen while refractory)
    i <- alpha_syn * i                (+ w on each presynaptic spike)

with the synaptic currents added in the synapse phase after the threshold,
which makes them arrive one step later, as snnc's recurrent projections do.
Brian2 counts a refractory period from the spike's own step, so snnc's four
frozen steps are `refractory = 5 * ms` here. Brian2 computes in float64,
snnc's reference in float32 and its chips in their integer formats, so
spike trains agree in rate, not spike for spike.

Synaptic events are spikes times their number of synapses, as snnc counts
them. Tests never run this script.
"""

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np


def brian2_run(weights, steps, build_dir, repeat):
    import brian2 as b2

    b2.set_device("cpp_standalone", directory=build_dir)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.defaultclock.dt = 1 * b2.ms

    ne, ni = weights["e_to_e"].shape[0], weights["i_to_i"].shape[0]
    n = ne + ni
    alpha_mem = math.exp(-1 / 20)
    alpha_syn = math.exp(-1 / 5)
    eqs = """
    dv/dt = ((alpha_mem - 1) * v + isyn + bias) / step : 1 (unless refractory)
    disyn/dt = (alpha_syn - 1) * isyn / step : 1
    """
    ns = {
        "alpha_mem": alpha_mem,
        "alpha_syn": alpha_syn,
        "bias": 0.055,
        "step": 1 * b2.ms,
    }
    group = b2.NeuronGroup(
        n,
        eqs,
        threshold="v > 1.0",
        reset="v = 0",
        refractory=5 * b2.ms,
        method="euler",
        namespace=ns,
    )

    # Weights are [targets, sources]; e is neurons 0..ne, i is ne..n.
    # (No local variable may be called `w`: Brian2 would also find it in
    # the run namespace, beside the synapses' own `w`.)
    def block(name, row0, col0):
        dense = weights[name]
        post, pre = np.nonzero(dense)
        return pre + col0, post + row0, dense[post, pre]

    synapses = []
    for src, blocks in (
        ("e", [("e_to_e", 0, 0), ("e_to_i", ne, 0)]),
        ("i", [("i_to_e", 0, ne), ("i_to_i", ne, ne)]),
    ):
        parts = [block(*b) for b in blocks]
        pre = np.concatenate([p[0] for p in parts])
        post = np.concatenate([p[1] for p in parts])
        values = np.concatenate([p[2] for p in parts])
        s = b2.Synapses(group, group, "w : 1", on_pre="isyn_post += w", name=f"from_{src}")
        s.connect(i=pre, j=post)
        s.w = values
        synapses.append(s)

    counter = b2.SpikeMonitor(group, record=False)
    net = b2.Network(group, *synapses, counter)
    net.run(steps * b2.ms)
    seconds = b2.device._last_run_time
    for _ in range(repeat - 1):
        # The same binary again; the fastest run counts.
        b2.device.run(with_output=False)
        seconds = min(seconds, b2.device._last_run_time)
    counts = np.asarray(counter.count[:], dtype=np.int64)
    fan_out = np.zeros(n, dtype=np.int64)
    for name, row0, col0 in (
        ("e_to_e", 0, 0),
        ("e_to_i", ne, 0),
        ("i_to_e", 0, ne),
        ("i_to_i", ne, ne),
    ):
        nz = np.count_nonzero(weights[name], axis=0)
        fan_out[col0 : col0 + len(nz)] += nz
    events = int((counts * fan_out).sum())
    synapse_count = sum(int(np.count_nonzero(w)) for w in weights.values())
    return {
        "neurons": n,
        "synapses": synapse_count,
        "spikes": int(counts.sum()),
        "events": events,
        "seconds": seconds,
    }


def snnc_run(snnc, model, steps, backend, work, repeat):
    out = os.path.join(work, f"{backend}.out.npz")
    cfg = os.path.join(work, f"{backend}.cfg")
    subprocess.run(
        [snnc, "compile", model, "--backend", backend, "-o", cfg],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    best = None
    for _ in range(repeat):
        r = subprocess.run(
            [snnc, "run", cfg, "--steps", str(steps), "--output", out, "--stats", "--threads", "1"],
            check=True,
            capture_output=True,
            text=True,
        )
        m = re.search(r"synaptic events (\d+)", r.stdout)
        s = re.search(r"simulated in ([0-9.]+) s", r.stdout)
        spikes = re.search(r"spikes and messages sent (\d+)", r.stdout)
        f = {
            "spikes": int(spikes.group(1)),
            "events": int(m.group(1)),
            "seconds": float(s.group(1)),
        }
        if best is None or f["seconds"] < best["seconds"]:
            best = f
    return best


def line(name, n, steps, f):
    hz = f["spikes"] / (n * steps * 1e-3)
    return (
        f"{name:<22} {hz:6.2f} Hz  {f['events']:>10} synaptic events  "
        f"{f['seconds']:8.4f} s  {f['events'] / f['seconds'] / 1e6:8.1f} M synaptic events/s"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("network", help="the user-cuba directory `snnc bench --runtime --keep DIR` wrote")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--snnc", help="an snnc binary: also compile and run the network with it")
    ap.add_argument("--backend", action="append", help="snnc backends to run (default: loihi)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    args = ap.parse_args()

    weights = dict(np.load(os.path.join(args.network, "weights.npz")))
    model = os.path.join(args.network, "model.snn")
    with tempfile.TemporaryDirectory() as work:
        brian = brian2_run(weights, args.steps, os.path.join(work, "brian2"), args.repeat)
        n = brian["neurons"]
        print(
            f"user-style CUBA: {n} neurons, {brian['synapses']} synapses, {args.steps} steps of 1 ms, "
            f"one thread, fastest of {args.repeat}"
        )
        print(line("brian2 cpp_standalone", n, args.steps, brian))
        if args.snnc:
            for backend in args.backend or ["loihi"]:
                f = snnc_run(args.snnc, model, args.steps, backend, work, args.repeat)
                print(line(f"snnc run ({backend})", n, args.steps, f))
                print(f"{'':<22} snnc / brian2 = {f['events'] / f['seconds'] / (brian['events'] / brian['seconds']):.2f} (events/s)")
            runs = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = subprocess.run(
                    [args.snnc, "sim", model, "--steps", str(args.steps), "-o", os.path.join(work, "sim.npz")],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                whole = time.perf_counter() - t
                steps = re.search(r"simulated \d+ steps in ([0-9.]+) s", r.stdout + r.stderr)
                runs.append((float(steps.group(1)), whole))
            stepped, whole = min(runs)
            print(
                f"{'snnc sim (reference)':<22} {stepped:8.4f} s the steps, "
                f"{whole:8.3f} s the whole command (reading the weights included)"
            )


if __name__ == "__main__":
    sys.exit(main())
