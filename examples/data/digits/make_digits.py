"""Write the row-by-row digits task used by the trained examples.

Source: the UCI ML "Optical Recognition of Handwritten Digits" test set as
shipped inside scikit-learn's wheel (`sklearn.datasets.load_digits`: 1797
images of 8x8 pixels, each pixel a count 0..16; CC BY 4.0). No download.

Sequence task: each image is fed row by row, top to bottom, each row held
for 4 steps: 32 steps x 8 inputs.

- Analog (`train.npz`, `calib.npz`, `test.npz`): the input at step t is
  row t // 4 of the image, pixel / 16 (multiples of 1/16 in [0, 1]).
- Spikes (`spikes_*.npz`): a deterministic rate code of the same rows. Pixel
  p (0..16) of the row held in steps 4r..4r+3 fires in step 4r + k
  (k = 0..3) when p > 4k: 0, 1, 2, 3 or 4 spikes for p = 0, 1..4, 5..8,
  9..12, 13..16, first steps first. 8 binary channels, one per column.

Split (stratified, seed 0): test = 500 samples, train = the other 1297;
calibration = a stratified subset of 100 of the train samples (seed 1).
Each file holds `inputs` [S, 32, 8] float32 and `labels` [S] int64, in the
order of the original data set (ascending index).

Each trained example's `input.npy` (the first test sample, [32, 8] float32,
analog or spikes as the example takes) is written too.

    python examples/data/digits/make_digits.py
"""

import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

STEPS_PER_ROW = 4
OUT = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.dirname(os.path.dirname(OUT))
# The trained examples and the encoding each takes.
ENCODING = {
    "lprnn": "analog",
    "elman": "analog",
    "alif_srnn": "spikes",
    "delays": "spikes",
    "adaptive_lstm": "spikes",
}


def analog(images):
    """[S, 8, 8] pixel counts -> [S, 32, 8] float32 in multiples of 1/16."""
    x = images.astype(np.float32) / np.float32(16.0)
    return np.repeat(x, STEPS_PER_ROW, axis=1)


def spikes(images):
    """[S, 8, 8] pixel counts -> [S, 32, 8] binary float32 (rate code)."""
    s, rows, cols = images.shape
    out = np.zeros((s, rows * STEPS_PER_ROW, cols), dtype=np.float32)
    for k in range(STEPS_PER_ROW):
        out[:, k::STEPS_PER_ROW, :] = (images > 4 * k).astype(np.float32)
    return out


def split():
    """Indices (ascending) of the train, calibration and test samples."""
    d = load_digits()
    idx = np.arange(len(d.target))
    train, test = train_test_split(
        idx, test_size=500, stratify=d.target, random_state=0
    )
    train.sort()
    test.sort()
    _, calib = train_test_split(
        train, test_size=100, stratify=d.target[train], random_state=1
    )
    calib.sort()
    return d, train, calib, test


def main():
    d, train, calib, test = split()
    images = d.images.astype(np.int64)
    labels = d.target.astype(np.int64)
    for name, idx in (("train", train), ("calib", calib), ("test", test)):
        np.savez_compressed(
            os.path.join(OUT, f"{name}.npz"),
            inputs=analog(images[idx]),
            labels=labels[idx],
        )
        np.savez_compressed(
            os.path.join(OUT, f"spikes_{name}.npz"),
            inputs=spikes(images[idx]),
            labels=labels[idx],
        )
        print(f"{name}: {len(idx)} samples, classes {np.bincount(labels[idx]).tolist()}")
    first = images[test[:1]]
    for example, encoding in ENCODING.items():
        x = analog(first) if encoding == "analog" else spikes(first)
        np.save(os.path.join(EXAMPLES, example, "input.npy"), x[0])


if __name__ == "__main__":
    main()
