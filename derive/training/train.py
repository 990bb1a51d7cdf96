"""`derive train`: many gradient-descent steps with the module `derive build` generates.

The gradients and the loss come from the generated code itself (`codegen.module_source`, loaded
with `codegen.load_module` and checked against the independent backprop first, as a build does);
this module only chooses the batches and applies p ← p − η ∂J_batch/∂p. J on a batch is the spec's
loss on those examples (so a mean loss is averaged over the batch, a summed one summed).

The result is plain data (`Training`); `as_json` turns it into the `--json` object and the
`training.json` file; `training_report.py` turns it into the one-page PDF report.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..code.codegen import load_module, module_source
from ..engine.derivation import Derivation
from ..errors import CheckFailed, DeriveError
from ..numbers.answers import example_arrays
from ..numbers.check import check_module

# 100,000 epochs of the iris network take about a minute and make a training.json of ~10 MB.
MAX_EPOCHS = 100_000


@dataclass(frozen=True)
class Settings:
    epochs: int
    learning_rate: float
    batch_size: int | None = None  # None: the whole training set in one step per epoch
    shuffle: int | None = None     # seed of the order of the examples in each epoch; None keeps their order
    test_split: int | None = None  # number of examples held out for testing
    split_seed: int = 0


@dataclass(frozen=True)
class Epoch:
    """Measured after an epoch's last step (epoch 0: before training)."""

    epoch: int
    loss: float
    accuracy: float | None = None
    test_loss: float | None = None
    test_accuracy: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Training:
    network: str
    settings: Settings
    train_examples: tuple[int, ...]  # 0-based rows of the spec's examples, in their order
    test_examples: tuple[int, ...]
    initial: Epoch
    epochs: tuple[Epoch, ...]
    final: dict[str, np.ndarray]
    l2: str = ""  # "lambda = 0.7, scale 1/(2m)" when J has an L2 term

    @property
    def steps_per_epoch(self) -> int:
        size = self.settings.batch_size or len(self.train_examples)
        return math.ceil(len(self.train_examples) / size)


def settings_for(derivation: Derivation, epochs: int, batch_size: int | None = None, learning_rate: float | None = None,
                 shuffle: int | None = None, test_split: int | None = None, split_seed: int = 0) -> Settings:
    """Validated settings; `learning_rate` defaults to the spec's. Refusals are one-line DeriveErrors."""
    spec = derivation.network.spec
    if spec.values is None:
        raise DeriveError(f"{spec.source}: values: is missing; training needs [values] with the examples (x and y, "
                          "or data = \"file.csv\") and the parameters (or a seed)")
    m = len(spec.values.x)
    if not 1 <= epochs <= MAX_EPOCHS:
        raise DeriveError(f"--epochs: must be from 1 to {MAX_EPOCHS:,}, got {epochs}")
    if learning_rate is None:
        learning_rate = spec.values.learning_rate
        if learning_rate is None:
            raise DeriveError(f"{spec.source}: values.learning_rate: is missing; give one in the spec or use --lr")
    elif not (math.isfinite(learning_rate) and 0 < learning_rate <= 1e6):
        raise DeriveError(f"--lr: must be a positive number (at most 1e6), got {learning_rate}")
    if test_split is not None and not 1 <= test_split <= m - 1:
        raise DeriveError(f"--test-split: must hold out from 1 to {m - 1} of the {m} examples, got {test_split}")
    n_train = m - (test_split or 0)
    if batch_size is not None and not 1 <= batch_size:
        raise DeriveError(f"--batch-size: must be at least 1, got {batch_size}")
    if batch_size is not None and batch_size >= n_train:
        batch_size = None  # a batch as large as the training set is the full batch
    for name, seed in (("--shuffle", shuffle), ("--split-seed", split_seed)):
        if seed is not None and not 0 <= seed < 2**32:
            raise DeriveError(f"{name}: expected a whole number from 0 to 2**32 - 1, got {seed}")
    return Settings(epochs, float(learning_rate), batch_size, shuffle, test_split, split_seed)


def split(m: int, test_split: int | None, seed: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Training and test rows: `test_split` rows drawn with the seed, each part kept in file order.

    The held-out rows are the first of NumPy's legacy `RandomState(seed).permutation(m)`, a stream
    NumPy keeps fixed: the same rows as scikit-learn's `train_test_split(test_size=K, random_state=S)`,
    so a lab sheet's split can be reproduced.
    """
    if not test_split:
        return tuple(range(m)), ()
    held = set(np.random.RandomState(seed).permutation(m)[:test_split].tolist())
    return tuple(i for i in range(m) if i not in held), tuple(sorted(held))


def batches(n: int, size: int | None, rng: np.random.Generator | None) -> list[np.ndarray]:
    """The index arrays of one epoch: in order (or a fresh permutation), cut into batches of `size`."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    size = size or n
    return [order[i:i + size] for i in range(0, n, size)]


def accuracy_rule(spec) -> Callable[[np.ndarray, np.ndarray], float] | None:
    """Fraction classified right, for softmax or sigmoid outputs; None for other outputs (regression)."""
    if spec.activations[-1] not in ("softmax", "sigmoid"):
        return None
    if spec.layers[-1] == 1:
        return lambda out, Y: float(np.mean((out[:, 0] >= 0.5) == (Y[:, 0] >= 0.5)))
    return lambda out, Y: float(np.mean(np.argmax(out, axis=1) == np.argmax(Y, axis=1)))


def train(derivation: Derivation, settings: Settings, module=None,
          progress: Callable[[Epoch], None] | None = None) -> Training:
    """Train from the spec's initial parameters; `module` is the loaded generated code (made if None)."""
    spec = derivation.network.spec
    if module is None:
        module = load_module(module_source(derivation))
        report = check_module(spec, module)
        if not report.ok:
            raise CheckFailed("; ".join(report.lines()))
    params, X, Y = example_arrays(spec.values)
    rows, held = split(len(X), settings.test_split, settings.split_seed)
    Xtr, Ytr = X[list(rows)], Y[list(rows)]
    Xte, Yte = (X[list(held)], Y[list(held)]) if held else (None, None)
    accuracy = accuracy_rule(spec)
    L = spec.depth

    def measure(epoch: int) -> Epoch:
        def on(Xs, Ys):
            loss = float(module.loss(params, Xs, Ys))
            acc = accuracy(module.forward(params, Xs)[f"a{L}"], Ys) if accuracy else None
            return loss, acc
        loss, acc = on(Xtr, Ytr)
        test_loss, test_acc = on(Xte, Yte) if Xte is not None else (None, None)
        if not math.isfinite(loss) or (test_loss is not None and not math.isfinite(test_loss)):
            raise DeriveError(f"{spec.source}: training diverged in epoch {epoch} (J = {loss}); "
                              f"try a smaller learning rate than {settings.learning_rate:g} (--lr)")
        return Epoch(epoch, loss, acc, test_loss, test_acc)

    rng = np.random.default_rng(settings.shuffle) if settings.shuffle is not None else None
    rate = settings.learning_rate
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported by measure(), not warned about
        initial = measure(0)
        records = []
        for epoch in range(1, settings.epochs + 1):
            for index in batches(len(rows), settings.batch_size, rng):
                Xb, Yb = (Xtr, Ytr) if len(index) == len(rows) and rng is None else (Xtr[index], Ytr[index])
                grads = module.gradients(params, Xb, Yb)
                params = {name: value - rate * grads[name] for name, value in params.items()}
            records.append(measure(epoch))
            if progress is not None:
                progress(records[-1])
    l2 = f"lambda = {spec.l2:g}, scale {spec.l2_scale}" if spec.l2 else ""
    return Training(spec.name, settings, rows, held, initial, tuple(records), params, l2)


def as_json(training: Training) -> dict:
    """The `--json` object: settings, the epochs' measurements and the final parameters."""
    s = training.settings
    return {
        "network": training.network,
        "settings": {"epochs": s.epochs, "learning_rate": s.learning_rate, "batch_size": s.batch_size or len(training.train_examples),
                     "shuffle": s.shuffle, "test_split": s.test_split, "split_seed": s.split_seed if s.test_split else None,
                     "train_examples": len(training.train_examples), "test_examples": len(training.test_examples),
                     **({"l2": training.l2} if training.l2 else {})},
        "test_rows": list(training.test_examples),
        "initial": training.initial.as_dict(),
        "epochs": [e.as_dict() for e in training.epochs],
        "final": {name: value.tolist() for name, value in training.final.items()},
    }


def dumps(obj: dict) -> str:
    """JSON with one epoch per line: readable, and byte-identical for the same inputs."""
    parts = []
    for key, value in obj.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            body = "[\n" + ",\n".join("    " + json.dumps(item) for item in value) + "\n  ]"
        else:
            body = json.dumps(value)
        parts.append(f"  {json.dumps(key)}: {body}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
