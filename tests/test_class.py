"""derive class: per-student numbers, the roster, the exports' structure, a round trip through every
export back to variants.json, the independent backprop, golden files and byte-identical rebuilds.

Regenerate the golden files after an intended change with:

    DERIVE_REGENERATE_GOLDEN=1 python -m pytest tests/test_class.py -k golden
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import examples, spec_text

from derive.classset.build import FORMATS, build_class
from derive.classset.questions import tolerance_of
from derive.classset.roster import Student, numbered, parse_roster
from derive.classset.variants import draw_values
from derive.cli import main
from derive.engine.spec import load_spec, parse_spec
from derive.errors import SpecError
from derive.numbers import reference
from derive.sheets.latex import have_latex

GOLDEN = Path(__file__).parent / "golden" / "class"
QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
QTI12 = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
NO_PDF = tuple(f for f in FORMATS if f != "pdf")
# imsqti_v2p1.xsd, assessmentItem: responseDeclaration*, outcomeDeclaration*, templateDeclaration*,
# templateProcessing?, stylesheet*, itemBody?, responseProcessing?, modalFeedback*
ITEM_SEQUENCE = ("responseDeclaration", "outcomeDeclaration", "templateDeclaration", "templateProcessing",
                 "stylesheet", "itemBody", "responseProcessing", "modalFeedback")

VARIANTS = "\n[variants]\nweights = [-1.0, 1.0]\ninputs = [0.0, 1.0]\ntargets = [0.0, 1.0]\ndecimals = 2\n"


def class_spec(tmp_path, layers=(2, 2, 1), activation="sigmoid", loss="half_sse", values=None, variants=VARIANTS, name="cls"):
    values = values or "\n[values]\nx = [[0.5, 0.25]]\ny = [[1.0]]\nseed = 1\nlearning_rate = 0.5\n"
    path = tmp_path / f"{name}.toml"
    path.write_text(spec_text(layers, activation, loss, name=name, extra=values + variants))
    return path


def load_variants(folder: Path) -> dict:
    return json.loads((folder / "variants.json").read_text())


def path_of(key: str) -> tuple:
    """A question key as the place of its value in an answers object (written independently of derive)."""
    if key == "loss":
        return ("loss",)
    m = re.fullmatch(r"(gradient|updated) ([Wb][0-9_]+)\[([0-9,]+)\]", key)
    if m:
        return ("gradients" if m[1] == "gradient" else "updated", m[2], *map(int, m[3].split(",")))
    m = re.fullmatch(r"(a|delta)([0-9]+)\[([0-9]+)\]", key)
    table = "forward" if m[1] == "a" else "delta"
    return (table, f"{m[1]}{m[2]}", 0, int(m[3]))


def answer(answers: dict, path: tuple) -> float:
    value = answers
    for step in path:
        value = value[step]
    return value


# --- per-student numbers ------------------------------------------------------------------------------


def test_a_students_numbers_depend_only_on_seed_and_id(tmp_path):
    spec = load_spec(class_spec(tmp_path))
    a1 = draw_values(spec, 7, "1001")
    assert draw_values(spec, 7, "1001") == a1
    assert draw_values(spec, 8, "1001") != a1 and draw_values(spec, 7, "1002") != a1
    # Through the whole command: a reordered roster with a new student changes nobody else's numbers.
    build_class(spec.source, [Student("a"), Student("b"), Student("c")], 7, tmp_path / "one", ("csv",))
    build_class(spec.source, [Student("c"), Student("new"), Student("a")], 7, tmp_path / "two", ("csv",))
    one = {s["id"]: s for s in load_variants(tmp_path / "one" / "cls" / "class")["students"]}
    two = {s["id"]: s for s in load_variants(tmp_path / "two" / "cls" / "class")["students"]}
    assert one["a"] == two["a"] and one["c"] == two["c"]
    assert one["a"]["values"] != one["c"]["values"]


def test_absent_keys_are_not_redrawn(tmp_path):
    spec = load_spec(class_spec(tmp_path, variants="\n[variants]\nweights = [-0.5, 0.5]\ndecimals = 1\n"))
    values = draw_values(spec, 0, "x")
    assert values.x == spec.values.x and values.y == spec.values.y
    assert values.learning_rate == spec.values.learning_rate
    flat = [v for arr in values.params.values() for row in arr for v in (row if isinstance(row, tuple) else (row,))]
    assert all(-0.5 <= v <= 0.5 and round(v, 1) == v for v in flat)
    assert values.params != spec.values.params
    kept = load_spec(class_spec(tmp_path, name="kept", variants="\n[variants]\ninputs = [0.0, 1.0]\n"))
    assert draw_values(kept, 0, "x").params == kept.values.params  # no weights key: the spec's seeded weights stay


def test_targets_follow_the_loss(tmp_path):
    soft = load_spec(class_spec(tmp_path, (2, 3), "softmax", "cross_entropy", name="soft",
                                values="\n[values]\nx = [[0.1, 0.2], [0.3, 0.4]]\ny = [[1, 0, 0], [0, 1, 0]]\nseed = 2\n"))
    bce = load_spec(class_spec(tmp_path, (2, 2), "sigmoid", "bce", name="bce",
                               values="\n[values]\nx = [[0.1, 0.2], [0.3, 0.4]]\ny = [[1, 0], [0, 1]]\nseed = 2\n"))
    for i in range(20):
        for row in draw_values(soft, 0, f"s{i}").y:
            assert sorted(row) == [0.0, 0.0, 1.0]
        for row in draw_values(bce, 0, f"s{i}").y:
            assert set(row) <= {0.0, 1.0}


def test_relu_kinks_are_redrawn(tmp_path):
    # Whole-number weights and inputs put many ReLU pre-activations exactly at 0.
    values = "\n[values]\nx = [[1.0, 0.0, 1.0]]\ny = [[0.5]]\nseed = 1\n"
    variants = "\n[variants]\nweights = [-1.0, 1.0]\ninputs = [-1.0, 1.0]\ndecimals = 0\navoid_kinks = {}\n"
    kinky = load_spec(class_spec(tmp_path, (3, 4, 1), ["relu", "identity"], name="kinky", values=values,
                                 variants=variants.format("false")))
    smooth = load_spec(class_spec(tmp_path, (3, 4, 1), ["relu", "identity"], name="smooth", values=values,
                                  variants=variants.format("true")))
    from derive.classset.variants import has_kink
    ids = [f"s{i}" for i in range(40)]
    assert any(has_kink(kinky, draw_values(kinky, 0, i)) for i in ids)  # the check can fail
    for i in ids:
        values = draw_values(smooth, 0, i)
        z = reference.forward(smooth, values.params, np.array(values.x))["z1"]
        assert np.all(np.abs(z) >= 1e-9)


@pytest.mark.parametrize("variants, field, words", [
    ("[variants]\nweight = [0, 1]\n", "variants.weight", "did you mean 'weights'"),
    ("[variants]\nweights = [1, 0]\n", "variants.weights", "above high"),
    ("[variants]\nweights = 1\n", "variants.weights", "range [low, high]"),
    ("[variants]\ndecimals = 5\n", "variants.decimals", "0 to 4"),
    ("[variants]\navoid_kinks = 1\n", "variants.avoid_kinks", "true or false"),
])
def test_bad_variants_table(variants, field, words):
    text = spec_text((2, 1), extra="[values]\nx = [[0.1, 0.2]]\ny = [[1.0]]\nseed = 1\n" + variants)
    with pytest.raises(SpecError) as info:
        parse_spec(text, "s.toml")
    assert info.value.field == field and words in str(info.value)


def test_variants_need_values():
    with pytest.raises(SpecError, match="variants: needs a \\[values\\] table"):
        parse_spec(spec_text((2, 1), extra="[variants]\nweights = [0, 1]\n"), "s.toml")


# --- roster ---------------------------------------------------------------------------------------------


def test_roster_reads_ids_names_and_other_columns():
    students = parse_roster("\ufeffid,Name,group\n1001,\"Hopper, Grace\",A\n\nab-7,,B\n")
    assert students == [Student("1001", "Hopper, Grace", (("group", "A"),)), Student("ab-7", "", (("group", "B"),))]
    assert [s.id for s in numbered(12)] == [f"s{i:03d}" for i in range(1, 13)]


@pytest.mark.parametrize("text, words", [
    ("id,name\n1,a\n1,b\n", "line 3: id: '1' is already the id on line 2"),
    ("id\n../etc\n", "line 2: id: '../etc' is not allowed"),
    ("id\na/b\n", "is not allowed"),
    ("id\nA1\n", "is not allowed"),
    ("id\nx.y\n", "is not allowed"),
    ("id\n\"a\nb\"\n", "is not allowed"),
    ("id\n" + "a" * 65 + "\n", "is not allowed"),
    ("name\nx\n", "line 1: has no id column"),
    ("id,name\n1,\"a\x07\"\n", "line 2: name: contains a control character"),
    ("id,name\n", "lists no students"),
    ("id,name\n1,a,extra\n", "has 3 fields but the header has 2"),
    ("id,name,group\n1,a,\"x\x07\"\n", "line 2: group: contains a control character"),
    ("id,name,group\n1,a,\"x\ny\"\n", "line 2: group: contains a control character or line break"),
    ("id,name,group\n1,a,x\u2028y\n", "line 2: group: contains a control character or line break"),
    ("id,name,group\n1,a," + "g" * 201 + "\n", "line 2: group: is 201 characters long; at most 200"),
    ("id,name\n1,\\delta\uffff\n", "line 2: name: contains U+FFFF, which no XML export can carry"),
    ("id,name,group\n1,a,\ufdd0\n", "line 2: group: contains U+FDD0"),
    ("id,name,gr\x1bup\n1,a,b\n", "line 1: column 3: contains a control character"),
])
def test_bad_roster_is_refused(text, words):
    with pytest.raises(SpecError) as info:
        parse_roster(text, "roster.csv")
    assert words in str(info.value) and "\n" not in str(info.value)


def test_every_cell_of_answers_csv_a_spreadsheet_reads_is_guarded_header_included(tmp_path):
    roster = parse_roster('id,name,"=HYPERLINK(""http://evil.example"",""x"")",+cmd,group\n'
                          '1001,@SUM(A1),-2+3,=1+1,\uff1dcmd\n', "roster.csv")
    folder = build_class(class_spec(tmp_path), roster, 1, tmp_path / "out", ("csv",)).folder
    rows = list(csv.reader(io.StringIO((folder / "answers.csv").read_text())))
    assert rows[0][:5] == ["id", "name", "'=hyperlink(\"http://evil.example\",\"x\")", "'+cmd", "group"]
    formula = re.compile(r"[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]")
    for row in rows:
        for column, cell in enumerate(row):
            # numbers are numbers (a negative value is no formula); every text cell is quoted
            assert not formula.match(cell) or re.fullmatch(r"-[0-9.e+-]+", cell) and column >= 5, (row, cell)
    assert rows[1][:5] == ["1001", "'@SUM(A1)", "'-2+3", "'=1+1", "'\uff1dcmd"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "big"])
def test_a_roster_that_is_no_small_file_is_one_line_without_waiting_or_reading_it_whole(tmp_path, capsys, kind):
    roster = tmp_path / "roster.csv"
    if kind == "fifo":
        os.mkfifo(roster)  # no writer: reading would block forever
    elif kind == "big":
        with open(roster, "wb") as handle:
            handle.truncate(3 << 30)  # sparse; reading it whole was a MemoryError
    else:
        roster = Path(kind)
    out = tmp_path / "out"
    assert main(["class", str(class_spec(tmp_path)), "--roster", str(roster), "--out", str(out), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and f"{roster}: file: " in err, err
    assert ("is 3221225472 bytes; a roster is at most 2000000" if kind == "big" else "is not a regular file") in err
    assert not out.exists()


def test_hostile_roster_exits_2_and_writes_nothing(tmp_path, capsys):
    spec = class_spec(tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n1001,Ada\n1002,Grace\n1001,Again\n")
    out = tmp_path / "out"
    assert main(["class", str(spec), "--roster", str(roster), "--out", str(out), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "roster.csv: line 4: id: '1001' is already the id on line 2" in err
    assert not out.exists()
    roster.write_text("id,name\n../../x,Eve\n")
    assert main(["class", str(spec), "--roster", str(roster), "--out", str(out), "--no-pdf"]) == 2
    assert not out.exists()


def test_a_class_too_large_for_an_lms_is_refused(tmp_path, capsys):
    row = "[" + ", ".join(["0.5"] * 20) + "]"
    values = f"\n[values]\nx = [{row}]\ny = [{row}]\nseed = 1\nlearning_rate = 0.5\n"
    spec = class_spec(tmp_path, (20, 20, 20, 20), values=values)  # 1,260 parameters: 1 + 20 + 60 + 2 × 1,260 = 2,601 questions each
    assert main(["class", str(spec), "--students", "100", "--out", str(tmp_path / "o"), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "asks 2601 questions per student" in err and "260100 for 100 students" in err
    assert not (tmp_path / "o").exists()


def test_spec_without_variants_is_refused(tmp_path, capsys):
    spec = class_spec(tmp_path, variants="")
    assert main(["class", str(spec), "--students", "2", "--out", str(tmp_path / "o"), "--no-pdf"]) == 2
    assert "variants: is missing" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --- exports: structure and round trip --------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A two-example class of three students with every export (no PDFs: they have their own test)."""
    tmp = tmp_path_factory.mktemp("class")
    spec = class_spec(tmp, (2, 2, 2), values="\n[values]\nx = [[0.5, 0.25], [0.1, 0.9]]\ny = [[1.0, 0.0], [0.0, 1.0]]\n"
                                             "seed = 1\nlearning_rate = 0.5\n")
    roster = [Student("1001", "Ada & <Lovelace>", (("group", "A"),)), Student("1002", "=HYPERLINK(x)", (("group", "B"),)),
              Student("ab-3", "Émilie", (("group", "A"),))]
    result = build_class(spec, roster, 11, tmp / "out", NO_PDF)
    return result.folder, load_variants(result.folder), load_spec(spec)


def test_variants_json_answers_match_the_independent_backprop(built):
    _, data, spec = built
    assert len({json.dumps(s["values"]) for s in data["students"]}) == 3  # three different exercises
    for student in data["students"]:
        v, a = student["values"], student["answers"]
        params = {k: np.array(v[k]) for k in ("W1", "b1", "W2", "b2")}
        X, Y = np.array(v["x"]), np.array(v["y"])
        loss, grads, deltas = reference.backprop(spec, params, X, Y)
        assert a["loss"] == pytest.approx(loss, rel=1e-12)
        np.testing.assert_allclose(a["delta"]["delta1"], deltas["delta1"], rtol=1e-12, atol=1e-15)
        for k in params:
            np.testing.assert_allclose(a["gradients"][k], grads[k], rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(a["updated"][k], params[k] - v["learning_rate"] * grads[k], rtol=1e-12, atol=1e-15)


def _moodle(folder):
    root = ET.parse(folder / "moodle.xml").getroot()
    assert root.tag == "quiz"
    out, category = [], None
    for q in root:
        assert q.tag == "question"
        if q.get("type") == "category":
            category = q.find("category/text").text
            continue
        assert q.get("type") == "numerical"
        for required in ("name/text", "questiontext/text", "generalfeedback/text", "defaultgrade", "answer/text", "answer/tolerance"):
            assert q.find(required) is not None, required
        assert q.find("questiontext").get("format") == "html"
        answers = q.findall("answer")
        assert len(answers) == 1 and answers[0].get("fraction") == "100"
        spec, key_and_id = q.find("idnumber").text.split("/", 1)
        sid, key = key_and_id.split("/", 1)
        assert category.endswith(" " + key)  # one category per question
        out.append((sid, key, float(answers[0].find("text").text), float(answers[0].find("tolerance").text),
                    q.find("generalfeedback/text").text))
    return out


def _qti(folder):
    out = []
    with zipfile.ZipFile(folder / "qti.zip") as z:
        names = z.namelist()
        assert names[0] == "imsmanifest.xml"
        manifest = ET.fromstring(z.read("imsmanifest.xml"))
        assert manifest.tag == CP + "manifest"
        resources = list(manifest.iter(CP + "resource"))
        assert resources[0].get("type") == "imsqti_test_xmlv2p1" and resources[0].get("href") == "test.xml"
        hrefs = [r.get("href") for r in resources[1:]]
        assert all(r.get("type") == "imsqti_item_xmlv2p1" for r in resources[1:])
        assert sorted(hrefs + ["test.xml"]) == sorted(names[1:])
        ids = {r.get("identifier") for r in resources}
        assert {d.get("identifierref") for d in resources[0].iter(CP + "dependency")} == ids - {resources[0].get("identifier")}
        test = ET.fromstring(z.read("test.xml"))
        assert test.tag == QTI + "assessmentTest"
        sections = test.findall(f"{QTI}testPart/{QTI}assessmentSection/{QTI}assessmentSection")
        assert all(s.find(QTI + "selection").get("select") == "1" for s in sections)
        assert sorted(r.get("href") for s in sections for r in s.iter(QTI + "assessmentItemRef")) == sorted(hrefs)
        for href in hrefs:
            item = ET.fromstring(z.read(href))
            assert item.tag == QTI + "assessmentItem"
            # The children in the order of the XSD's sequence for assessmentItem.
            order = [c.tag.removeprefix(QTI) for c in item]
            rank = {t: i for i, t in enumerate(ITEM_SEQUENCE)}
            assert all(t in rank for t in order) and order == sorted(order, key=rank.__getitem__)
            assert {"identifier", "title", "adaptive", "timeDependent"} <= set(item.attrib)
            decl = item.find(QTI + "responseDeclaration")
            assert decl.get("baseType") == "float" and decl.get("cardinality") == "single"
            rid = decl.get("identifier")
            entry = item.find(f"{QTI}itemBody//{QTI}textEntryInteraction")
            assert entry.get("responseIdentifier") == rid
            equal = item.find(f"{QTI}responseProcessing//{QTI}equal")
            assert equal.get("toleranceMode") == "absolute"
            low, high = map(float, equal.get("tolerance").split())
            assert low == high
            assert equal.find(QTI + "variable").get("identifier") == rid and equal.find(QTI + "correct").get("identifier") == rid
            assert item.find(QTI + "outcomeDeclaration").get("identifier") == "SCORE"
            value = float(decl.find(f"{QTI}correctResponse/{QTI}value").text)
            out.append((item.get("title"), value, low))
    return out


def _canvas(folder):
    out = []
    with zipfile.ZipFile(folder / "canvas.zip") as z:
        assert z.namelist()[0] == "imsmanifest.xml"
        manifest = ET.fromstring(z.read("imsmanifest.xml"))
        resources = [r for r in manifest.iter() if r.tag.endswith("resource")]
        assert resources and all(r.get("type") == "imsqti_xmlv1p2" for r in resources)
        for r in resources:
            quiz = ET.fromstring(z.read(r.get("href")))
            assert quiz.tag == QTI12 + "questestinterop"
            groups = quiz.findall(f"{QTI12}assessment/{QTI12}section/{QTI12}section")
            assert groups and all(g.find(f".//{QTI12}selection_number").text == "1" for g in groups)
            for item in quiz.iter(QTI12 + "item"):
                fields = {f.find(QTI12 + "fieldlabel").text: f.find(QTI12 + "fieldentry").text
                          for f in item.iter(QTI12 + "qtimetadatafield")}
                assert fields["question_type"] == "numerical_question"
                assert item.find(f".//{QTI12}render_fib").get("fibtype") == "Decimal"
                exact = float(item.find(f".//{QTI12}varequal").text)
                low = float(item.find(f".//{QTI12}vargte").text)
                high = float(item.find(f".//{QTI12}varlte").text)
                assert item.find(f".//{QTI12}setvar").text == "100"
                out.append((item.get("title"), exact, low, high))
    return out


def test_every_export_round_trips_to_variants_json(built):
    folder, data, spec = built
    by_id = {s["id"]: s for s in data["students"]}
    n_questions = 1 + 2 + 4 + 12 + 12  # J, outputs, every δ, gradients, updated parameters
    from derive.classset.build import questions_per_student
    assert questions_per_student(spec) == n_questions
    moodle = _moodle(folder)
    assert len(moodle) == n_questions * 3
    tolerances = {}
    for sid, key, value, tol, feedback in moodle:
        want = answer(by_id[sid]["answers"], path_of(key))
        assert value == want  # the stored answer is the exact value
        # The worked line ends with the number as the sheet prints it: the tolerance is half a unit of
        # its last digit, and that printed number itself is accepted.
        printed = _PRINTED_END.search(feedback)[1]
        # Half a unit of the 4th significant figure (the sheets' rule for a result), or of the last
        # printed figure where the sheet prints fewer; the printed number itself is accepted.
        assert tol == pytest.approx(_four_figures_tolerance(printed, want), rel=1e-12)
        assert 0 < tol <= 5e-4 * abs(want) or (want == 0 and tol == 0.5e-4)
        assert abs(_value_of(printed) - want) <= tol
        tolerances[sid, key] = tol
    qti = _qti(folder)
    assert len(qti) == n_questions * 3
    for title, value, tol in qti:
        _, rest = title.split(" ", 1)
        key, sid = rest.rsplit(" ", 1)
        assert value == answer(by_id[sid]["answers"], path_of(key))
        assert tol == tolerances[sid, key]
    canvas = _canvas(folder)
    assert len(canvas) == n_questions * 3
    for title, exact, low, high in canvas:
        key, sid = title.rsplit(" ", 1)
        want = answer(by_id[sid]["answers"], path_of(key))
        assert exact == want and low < want < high
        assert high - low == pytest.approx(2 * tolerances[sid, key], rel=1e-9)
    rows = list(csv.DictReader(io.StringIO((folder / "answers.csv").read_text())))
    assert len(rows) == n_questions * 3 and list(rows[0]) == ["id", "name", "group", "question", "value", "tolerance"]
    for row in rows:
        assert float(row["value"]) == answer(by_id[row["id"]]["answers"], path_of(row["question"]))
        assert float(row["tolerance"]) == tolerances[row["id"], row["question"]]
    assert {r["name"] for r in rows} == {"Ada & <Lovelace>", "'=HYPERLINK(x)", "Émilie"}  # no formula runs in a spreadsheet


_PRINTED_END = re.compile(r"= (-?[0-9.]+(?:\\times 10\^\{-?[0-9]+\})?)\\\]</p>$")


def _four_figures_tolerance(printed: str, exact: float) -> float:
    """Written from the README's rule, independently of derive: a printed TeX number's tolerance."""
    from decimal import Decimal

    mantissa, _, exponent = printed.partition(r"\times 10^{")
    d = Decimal(mantissa).scaleb(int(exponent.rstrip("}") or 0))
    if d == 0:
        return 0.5e-4
    figures = 4 if _value_of(printed) == exact else min(len(Decimal(mantissa).as_tuple().digits), 4)
    return 0.5 * 10.0 ** (d.adjusted() - figures + 1)


def _value_of(printed: str) -> float:
    mantissa, _, exponent = printed.partition(r"\times 10^{")
    return float(mantissa) * 10.0 ** int(exponent.rstrip("}") or 0)


def test_tolerance_is_half_a_unit_of_the_printed_digit():
    assert tolerance_of("0.2984") == pytest.approx(0.00005)
    assert tolerance_of("-12.5") == pytest.approx(0.05)
    assert tolerance_of(r"3.1\times 10^{-5}") == pytest.approx(0.5e-6)
    with pytest.raises(ValueError):
        tolerance_of("about 3")


def test_feedback_is_the_worked_line(built):
    folder, _, _ = built
    moodle = _moodle(folder)
    sid, key, value, tol, feedback = next(m for m in moodle if m[1] == "gradient W1[0,1]")
    # Batch of two: the feedback sums one term per example and ends with the value as the sheet prints it.
    assert r"\sum_{n=1}^{m}" in feedback and " + " in feedback
    assert abs(_value_of(_PRINTED_END.search(feedback)[1]) - value) <= tol
    import html
    for *_, text in moodle:  # one display each: no alignment points or line breaks MathJax would refuse
        math = html.unescape(text)
        assert math.startswith("<p>\\[")
        assert "&" not in math and "\\\\" not in math
        assert not re.search(r"\\left\(\\left\(-[0-9.]+\\right\)\\right\)", math)  # σ((−0.5)) is bracketed once


# --- reproducibility, golden files, PDFs ---------------------------------------------------------------------


def test_rebuild_is_byte_identical(tmp_path):
    spec = class_spec(tmp_path)
    students = numbered(4)
    a = build_class(spec, students, 3, tmp_path / "a", NO_PDF).folder
    b = build_class(spec, students, 3, tmp_path / "b", NO_PDF).folder
    names = sorted(p.name for p in a.iterdir() if not p.name.startswith("."))
    assert names == ["answers.csv", "canvas.zip", "moodle.xml", "qti.zip", "variants.json"]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    with zipfile.ZipFile(a / "qti.zip") as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize("name", ["moodle.xml", "answers.csv", "qti-item.xml", "canvas-quiz.xml"])
def test_golden_exports(tmp_path, name):
    spec = tmp_path / "toy.toml"
    spec.write_text((Path(__file__).parent.parent / "examples" / "toy-111.toml").read_text()
                    + "\n[variants]\nweights = [-1.0, 1.0]\ninputs = [0.0, 1.0]\ndecimals = 2\n")
    folder = build_class(spec, [Student("1001", "Ada"), Student("1002", "Grace")], 5, tmp_path / "out", NO_PDF).folder
    if name == "qti-item.xml":
        with zipfile.ZipFile(folder / "qti.zip") as z:
            got = z.read(sorted(n for n in z.namelist() if "gradient" in n)[0])
    elif name == "canvas-quiz.xml":
        with zipfile.ZipFile(folder / "canvas.zip") as z:
            got = z.read(sorted(n for n in z.namelist() if n.startswith("quiz-"))[0])
    else:
        got = (folder / name).read_bytes()
    golden = GOLDEN / name
    if os.environ.get("DERIVE_REGENERATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(got)
    assert got == golden.read_bytes()


@pytest.mark.skipif(not have_latex(), reason="needs pdflatex")
def test_combined_pdfs(tmp_path):
    import subprocess

    spec = class_spec(tmp_path)
    hostile = r"\input{/etc/passwd} $x^2_%#~ {"
    roster = [Student("1001", "Ada & Co"), Student("1002", "Grace"), Student("1003", hostile)]
    a = build_class(spec, roster, 1, tmp_path / "a", ("pdf",), per_student=True).folder
    b = build_class(spec, roster, 1, tmp_path / "b", ("pdf",)).folder
    own = subprocess.run(["pdftotext", str(a / "students" / "1002" / "answers.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Grace" in own and "1002" in own and "Ada" not in own
    for doc in ("exercises", "answers"):
        assert (a / f"{doc}.pdf").read_bytes() == (b / f"{doc}.pdf").read_bytes()
        text = subprocess.run(["pdftotext", str(a / f"{doc}.pdf"), "-"], capture_output=True, text=True).stdout
        pages = text.split("\f")
        assert pages[0].startswith("Ada & Co 1001") or "Ada & Co" in pages[0]
        assert any("Grace" in p and "1002" in p for p in pages)
        assert hostile in text  # a name is printed as text, never run as TeX
        # One student per page group: Grace's sheet starts on a fresh page numbered 1.
        first_grace = next(i for i, p in enumerate(pages) if "Grace" in p)
        assert "page 1" in pages[first_grace]
    data = load_variants(a)
    grace = data["students"][1]["values"]
    exercises = subprocess.run(["pdftotext", str(a / "exercises.pdf"), "-"], capture_output=True, text=True).stdout
    grace_page = exercises.split("\f")[next(i for i, p in enumerate(exercises.split("\f")) if "Grace" in p)]
    row = [np.format_float_positional(v, trim="-") for v in grace["x"][0] + grace["y"][0]]
    assert "1 " + " ".join(row) in grace_page  # her own example in the data table, as drawn


def test_the_readme_class_workflow_runs(tmp_path, monkeypatch, capsys):
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"\$ cat examples/class-roster.csv\n(.*?)\$ derive (class .*?)\n(.*?)\n```", readme, re.S)
    assert block[1] == (ROOT / "examples" / "class-roster.csv").read_text()
    monkeypatch.chdir(tmp_path)
    for name in ("examples",):
        (tmp_path / name).symlink_to(ROOT / name)
    argv = block[2].split() + ["--no-pdf"]
    assert main(argv) == 0
    printed = capsys.readouterr().out.strip()
    shown = block[3].replace(", exercises.tex, answers.tex, exercises.pdf, answers.pdf", "")
    assert printed == shown
    data = load_variants(tmp_path / "output" / "ng-222" / "class")
    assert [s["id"] for s in data["students"]] == ["1001", "1002", "1003"] and data["seed"] == 2026


def test_reserved_roster_columns_are_refused():
    with pytest.raises(SpecError, match="column 'value' is a column of answers.csv"):
        parse_roster("id,value\n1,2\n", "r.csv")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=200))
def test_any_roster_text_parses_or_is_refused_in_one_line(text):
    try:
        students = parse_roster("id,name\n" + text, "r.csv")
    except SpecError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("r.csv: ")
        return
    ids = [s.id for s in students]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", i) for i in ids)


def test_a_wrong_answer_stops_the_build_before_anything_is_written(tmp_path, monkeypatch):
    from derive.builder import CheckFailed
    from derive.classset import build as class_build

    real = class_build.compute_answers

    def off_by_a_little(derivation, module):
        numbers = real(derivation, module)
        numbers["gradients"]["W2"][0][1] += 1e-9  # far below what a sheet prints, far above rounding noise
        return numbers

    monkeypatch.setattr(class_build, "compute_answers", off_by_a_little)
    with pytest.raises(CheckFailed, match=r"gradient W2\[0,1\] = .* but the independent backprop gives"):
        build_class(class_spec(tmp_path), numbered(2), 0, tmp_path / "out", NO_PDF)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not have_latex(), reason="needs pdflatex")
def test_each_students_answer_pages_show_their_own_numbers(tmp_path):
    import subprocess

    folder = build_class(class_spec(tmp_path), numbered(3), 4, tmp_path / "out", ("pdf",)).folder
    text = subprocess.run(["pdftotext", str(folder / "answers.pdf"), "-"], capture_output=True, text=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    for student in load_variants(folder)["students"]:
        # The running header (page number and the student) comes first in pdftotext's order.
        own = "\n".join(p for p in pages if student["id"] in p.splitlines()[:3])
        assert own
        for value in (student["answers"]["loss"], student["answers"]["gradients"]["W2"][0][0]):
            if abs(value) >= 0.001:  # printed positionally, to the sheet's 4 significant figures (or more)
                four = np.format_float_positional(abs(value), precision=4, unique=False, fractional=False, trim="k")
                assert four in own, (student["id"], value, four)


@pytest.mark.parametrize("layers, activation, loss", [((2, 2, 2), "sigmoid", "half_sse"), ((2, 3, 2), ["tanh", "softmax"], "cross_entropy"),
                                                      ((1, 2, 1), ["relu", "identity"], "mse")])
def test_questions_are_the_lines_of_each_students_answer_sheet(tmp_path, monkeypatch, layers, activation, loss):
    """Every question's printed number and its worked line's substituted numbers are on that student's
    answers.tex, which `derive build`'s worked-lines code printed from the same numbers."""
    from derive.classset import build as class_build

    monkeypatch.setattr(class_build, "have_latex", lambda: False)  # the .tex files are enough here
    n_out = layers[-1]
    y = "[[1, 0]]" if n_out == 2 else "[[0.5]]"
    values = f"\n[values]\nx = [[{', '.join(['0.3'] * layers[0])}]]\ny = {y}\nseed = 5\nlearning_rate = 0.1\n"
    spec = class_spec(tmp_path, layers, activation, loss, values=values)
    roster = [Student("a"), Student("b"), Student("c")]
    folder = build_class(spec, roster, 9, tmp_path / "out", ("pdf", "moodle")).folder
    sheets = (folder / "answers.tex").read_text().split("\\derivestartstudent{")[1:]  # one part per student
    assert len(sheets) == 3
    by_student = {}
    for sid, key, value, tol, feedback in _moodle(folder):
        by_student.setdefault(sid, []).append((key, feedback))
    for student, sheet in zip(roster, sheets):
        assert student.id in sheet.split("\n", 1)[0]
        for key, feedback in by_student[student.id]:
            math = feedback.removeprefix("<p>\\[").removesuffix("\\]</p>")
            import html
            math = html.unescape(math)
            result = math.rsplit(" = ", 1)[1]
            # In a worked line or a cell of a table or matrix: the same digits, not part of a longer number.
            assert re.search(r"(?<![0-9.])" + re.escape(result) + r"(?![0-9])", sheet), (student.id, key, result)
            if key.startswith("gradient") and key.endswith("[0,0]"):  # the first weight's line is on every sheet
                parts = math.split(" = ")
                if len(parts) == 4:  # lhs = formula = substituted = result: the substituted line is the sheet's
                    assert parts[2] in sheet.replace(" \\\\ &\\qquad ", " "), (student.id, key, parts[2])


def test_a_students_worked_lines_without_rendering_are_the_sheets_lines(tmp_path):
    """--no-pdf skips typesetting each student's sheet, not the lines its tolerances come from."""
    from dataclasses import replace

    from derive.code.codegen import load_module, module_source
    from derive.engine.derivation import derive
    from derive.engine.network import build_network
    from derive.notation.profile import load_profile
    from derive.numbers.answers import compute_answers
    from derive.sheets.typeset import Typesetter
    from derive.sheets.worked import worked

    spec = load_spec(class_spec(tmp_path, (2, 2, 2), values="\n[values]\nx = [[0.5, 0.25], [0.1, 0.9]]\n"
                                                          "y = [[1.0, 0.0], [0.0, 1.0]]\nseed = 1\nlearning_rate = 0.5\n"))
    own = replace(spec, values=draw_values(spec, 3, "s1"))
    derivation = derive(build_network(own))
    numbers = compute_answers(derivation, load_module(module_source(derivation)))
    ts = Typesetter(derivation, load_profile("ng"), 4)
    assert worked(ts, numbers, render=False)["lines"] == worked(ts, numbers)["lines"]


@pytest.mark.parametrize("scale, examples", [("1/(2m)", 2), ("1/m", 1), ("1/2", 2), ("1", 1)])
def test_an_l2_class_set_regularizes_every_students_numbers(tmp_path, monkeypatch, scale, examples):
    """Each student's loss and gradients include the L2 term, as the independent backprop computes it;
    every question's printed number is on that student's answer sheet, and the loss and weight
    questions' feedback is the sheet's regularized line (J = Σ Jₙ + c·Σw², … + 2c·w)."""
    import html

    from derive.classset import build as class_build

    monkeypatch.setattr(class_build, "have_latex", lambda: False)  # the .tex files are enough here
    x = "[[0.5, 0.25], [0.1, 0.9]]" if examples == 2 else "[[0.5, 0.25]]"
    y = "[[1.0], [0.0]]" if examples == 2 else "[[1.0]]"
    path = class_spec(tmp_path, values=f"\n[values]\nx = {x}\ny = {y}\nseed = 1\nlearning_rate = 0.5\n")
    path.write_text(path.read_text().replace("[network]\n", f'[network]\nl2 = 0.3\nl2_scale = "{scale}"\n'))
    spec = load_spec(path)
    roster = [Student("a"), Student("b"), Student("c")]
    folder = build_class(path, roster, 7, tmp_path / "out", ("pdf", "moodle")).folder
    data = load_variants(folder)
    plain = parse_spec(path.read_text().replace("l2 = 0.3\n", ""))
    for student in data["students"]:
        v, a = student["values"], student["answers"]
        params = {k: np.array(v[k]) for k in ("W1", "b1", "W2", "b2")}
        X, Y = np.array(v["x"]), np.array(v["y"])
        loss, grads, _ = reference.backprop(spec, params, X, Y)
        loss0, _, _ = reference.backprop(plain, params, X, Y)
        assert a["loss"] == pytest.approx(loss, rel=1e-12) and abs(loss - loss0) > 1e-6  # the term is in
        for k in params:
            np.testing.assert_allclose(a["gradients"][k], grads[k], rtol=1e-12, atol=1e-15)
    sheets = dict(zip([s.id for s in roster], (folder / "answers.tex").read_text().split("\\derivestartstudent{")[1:]))
    seen = set()
    for sid, key, value, tol, feedback in _moodle(folder):
        sheet = sheets[sid]
        math = html.unescape(feedback.removeprefix("<p>\\[").removesuffix("\\]</p>"))
        result = math.rsplit(" = ", 1)[1]
        assert re.search(r"(?<![0-9.])" + re.escape(result) + r"(?![0-9])", sheet), (sid, key, result)
        if key == "loss":
            assert r"\sum w^{2}" in math, math
            student = next(s for s in data["students"] if s["id"] == sid)
            params = {k: np.array(student["values"][k]) for k in ("W1", "b1", "W2", "b2")}
            want = reference.loss(spec, params, np.array(student["values"]["x"]), np.array(student["values"]["y"]))
            assert value == pytest.approx(want, rel=1e-12) and abs(value - want) <= tol  # the export's answer has the term
            seen.add(key)
        if key.startswith("gradient W"):
            assert r"\, \theta" in math and r"\cdot" in math.split(" = ")[-2], math  # … + 2c·w with its numbers
            seen.add("weight")
        if key.startswith("gradient b"):
            assert r"\lambda" not in math
    assert seen == {"loss", "weight"}
