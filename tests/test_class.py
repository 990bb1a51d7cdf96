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
M = "{http://www.w3.org/1998/Math/MathML}"
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
    """Every part of every student's cloze question as Moodle's import reads it (tests/moodle_reader.py):
    (id, key, value, tolerance, feedback as the general feedback's display of that line). The keys
    come from answers.csv, which lists each student's questions in the cloze's order."""
    import html

    from moodle_reader import read_quiz

    keys: dict[str, list[str]] = {}
    for row in csv.DictReader(io.StringIO((folder / "answers.csv").read_text())):
        keys.setdefault(row["id"], []).append(row["question"])
    spec = folder.parent.name
    questions = read_quiz((folder / "moodle.xml").read_bytes())
    assert {q.category for q in questions} == {f"$course$/top/derive/{spec}"}  # one category: one draw per student
    assert [q.idnumber for q in questions] == [f"{spec}/{sid}" for sid in keys]  # one question per student
    out = []
    for q in questions:
        sid = q.idnumber.split("/", 1)[1]
        assert q.name == f"{spec} {sid}"
        assert len(q.subs) == len(keys[sid]) and q.defaultmark == len(keys[sid])  # every part, weight 1 each
        assert q.questiontext.count("{#") == len(q.subs)
        for key, sub in zip(keys[sid], q.subs):
            assert sub.qtype == "numerical" and sub.defaultmark == "1"
            assert sub.answer[1:] == ["*"] and sub.fraction == [1.0, 0.0]  # the right answer, then any other
            assert sub.feedback[0] == sub.feedback[1] and sub.tolerance[1] == "0"
            math = html.unescape(sub.feedback[0])
            assert math.startswith("\\(") and math.endswith("\\)")
            display = "<p>" + html.escape("\\[" + math[2:-2] + "\\]") + "</p>"
            assert display in q.generalfeedback  # the worked line is also in the solution, as a display
            out.append((sid, key, float(sub.answer[0]), float(sub.tolerance[0]), display))
    return out


def _keys(folder) -> dict[str, list[str]]:
    """Each student's question keys in order, from answers.csv (the order of the parts in every export)."""
    keys: dict[str, list[str]] = {}
    for row in csv.DictReader(io.StringIO((folder / "answers.csv").read_text())):
        keys.setdefault(row["id"], []).append(row["question"])
    return keys


def _qti(folder):
    """Every part of every student's item: (id, key, exact, t0, t1) as Decimals, after structural checks."""
    from decimal import Decimal

    keys = _keys(folder)
    spec = folder.parent.name
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
        assert hrefs == [f"items/{spec}-{sid}.xml" for sid in keys]  # one item per student
        assert sorted(hrefs + ["test.xml"]) == sorted(names[1:])
        ids = {r.get("identifier") for r in resources}
        assert {d.get("identifierref") for d in resources[0].iter(CP + "dependency")} == ids - {resources[0].get("identifier")}
        test = ET.fromstring(z.read("test.xml"))
        assert test.tag == QTI + "assessmentTest"
        sections = test.findall(f"{QTI}testPart/{QTI}assessmentSection")
        assert len(sections) == 1 and sections[0].find(QTI + "selection").get("select") == "1"
        assert [r.get("href") for r in sections[0].iter(QTI + "assessmentItemRef")] == hrefs
        total = test.find(f"{QTI}outcomeProcessing/{QTI}setOutcomeValue")
        assert total.get("identifier") == "SCORE" and total.find(f"{QTI}sum/{QTI}testVariables").get("variableIdentifier") == "SCORE"
        for sid, href in zip(keys, hrefs):
            item = ET.fromstring(z.read(href))
            assert item.tag == QTI + "assessmentItem" and item.get("title") == f"{spec} {sid}"
            n = len(keys[sid])
            rids = [d.get("identifier") for d in item.findall(QTI + "responseDeclaration")]
            assert rids == [f"RESPONSE_{k}" for k in range(1, n + 1)]  # every part of this student's draw
            entries = [e.get("responseIdentifier") for e in item.iter(QTI + "textEntryInteraction")]
            assert entries == rids
            conditions = item.findall(f"{QTI}responseProcessing/{QTI}responseCondition")
            assert len(conditions) == n
            score = item.findall(f"{QTI}responseProcessing/{QTI}setOutcomeValue")[0]
            assert score.get("identifier") == "SCORE"
            assert [v.get("identifier") for v in score.find(QTI + "sum")] == [f"SCORE_{r}" for r in rids]
            for key, decl, cond in zip(keys[sid], item.findall(QTI + "responseDeclaration"), conditions):
                rid = decl.get("identifier")
                assert decl.get("baseType") == "float" and decl.get("cardinality") == "single"
                equal = cond.find(f"{QTI}responseIf/{QTI}equal")
                assert equal.get("toleranceMode") == "absolute"
                # The info model's y ∈ [x − t0, x + t1]: the correct response first, the student's second.
                assert [c.tag for c in equal] == [QTI + "correct", QTI + "variable"]
                assert all(c.get("identifier") == rid for c in equal)
                assert cond.find(f"{QTI}responseIf/{QTI}setOutcomeValue").get("identifier") == f"SCORE_{rid}"
                below, above = map(Decimal, equal.get("tolerance").split())
                out.append((sid, key, Decimal(decl.find(f"{QTI}correctResponse/{QTI}value").text), below, above))
    return out


def _canvas(folder):
    """Every part of every student's quiz: (id, key, exact, low, high) as Decimals, after structural checks."""
    from decimal import Decimal

    keys = _keys(folder)
    spec = folder.parent.name
    out = []
    with zipfile.ZipFile(folder / "canvas.zip") as z:
        assert z.namelist()[0] == "imsmanifest.xml"
        manifest = ET.fromstring(z.read("imsmanifest.xml"))
        resources = [r for r in manifest.iter() if r.tag.endswith("resource")]
        quizzes = [r for r in resources if r.get("type") == "imsqti_xmlv1p2"]
        metas = {r.get("identifier"): r for r in resources if r.get("type").endswith("learning-application-resource")}
        assert len(quizzes) == len(metas) == len(keys) and len(resources) == 2 * len(keys)  # one quiz per student
        for sid, r in zip(keys, quizzes):
            ident = f"quiz-{spec}-{sid}"
            assert r.get("identifier") == ident and r.get("href") == f"{ident}/{ident}.xml"
            meta_res = metas[next(d.get("identifierref") for d in r if d.tag.endswith("dependency"))]
            assert meta_res.get("href") == f"{ident}/assessment_meta.xml"  # where Canvas's importer looks
            meta = ET.fromstring(z.read(meta_res.get("href")))
            fields = {c.tag.split("}")[1]: c.text for c in meta}
            assert meta.get("identifier") == ident and fields["quiz_type"] == "assignment"
            assert fields["points_possible"] == f"{len(keys[sid])}.0" and fields["allowed_attempts"] == "1"
            assert fields["only_visible_to_overrides"] == "true"
            quiz = ET.fromstring(z.read(r.get("href")))
            assert quiz.tag == QTI12 + "questestinterop"
            assessment = quiz.find(QTI12 + "assessment")
            assert assessment.get("ident") == ident
            items = list(quiz.iter(QTI12 + "item"))
            assert len(items) == len(keys[sid])  # every part of this student's draw, nothing of another's
            for key, item in zip(keys[sid], items):
                fields = {f.find(QTI12 + "fieldlabel").text: f.find(QTI12 + "fieldentry").text
                          for f in item.iter(QTI12 + "qtimetadatafield")}
                assert fields["question_type"] == "numerical_question"
                assert item.find(f".//{QTI12}render_fib").get("fibtype") == "Decimal"
                assert item.find(f".//{QTI12}vargt") is None  # vargte: Canvas keeps the margin as written
                exact = Decimal(item.find(f".//{QTI12}varequal").text)
                low = Decimal(item.find(f".//{QTI12}vargte").text)
                high = Decimal(item.find(f".//{QTI12}varlte").text)
                assert item.find(f".//{QTI12}setvar").text == "100"
                out.append((sid, key, exact, low, high))
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
    for sid, key, exact, below, above in qti:
        assert float(exact) == answer(by_id[sid]["answers"], path_of(key))
        assert below == above and float(below) == tolerances[sid, key]
    canvas = _canvas(folder)
    assert len(canvas) == n_questions * 3
    for sid, key, exact, low, high in canvas:
        want = answer(by_id[sid]["answers"], path_of(key))
        assert float(exact) == want and low < exact < high
        assert high - exact == exact - low and float(high - exact) == tolerances[sid, key]
    assert len(rows := list(csv.DictReader(io.StringIO((folder / "answers.csv").read_text())))) == n_questions * 3
    assert list(rows[0]) == ["id", "name", "group", "question", "value", "low", "high"]
    for row in rows:
        assert float(row["value"]) == answer(by_id[row["id"]]["answers"], path_of(row["question"]))
        assert (float(row["high"]) - float(row["low"])) / 2 == pytest.approx(tolerances[row["id"], row["question"]], rel=1e-9)
    assert {r["name"] for r in rows} == {"Ada & <Lovelace>", "'=HYPERLINK(x)", "Émilie"}  # no formula runs in a spreadsheet


_PRINTED_END = re.compile(r"= (-?[0-9.]+(?:\\times 10\^\{-?[0-9]+\})?)\\\]</p>$")


def _four_figures_tolerance(printed: str, exact: float) -> float:
    """Written from docs/class.md's rule, independently of derive: a printed TeX number's tolerance."""
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


@pytest.mark.parametrize("name", ["moodle.xml", "answers.csv", "qti-item.xml", "qti-test.xml", "canvas-quiz.xml", "canvas-meta.xml"])
def test_golden_exports(tmp_path, name):
    spec = tmp_path / "toy.toml"
    spec.write_text((Path(__file__).parent.parent / "examples" / "toy-111.toml").read_text()
                    + "\n[variants]\nweights = [-1.0, 1.0]\ninputs = [0.0, 1.0]\ndecimals = 2\n")
    folder = build_class(spec, [Student("1001", "Ada"), Student("1002", "Grace")], 5, tmp_path / "out", NO_PDF).folder
    if name == "qti-item.xml":
        with zipfile.ZipFile(folder / "qti.zip") as z:
            got = z.read(sorted(n for n in z.namelist() if n.startswith("items/"))[0])
    elif name == "qti-test.xml":
        with zipfile.ZipFile(folder / "qti.zip") as z:
            got = z.read("test.xml")
    elif name == "canvas-meta.xml":
        with zipfile.ZipFile(folder / "canvas.zip") as z:
            got = z.read(sorted(n for n in z.namelist() if n.endswith("/assessment_meta.xml"))[0])
    elif name == "canvas-quiz.xml":
        with zipfile.ZipFile(folder / "canvas.zip") as z:
            got = z.read(sorted(n for n in z.namelist() if n.startswith("quiz-") and not n.endswith("meta.xml"))[0])
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


def test_the_docs_class_workflow_runs(tmp_path, monkeypatch, capsys):
    from conftest import ROOT

    page = (ROOT / "docs" / "class.md").read_text()
    block = re.search(r"\$ cat examples/class-roster.csv\n(.*?)\$ derive (class .*?)\n(.*?)\n```", page, re.S)
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
    with pytest.raises(SpecError, match="column 'high' is a column of answers.csv"):
        parse_roster("id,high\n1,2\n", "r.csv")


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
    folder = build_class(spec, roster, 9, tmp_path / "out", ("pdf", "moodle", "csv")).folder
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
    folder = build_class(path, roster, 7, tmp_path / "out", ("pdf", "moodle", "csv")).folder
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


def test_a_cloze_feedback_comes_back_from_moodles_reader_as_written():
    """TeX braces, ties, # and HTML in a part's feedback survive qtype_multianswer's regexes and decode."""
    from moodle_reader import extract_question

    from derive.classset.moodle import cloze_feedback

    hostile = r"<p>\(\frac{a}{b} = x~y # 1 &lt; 2 {1:NUMERICAL:=3}\)</p> ends in a brace } and a backslash \\"
    text = f"<p>x {{2:NUMERICAL:=-1.5e-07:5e-12#{cloze_feedback(hostile)}~%0%*#{cloze_feedback('no')}}} y</p>"
    rest, subs, mark = extract_question(text)
    assert rest == "<p>x {#1} y</p>" and mark == 2
    assert subs[0].answer == ["-1.5e-07", "*"] and subs[0].tolerance[0] == "5e-12"
    assert subs[0].feedback == [hostile, "no"]
    with pytest.raises(ValueError):  # Moodle turns \} into } after decoding: no escaping can carry it
        cloze_feedback(r"\(\{x\}\)")


def test_bounds_are_exact_decimals_of_each_questions_range(built):
    """Every bound every export writes, read with Decimal, is the question's low/high (or its centre and
    half-width for Moodle) exactly: no float noise, and Canvas's margin varlte − varequal is the tolerance."""
    from decimal import Decimal

    folder, data, _ = built
    rows = list(csv.DictReader(io.StringIO((folder / "answers.csv").read_text())))
    ranges = {(r["id"], r["question"]): (Decimal(r["low"]), Decimal(r["high"])) for r in rows}
    for (sid, key), (low, high) in ranges.items():
        # A short width (1·10ⁿ today), where float arithmetic would leave 0.00004999999999998.
        assert low < high and len((high - low).normalize().as_tuple().digits) <= 3
    from moodle_reader import read_quiz

    keys = {}
    for r in rows:
        keys.setdefault(r["id"], []).append(r["question"])
    for q in read_quiz((folder / "moodle.xml").read_bytes()):
        sid = q.idnumber.split("/", 1)[1]
        for key, sub in zip(keys[sid], q.subs):
            low, high = ranges[sid, key]
            centre, half = Decimal(sub.answer[0]), Decimal(sub.tolerance[0])
            assert (centre - half, centre + half) == (low, high)
    for sid, key, exact, below, above in _qti(folder):
        low, high = ranges[sid, key]
        assert (exact - below, exact + above) == (low, high)
    for sid, key, exact, low, high in _canvas(folder):
        assert (low, high) == ranges[sid, key] and high - exact == exact - low


def test_an_asymmetric_range_is_written_as_it_is():
    """A range not centred on the value (what derived tolerances may give): QTI's t0 ≠ t1 with the correct
    response first, Canvas's range answer (no exact value whose margin would make it symmetric), and
    Moodle's centre ± half-width, each with exactly the bounds of the question."""
    from decimal import Decimal

    from moodle_reader import extract_question

    from derive.classset.canvas import quiz_xml
    from derive.classset.moodle import cloze_part
    from derive.classset.qti import assessment_item
    from derive.classset.questions import Question
    from derive.classset.variant import Variant

    q = Question("loss", ("loss",), "J", 0.3119, "0.3119", Decimal("0.3118"), Decimal("0.31205"), "Keep 5 figures", "J = 0.3119")
    v = Variant(Student("s1"), ("x = 1",), (q,))
    equal = ET.fromstring(assessment_item("sp", "T", v, 1)).find(f".//{QTI}equal")
    assert equal.get("tolerance") == "0.0001 0.00015" and equal[0].tag == QTI + "correct"
    quiz = ET.fromstring(quiz_xml("sp", "T", v, 1))
    assert quiz.find(f".//{QTI12}varequal") is None and quiz.find(f".//{QTI12}or") is None
    assert (quiz.find(f".//{QTI12}vargte").text, quiz.find(f".//{QTI12}varlte").text) == ("0.3118", "0.31205")
    _, subs, _ = extract_question(cloze_part(q))
    assert (subs[0].answer[0], subs[0].tolerance[0]) == ("0.311925", "0.000125")


def test_names_are_the_sheets_notation(built):
    """Canvas's question titles and the solutions' headings name each quantity as the sheet does (ng's
    a(3)₁, ∂J/∂θ(1)₁₂: 1-based, the layer in parentheses), never derive's 0-based keys (a2[0], W1[0,1])."""
    folder, _, _ = built
    with zipfile.ZipFile(folder / "canvas.zip") as z:
        quiz = ET.fromstring(z.read("quiz-cls-1001/quiz-cls-1001.xml"))
    titles = [item.get("title") for item in quiz.iter(QTI12 + "item")]
    assert titles[:7] == ["J", "a(3)₁", "a(3)₂", "δ(3)₁", "δ(3)₂", "δ(2)₁", "δ(2)₂"]
    assert "∂J/∂θ(1)₁₂" in titles and "θ(2)₂₁ (updated)" in titles
    assert not any(c in t for t in titles for c in "[]_\\{}")
    from moodle_reader import read_quiz

    solution = read_quiz((folder / "moodle.xml").read_bytes())[0].generalfeedback
    assert "<p>a(3)₁:</p>" in solution and "a2[0]" not in solution


def _qti_documents(folder):
    with zipfile.ZipFile(folder / "qti.zip") as z:
        names = z.namelist()
        return names, {n: ET.fromstring(z.read(n)) for n in names}


def test_qti_package_follows_the_standards_structure(built):
    """Without imsqti_v2p1.xsd (no registry ships it): every item, the test and the manifest against the
    rules of QTI 2.1 and CP 1.1 that tests/qti_rules.py checks (order, attributes, identifiers,
    declarations, tolerances, selection, outcomeProcessing, files, MathML 2)."""
    from qti_rules import item_problems, manifest_problems, test_problems

    folder, _, _ = built
    names, docs = _qti_documents(folder)
    items = {n: d for n, d in docs.items() if n.startswith("items/")}
    problems = manifest_problems(docs["imsmanifest.xml"], names, CP)
    problems += test_problems(docs["test.xml"], items)
    for name, item in items.items():
        problems += item_problems(item, name)
    assert problems == []


def test_the_qti_rules_catch_what_they_check(built):
    """Each kind of break the structural rules are for is reported (so their empty list means something)."""
    import copy

    from qti_rules import item_problems, test_problems

    folder, _, _ = built
    _, docs = _qti_documents(folder)
    name, item = next((n, d) for n, d in docs.items() if n.startswith("items/"))
    items = {n: d for n, d in docs.items() if n.startswith("items/")}

    def broken(change):
        doc = copy.deepcopy(item)
        change(doc)
        return item_problems(doc)

    assert broken(lambda d: d.insert(0, copy.deepcopy(d.find(QTI + "itemBody"))))  # out of order, and twice
    assert broken(lambda d: d.remove(d.find(QTI + "responseDeclaration")))  # an interaction without its declaration
    assert broken(lambda d: d.find(f".//{QTI}equal").set("tolerance", "0.1 0.2 0.3"))
    assert broken(lambda d: d.find(f".//{QTI}responseProcessing/{QTI}setOutcomeValue").set("identifier", "RESPONSE_1"))
    assert broken(lambda d: d.find(f".//{QTI}correct").set("identifier", "SCORE"))
    assert broken(lambda d: d.find(f".//{M}mfrac").append(ET.Element(M + "mi")))  # a fraction of three
    assert broken(lambda d: d.find(f".//{M}mrow").append(ET.Element(M + "bogus")))
    assert broken(lambda d: d.attrib.pop("timeDependent"))
    test = copy.deepcopy(docs["test.xml"])
    test.find(f".//{QTI}selection").set("select", str(len(items) + 1))
    assert test_problems(test, items)
    test = copy.deepcopy(docs["test.xml"])
    test.find(f".//{QTI}testVariables").set("variableIdentifier", "NOPE")
    assert test_problems(test, items)


def test_qti_maths_is_mathml(built):
    """QTI 2.1 items carry their maths as MathML (every given, every part's quantity, every worked line),
    with no TeX left for a MathJax that a QTI player may not have; Moodle and Canvas keep TeX."""
    folder, _, _ = built
    _, docs = _qti_documents(folder)
    for name, item in docs.items():
        if not name.startswith("items/"):
            continue
        text = ET.tostring(item, encoding="unicode")
        assert "\\(" not in text and "\\[" not in text, name
        parts = [p for p in item.find(QTI + "itemBody").iter(QTI + "p") if p.find(QTI + "textEntryInteraction") is not None]
        assert parts and all(p.find(M + "math") is not None for p in parts)
        shown = item.find(QTI + "modalFeedback").findall(f"{QTI}p/{M}math")
        assert len(shown) == len(parts) and all(m.get("display") == "block" for m in shown)
    assert "\\(" in (folder / "moodle.xml").read_text()


def test_canvas_quizzes_follow_qti_asi_1_2(built):
    """Without ims_qtiasiv1p2p1.xsd (no registry ships it): every quiz against ASI 1.2's content models and
    cross-references (tests/qti_rules.py), and the manifest against CP's rules; each kind of break reported."""
    import copy

    from qti_rules import ASI, asi_problems, manifest_problems

    folder, _, _ = built
    with zipfile.ZipFile(folder / "canvas.zip") as z:
        names = z.namelist()
        docs = {n: ET.fromstring(z.read(n)) for n in names}
    problems = manifest_problems(docs["imsmanifest.xml"], names, "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}")
    quizzes = {n: d for n, d in docs.items() if n.endswith(".xml") and not n.endswith(("meta.xml", "imsmanifest.xml"))}
    assert len(quizzes) == 3
    for name, quiz in quizzes.items():
        problems += asi_problems(quiz, name)
    assert problems == []
    quiz = next(iter(quizzes.values()))

    def broken(change):
        doc = copy.deepcopy(quiz)
        change(doc)
        return asi_problems(doc)

    item = f".//{ASI}item"
    assert broken(lambda d: d.find(item).insert(0, copy.deepcopy(d.find(f"{item}/{ASI}itemfeedback"))))  # out of order
    assert broken(lambda d: d.find(f".//{ASI}vargte").set("respident", "response9"))
    assert broken(lambda d: d.find(f".//{ASI}displayfeedback").set("linkrefid", "nope"))
    assert broken(lambda d: d.find(f".//{ASI}varlte").__setattr__("text", "0.1 0.2"))


@pytest.mark.parametrize("count, words", [(1, "1 student,"), (2, "2 students,")])
def test_the_summary_counts_students_in_english(tmp_path, capsys, count, words):
    assert main(["class", str(class_spec(tmp_path)), "--students", str(count), "--out", str(tmp_path / "o"), "--formats", "csv"]) == 0
    assert capsys.readouterr().out.startswith(f"cls: {words} every answer checked")
