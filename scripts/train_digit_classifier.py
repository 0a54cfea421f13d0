"""Train the class-score classifiers shipped in assets/ (SPEC-NOTES section 4).

Small MLPs (pixels in [0, 1] -> 256 ReLU -> 11 classes): the ten classes plus class 10, "not a
digit" / "not an item", trained on noise of several kinds (uniform, Gaussian, salt-and-pepper,
constant images, random blobs, pixel-shuffled examples, blends of two examples). Digit classifiers
for sklearn's 8x8 digits and the bundled MNIST subset (assets/digit_classifier_<name>.npz), item
classifiers for the bundled Fashion-MNIST subset at 28x28 and 8x8 (assets/item_classifier_<name>.npz).
Plain arrays (no pickle); the held-out accuracy on real images and on fresh noise is printed and
stored there.

    python scripts/train_digit_classifier.py            # all four
    python scripts/train_digit_classifier.py --only fashion8
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gkn_core.class_score import CLASS_SCORES, REJECT, make_noise
from gkn_core.data.images import load_named_dataset

ASSETS = Path(__file__).resolve().parents[1] / "assets"
HIDDEN = 256


# data set -> (training steps, held-out images)
RECIPES = {"digits8": (6000, 360), "mnist": (8000, 2000), "fashion": (8000, 2000), "fashion8": (30000, 2000)}


def train_one(name: str, steps: int, held_out: int, seed: int = 0) -> dict[str, float]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = load_named_dataset(name, "unit")
    shape = data.image_shape
    order = rng.permutation(data.n)
    test, train = order[:held_out], order[held_out:]
    x_train, y_train = data.x[train], data.labels[train]
    x_test, y_test = data.x[test], data.labels[test]
    n_noise = len(train) // 5
    model = nn.Sequential(nn.Linear(data.dim, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 11))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for step in range(steps):
        if step % 200 == 0:  # fresh noise every 200 steps
            noise = make_noise(n_noise, shape, rng, x_train)
            x_all = torch.from_numpy(np.concatenate([x_train, noise]).astype(np.float32))
            y_all = torch.from_numpy(
                np.concatenate([y_train, np.full(n_noise, REJECT)]).astype(np.int64)
            )
        index = torch.randint(0, len(x_all), (256,))
        loss = loss_fn(model(x_all[index]), y_all[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        test_pred = model(torch.from_numpy(np.array(x_test))).argmax(1).numpy()
        fresh = make_noise(2000, shape, np.random.default_rng(seed + 99), x_test)
        noise_pred = model(torch.from_numpy(fresh.astype(np.float32))).argmax(1).numpy()
    class_accuracy = float((test_pred == y_test).mean())
    noise_accuracy = float((noise_pred == REJECT).mean())
    first, second = model[0], model[2]
    path = ASSETS / f"{CLASS_SCORES[name][0]}.npz"
    # The digit classifiers keep the key they shipped with; the item classifiers use the neutral one.
    accuracy_key = "held_out_digit_accuracy" if name in ("digits8", "mnist") else "held_out_class_accuracy"
    np.savez(
        path,
        W1=first.weight.detach().numpy().T.astype(np.float32),
        b1=first.bias.detach().numpy().astype(np.float32),
        W2=second.weight.detach().numpy().T.astype(np.float32),
        b2=second.bias.detach().numpy().astype(np.float32),
        image_shape=np.asarray(shape, dtype=np.int64),
        **{accuracy_key: np.float64(class_accuracy)},
        held_out_noise_accuracy=np.float64(noise_accuracy),
        held_out=np.int64(held_out),
    )
    print(
        f"{name}: {len(train)} training images + noise, {held_out} held out: class accuracy "
        f"{class_accuracy:.4f}, noise recognised as the reject class {noise_accuracy:.4f} "
        f"({time.perf_counter() - start:.0f} s) -> {path}"
    )
    return {"class_accuracy": class_accuracy, "noise_accuracy": noise_accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=tuple(RECIPES))
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, (steps, held_out) in RECIPES.items():
        if args.only in (None, name):
            train_one(name, steps=steps, held_out=held_out)


if __name__ == "__main__":
    main()
