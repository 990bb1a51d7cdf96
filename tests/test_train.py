"""`derive train`: every epoch's loss against a plain NumPy loop written here, the iris lab reproduced,
CSV examples, and one-line refusals that write nothing."""
import json
import os
import re

import numpy as np
import pytest
from conftest import EXAMPLES, spec_text

from derive.cli import main
from derive.sheets.latex import have_latex

X7 = [[0.5, -1.0, 0.25], [1.5, 0.5, -0.5], [-0.75, 0.25, 1.0], [0.1, 0.9, -0.3],
      [-1.2, -0.4, 0.6], [0.8, -0.7, -0.9], [0.3, 0.3, 0.3]]
ONE_HOT7 = [[1, 0], [0, 1], [0, 1], [1, 0], [1, 0], [0, 1], [1, 0]]
TARGET7 = [[0.1, 0.9], [0.8, 0.3], [0.5, 0.5], [0.2, 0.1], [0.9, 0.6], [0.4, 0.7], [0.3, 0.2]]


def _spec(tmp_path, activation, loss, y, rate=0.5, name="t"):
    values = f"[values]\nx = {X7}\ny = {y}\nseed = 3\nlearning_rate = {rate}\n"
    path = tmp_path / f"{name}.toml"
    path.write_text(spec_text([3, 4, 2], activation, loss, bias=True, name=name, extra=values))
    return path


def _train_json(capsys, *args):
    assert main(["train", *map(str, args), "--json", "--no-pdf"]) == 0
    return json.loads(capsys.readouterr().out)


# A plain NumPy network and loop, written from the formulas, sharing nothing with derive -------------
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _numpy_loss_and_grads(P, X, Y, hidden, output):
    z1 = X @ P["W1"].T + P["b1"]
    a1 = _sigmoid(z1) if hidden == "sigmoid" else np.tanh(z1)
    z2 = a1 @ P["W2"].T + P["b2"]
    if output == "softmax":  # with cross_entropy_mean: J = −1/m Σ y ln ŷ, ∂J/∂z2 = (ŷ − y)/m
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        a2 = e / e.sum(axis=1, keepdims=True)
        J = -np.sum(Y * np.log(a2)) / len(X)
        d2 = (a2 - Y) / len(X)
    else:  # sigmoid with half_sse: J = ½ Σ (y − ŷ)², ∂J/∂z2 = (ŷ − y) σ'(z2)
        a2 = _sigmoid(z2)
        J = 0.5 * np.sum((Y - a2) ** 2)
        d2 = (a2 - Y) * a2 * (1 - a2)
    d1 = (d2 @ P["W2"]) * (a1 * (1 - a1) if hidden == "sigmoid" else 1 - a1 ** 2)
    return J, {"W1": d1.T @ X, "b1": d1.sum(0), "W2": d2.T @ a1, "b2": d2.sum(0)}


def _numpy_training(P, X, Y, hidden, output, rate, epochs, batch, shuffle):
    P = {k: np.array(v, dtype=float) for k, v in P.items()}
    rng = np.random.default_rng(shuffle) if shuffle is not None else None
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(X)) if rng is not None else np.arange(len(X))
        for start in range(0, len(X), batch or len(X)):
            rows = order[start:start + (batch or len(X))]
            _, g = _numpy_loss_and_grads(P, X[rows], Y[rows], hidden, output)
            P = {k: P[k] - rate * g[k] for k in P}
        losses.append(_numpy_loss_and_grads(P, X, Y, hidden, output)[0])
    return losses, P


@pytest.mark.parametrize("hidden, output, loss, y", [
    ("sigmoid", "sigmoid", "half_sse", TARGET7),
    ("tanh", "softmax", "cross_entropy_mean", ONE_HOT7),
])
@pytest.mark.parametrize("batch, shuffle", [(None, None), (3, None), (3, 11), (1, None), (1, 5)],
                         ids=["full-batch", "mini-batch", "mini-batch-shuffled", "online", "online-shuffled"])
def test_every_epoch_loss_matches_a_plain_numpy_loop(tmp_path, capsys, hidden, output, loss, y, batch, shuffle):
    from derive.engine.spec import load_spec

    path = _spec(tmp_path, [hidden, output], loss, y)
    args = [path, "--epochs", 25, "--out", tmp_path / "out"]
    args += ["--batch-size", batch] if batch else []
    args += ["--shuffle", shuffle] if shuffle is not None else []
    out = _train_json(capsys, *args)
    start = load_spec(path).values.params
    want, final = _numpy_training(start, np.array(X7, float), np.array(y, float), hidden, output, 0.5, 25, batch, shuffle)
    got = [e["loss"] for e in out["epochs"]]
    assert [e["epoch"] for e in out["epochs"]] == list(range(1, 26))
    np.testing.assert_allclose(got, want, rtol=1e-11)
    for name, value in final.items():
        np.testing.assert_allclose(out["final"][name], value, rtol=1e-10, atol=1e-13)
    assert min(want) < want[0] - 1e-3  # it moves: the comparison is not between two constant sequences


def test_the_iris_lab_is_reproduced(capsys):
    """The lab sheet's own loop (its code, on its weights and its train_test_split) against derive train."""
    out = _train_json(capsys, EXAMPLES / "training" / "iris-lab.toml", "--epochs", 5000, "--test-split", 20, "--split-seed", 4)
    import csv

    rows = list(csv.reader(open(EXAMPLES / "training" / "iris.csv")))[1:]
    X = np.array([[float(v) for v in r[:4]] for r in rows])
    names = ["setosa", "versicolor", "virginica"]
    y = np.eye(3)[[names.index(r[4]) for r in rows]]
    perm = np.random.RandomState(4).permutation(150)  # what train_test_split(test_size=20, random_state=4) does
    X_train, X_test, y_train, y_test = X[perm[20:]], X[perm[:20]], y[perm[20:]], y[perm[:20]]
    np.random.seed(10)
    W1 = np.random.normal(scale=0.5, size=(4, 2))
    W2 = np.random.normal(scale=0.5, size=(2, 3))
    sigmoid = lambda x: 1 / (1 + np.exp(-x))
    N, losses = y_train.shape[0], []
    for _ in range(5000):  # the lab's loop, line for line
        A1 = sigmoid(np.dot(X_train, W1))
        A2 = sigmoid(np.dot(A1, W2))
        E1 = A2 - y_train
        dW1 = E1 * A2 * (1 - A2)
        E2 = np.dot(dW1, W2.T)
        dW2 = E2 * A1 * (1 - A1)
        W2 = W2 - 0.1 * np.dot(A1.T, dW1) / N
        W1 = W1 - 0.1 * np.dot(X_train.T, dW2) / N
        A2 = sigmoid(np.dot(sigmoid(np.dot(X_train, W1)), W2))
        losses.append(((A2 - y_train) ** 2).sum() / (2 * N))  # derive's half_mse: 1/(2m) Σ over examples and units
    A2 = sigmoid(np.dot(sigmoid(np.dot(X_test, W1)), W2))
    lab_accuracy = (A2.argmax(axis=1) == y_test.argmax(axis=1)).mean()
    np.testing.assert_allclose([e["loss"] for e in out["epochs"]], losses, rtol=1e-9)
    np.testing.assert_allclose(out["final"]["W1"], W1.T, rtol=1e-8)
    assert sorted(out["test_rows"]) == sorted(perm[:20].tolist())
    assert out["epochs"][-1]["test_accuracy"] == lab_accuracy == 0.95  # docs/training.md's figure
    assert out["settings"]["train_examples"] == 130 and out["settings"]["test_examples"] == 20


def test_json_is_deterministic_and_is_the_file_written(tmp_path, capsys):
    path = _spec(tmp_path, "sigmoid", "half_sse", TARGET7)
    args = ["train", str(path), "--epochs", "7", "--batch-size", "2", "--shuffle", "1", "--test-split", "2",
            "--out", str(tmp_path / "out"), "--json", "--no-pdf"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert (tmp_path / "out" / "t" / "training.json").read_text() == first
    out = json.loads(first)
    assert set(out) >= {"epochs", "final", "settings"}
    assert set(out["epochs"][0]) == {"epoch", "loss", "accuracy", "test_loss", "test_accuracy"}


def test_regression_has_no_accuracy_and_the_table_is_readable(tmp_path, capsys):
    path = tmp_path / "r.toml"
    path.write_text(spec_text([3, 4, 2], ["tanh", "identity"], "mse", name="r",
                              extra=f"[values]\nx = {X7}\ny = {TARGET7}\nseed = 1\nlearning_rate = 0.1\n"))
    assert main(["train", str(path), "--epochs", "50", "--no-pdf", "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "accuracy" not in text and "epoch" in text and "wrote training.json" in text
    lines = text.splitlines()
    assert lines[2].split()[0] == "0" and lines[-2].split()[0] == "50"


@pytest.mark.skipif(not have_latex(), reason="needs pdflatex")
def test_out_writes_the_report_and_a_build_stays_up_to_date(tmp_path, capsys):
    import subprocess

    path = _spec(tmp_path, ["tanh", "softmax"], "cross_entropy_mean", ONE_HOT7)
    out = tmp_path / "out"
    assert main(["build", str(path), "--out", str(out), "--no-pdf"]) == 0
    assert main(["train", str(path), "--epochs", "30", "--test-split", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    pdf = out / "t" / "training.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Training" in text and "Accuracy" in text and "test set" in text and "W1" in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)
    assert main(["build", str(path), "--out", str(out), "--no-pdf"]) == 0
    assert "up to date" in capsys.readouterr().out  # training files do not make the build stale


# CSV examples -----------------------------------------------------------------------------------
IRIS_HEAD = "sepal_length,sepal_width,petal_length,petal_width,species\n"


def _csv_spec(tmp_path, csv_text=None, data='"iris.csv"', layers=(4, 2, 3), extra='target = "species"\n',
              activation="sigmoid", loss="half_mse"):
    if csv_text is not None:
        (tmp_path / "iris.csv").write_text(csv_text)
    path = tmp_path / "s.toml"
    path.write_text(spec_text(list(layers), activation, loss, bias=False, name="s",
                              extra=f"[values]\ndata = {data}\n{extra}seed = 1\nlearning_rate = 0.1\n"))
    return path


def test_bundled_iris_csv_is_fishers_data():
    from derive.engine.spec import load_spec

    values = load_spec(EXAMPLES / "training" / "iris-lab.toml").values
    X, Y = np.array(values.x), np.array(values.y)
    assert X.shape == (150, 4) and Y.sum(axis=0).tolist() == [50, 50, 50]
    np.testing.assert_allclose(X.mean(axis=0), [5.843333, 3.057333, 3.758, 1.199333], atol=1e-6)
    assert Y[0].tolist() == [1, 0, 0] and Y[50].tolist() == [0, 1, 0] and Y[149].tolist() == [0, 0, 1]
    # Fisher's rows 35 and 38 (the UCI copy has two errors there)
    assert X[34].tolist() == [4.9, 3.1, 1.5, 0.2] and X[37].tolist() == [4.9, 3.6, 1.4, 0.1]


def test_class_names_are_one_hot_in_sorted_order_and_numbers_stay(tmp_path):
    from derive.engine.spec import load_spec

    rows = "a,b,kind\n1,2,zeta\n3,4,alpha\n5,6,mu\n"
    spec = load_spec(_csv_spec(tmp_path, rows, layers=(2, 3, 3), extra='inputs = ["a", "b"]\ntarget = "kind"\n'))
    assert spec.values.y == ((0, 0, 1), (1, 0, 0), (0, 1, 0)) and spec.values.x == ((1, 2), (3, 4), (5, 6))
    # two classes and one sigmoid output: 0 and 1, the second name in sorted order being 1
    rows = "a,b,kind\n1,2,yes\n3,4,no\n"
    spec = load_spec(_csv_spec(tmp_path, rows, layers=(2, 2, 1), extra='target = "kind"\n', loss="bce"))
    assert spec.values.y == ((1.0,), (0.0,))
    # numeric targets as they are; inputs default to every other column, in file order
    rows = "t1,a,t2,b\n0.5,1,-2,2\n0.25,3,1e-1,4\n"
    spec = load_spec(_csv_spec(tmp_path, rows, layers=(2, 2, 2), extra='target = ["t1", "t2"]\n',
                               activation=["tanh", "identity"], loss="mse"))
    assert spec.values.x == ((1, 2), (3, 4)) and spec.values.y == ((0.5, -2), (0.25, 0.1))


HOSTILE = {
    "missing file": (None, '"nothere.csv"', "", "no such file"),
    "missing column": (IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n", '"iris.csv"', 'inputs = ["sepal_length", "petal", "petal_length", "petal_width"]\n', "has no column 'petal'"),
    "missing target": (IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n", '"iris.csv"', 'target = "class"\n', "has no column 'class'"),
    "bad number": (IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n4.9,x3.0,1.4,0.2,virginica\n", '"iris.csv"', "", "line 3, column 'sepal_width': 'x3.0' is not a number"),
    "nan": (IRIS_HEAD + "5.1,nan,1.4,0.2,setosa\n", '"iris.csv"', "", "'nan' is not a number"),
    "huge": (IRIS_HEAD + "5.1,1e300,1.4,0.2,setosa\n", '"iris.csv"', "", "too large"),
    "empty cell": (IRIS_HEAD + "5.1,,1.4,0.2,setosa\n", '"iris.csv"', "", "is empty"),
    "short row": (IRIS_HEAD + "5.1,1.4,0.2,setosa\n", '"iris.csv"', "", "line 2: has 4 fields but the header line has 5"),
    "wrong class count": (IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n4.9,3.0,1.4,0.2,virginica\n", '"iris.csv"', "", "has 2 classes"),
    "no rows": (IRIS_HEAD, '"iris.csv"', "", "no examples"),
    "empty file": ("", '"iris.csv"', "", "is empty"),
    "duplicate column": ("a,a,b,c,species\n1,2,3,4,setosa\n", '"iris.csv"', "", "appears twice"),
    "absolute path": (None, '"/etc/passwd"', "", "without '..' or a leading '/'"),
    "parent folder": (None, '"../iris.csv"', "", "without '..' or a leading '/'"),
    "folder": (None, '"."', "", "is a folder"),
    "not a string": (None, "3", "", "expected a string"),
    "x as well": (IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n", '"iris.csv"', "x = [[1, 2, 3, 4]]\n", "values.x: cannot be combined"),
    "target is an input": (IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n", '"iris.csv"', 'inputs = ["species", "a", "b", "c"]\n', "is also the target"),
    "not utf-8": ("a,b\n\udcff", '"iris.csv"', "", "not UTF-8"),
    "too many rows": (IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n" * 1001, '"iris.csv"', "", "at most 1000"),
    "an underflow": (IRIS_HEAD + "5.1,1e-400,1.4,0.2,setosa\n", '"iris.csv"', "",
                     "1e-400 is too small to compute with (it would become 0); a nonzero magnitude is at least 2.225e-308"),
    "a subnormal": (IRIS_HEAD + "5.1,-4.9E-320,1.4,0.2,setosa\n", '"iris.csv"', "", "a float keeps only some of its digits"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_broken_data_fails_in_one_line_and_writes_nothing(tmp_path, capsys, case):
    text, data, extra, message = HOSTILE[case]
    folder = tmp_path / "spec"
    folder.mkdir()
    if text is not None:
        (folder / "iris.csv").write_bytes(text.encode("utf-8", "surrogateescape"))
    if "target" not in extra:
        extra += 'target = "species"\n'
    path = _csv_spec(folder, None, data, extra=extra)
    out = tmp_path / "out"
    assert main(["train", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"derive: error: {path}: values.") and message in err, err
    assert not out.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_or_device_is_refused_without_blocking(tmp_path, capsys):
    os.mkfifo(tmp_path / "iris.csv")
    path = _csv_spec(tmp_path, None)
    assert main(["train", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "is not a regular file" in capsys.readouterr().err
    (tmp_path / "iris.csv").unlink()
    (tmp_path / "iris.csv").symlink_to("/dev/zero")
    assert main(["train", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "leads outside the spec's folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_link_leading_out_of_the_folder_is_refused(tmp_path, capsys):
    secret = tmp_path / "secret.csv"
    secret.write_text(IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n")
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "iris.csv").symlink_to(secret)
    assert main(["train", str(_csv_spec(folder, None)), "--out", str(tmp_path / "out")]) == 2
    assert "leads outside the spec's folder" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs: must be from 1"),
    (["--test-split", "7"], "--test-split: must hold out from 1 to 6 of the 7 examples"),
    (["--lr", "nan"], "--lr: must be a positive number"),
    (["--lr", "-1"], "--lr: must be a positive number"),
    (["--batch-size", "0"], "--batch-size: must be at least 1"),
    (["--shuffle", "-3"], "--shuffle: expected a whole number"),
])
def test_bad_options_fail_in_one_line(tmp_path, capsys, args, message):
    path = _spec(tmp_path, "sigmoid", "half_sse", TARGET7)
    assert main(["train", str(path), *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists()


def test_a_spec_without_values_or_rate_is_refused(tmp_path, capsys):
    path = tmp_path / "n.toml"
    path.write_text(spec_text([2, 2, 1], name="n"))
    assert main(["train", str(path)]) == 2
    assert "values: is missing" in capsys.readouterr().err
    path.write_text(spec_text([2, 1], name="n", extra="[values]\nx = [[1, 2]]\ny = [0.5]\nseed = 1\n"))
    assert main(["train", str(path)]) == 2
    assert "values.learning_rate: is missing; give one in the spec or use --lr" in capsys.readouterr().err


def test_divergence_is_one_line(tmp_path, capsys):
    path = tmp_path / "d.toml"
    path.write_text(spec_text([3, 4, 2], ["relu", "identity"], "sse", name="d",
                              extra=f"[values]\nx = {X7}\ny = {TARGET7}\nseed = 1\nlearning_rate = 1000\n"))
    assert main(["train", str(path), "--epochs", "200", "--out", str(tmp_path / "out")]) == 2
    assert "training diverged" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_progress_bar_draws_on_one_line_and_clears_itself():
    import io

    from derive.training.output import progress_bar
    from derive.training.train import Epoch

    out = io.StringIO()
    draw = progress_bar(4, out, width=8)
    for e in range(1, 5):
        draw(Epoch(e, 1.0 / e))
    text = out.getvalue()
    assert "\n" not in text and "[####....] epoch 2/4  J = 0.5" in text and text.endswith("\r")


def test_a_build_from_a_csv_file_is_redone_when_the_file_changes(tmp_path, capsys):
    path = _csv_spec(tmp_path, IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n")
    out = tmp_path / "out"
    assert main(["build", str(path), "--out", str(out), "--no-pdf"]) == 0
    assert main(["build", str(path), "--out", str(out), "--no-pdf"]) == 0
    assert "up to date" in capsys.readouterr().out
    (tmp_path / "iris.csv").write_text(IRIS_HEAD + "5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.4,3.3,6.0,2.5,virginica\n")
    assert main(["build", str(path), "--out", str(out), "--no-pdf"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert json.loads((out / "s" / "answers.json").read_text())["inputs"]["x"][2][0] == 6.4


@pytest.mark.skipif(not have_latex(), reason="needs pdflatex")
@pytest.mark.parametrize("layers", [(2, 1), (8, 16, 16, 4)], ids=["tiny", "wide"])
def test_the_report_is_one_clean_page(tmp_path, layers):
    from derive.engine.derivation import derive
    from derive.engine.network import build_network
    from derive.engine.spec import parse_spec
    from derive.sheets.latex import compile_with_log, overfull_boxes
    from derive.training.report import render_report
    from derive.training.train import settings_for, train

    rng = np.random.default_rng(0)
    x = np.round(rng.uniform(-1, 1, (6, layers[0])), 2).tolist()
    y = np.eye(layers[-1])[[k % layers[-1] for k in range(6)]].tolist() if layers[-1] > 1 else [0.2, 0.8, 0.1, 0.9, 0.3, 0.7]
    act = ["tanh"] * (len(layers) - 2) + (["softmax"] if layers[-1] > 1 else ["sigmoid"])
    loss = "cross_entropy_mean" if layers[-1] > 1 else "bce"
    text = spec_text(list(layers), act, loss, name="w", extra=f"[values]\nx = {x}\ny = {y}\nseed = 1\nlearning_rate = 0.1\n")
    spec = parse_spec(text.replace("[network]\n", "[network]\nl2 = 0.01\n"))
    d = derive(build_network(spec))
    training = train(d, settings_for(d, 1234, batch_size=4, shuffle=2, test_split=2))
    tex = tmp_path / "training.tex"
    tex.write_text(render_report(training, spec))
    pdf, log = compile_with_log(tex, single_pass=True)
    assert not overfull_boxes(log, 1.0)
    import subprocess

    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)
