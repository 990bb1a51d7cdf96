"""Structural rules of IMS QTI 2.1 (items, tests) and IMS CP 1.1 (manifests), checked without the XSDs.

No registry package ships imsqti_v2p1.xsd (nor the MathML 2 schema it imports), so the suite checks what
the schema and the information model require of the documents derive writes: element order (the
XSD's sequences), required attributes and their enumerations, identifiers (unique, declared before
use, of the right kind), response/outcome consistency (every interaction's response declared, every
variable read declared, outcomes set only on outcomes), the tolerance list of `equal`, the test's
selection and outcomeProcessing, the manifest's files, and MathML 2 presentation elements with their
arities. Each function returns the problems found, so a test asserts an empty list.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
M = "{http://www.w3.org/1998/Math/MathML}"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")  # QTI's identifier type: an xsd:NCName
BOOLEAN = {"true", "false", "1", "0"}
CARDINALITY = {"single", "multiple", "ordered", "record"}
BASE_TYPES = {"identifier", "boolean", "integer", "float", "string", "point", "pair", "directedPair", "duration",
              "file", "uri", "intOrIdentifier"}

# imsqti_v2p1.xsd's sequences (children in this order; the counts are checked where derive writes them).
ITEM = ("responseDeclaration", "outcomeDeclaration", "templateDeclaration", "templateProcessing", "stylesheet",
        "itemBody", "responseProcessing", "modalFeedback")
TEST = ("outcomeDeclaration", "timeLimits", "testPart", "outcomeProcessing", "testFeedback")
TEST_PART = ("preCondition", "branchRule", "itemSessionControl", "timeLimits", "assessmentSection", "testFeedback")
SECTION = ("preCondition", "branchRule", "itemSessionControl", "timeLimits", "selection", "ordering", "rubricBlock",
           "sectionPart")
SECTION_PARTS = {"assessmentItemRef", "assessmentSection", "include"}
SINGLE = {"itemBody", "responseProcessing", "templateProcessing", "timeLimits", "outcomeProcessing",
          "itemSessionControl", "selection", "ordering"}
REQUIRED_ONE = {"testPart", "assessmentSection"}  # one or more

# MathML 2 presentation elements and the children count of those with a fixed arity.
MATHML = {"math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "ms", "mfrac", "msqrt", "mroot", "mstyle", "merror",
          "mpadded", "mphantom", "mfenced", "menclose", "msub", "msup", "msubsup", "munder", "mover", "munderover",
          "mmultiscripts", "mtable", "mtr", "mtd", "mlabeledtr", "maligngroup", "malignmark", "maction", "semantics",
          "annotation", "annotation-xml", "none", "mprescripts"}
ARITY = {"mfrac": 2, "mroot": 2, "msub": 2, "msup": 2, "msubsup": 3, "munder": 2, "mover": 2, "munderover": 3}
TOKENS = {"mi", "mn", "mo", "mtext", "ms"}
MATH_PARENTS = {"p", "div", "span", "em", "strong", "li", "td", "th", "dd", "dt", "modalFeedback", "prompt",
                "itemBody", "feedbackBlock", "feedbackInline", "rubricBlock"}


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if "}" in tag else tag


def sequence_problems(element: ET.Element, order: tuple[str, ...], where: str, ns: str = QTI) -> list[str]:
    """Children of `element` in the order of `order` (the XSD's xs:sequence), each known, singles once."""
    problems, rank = [], {t: i for i, t in enumerate(order)}
    names = []
    for child in element:
        name = _local(child.tag)
        if not child.tag.startswith(ns):
            problems.append(f"{where}: {child.tag} is not in the namespace {ns}")
            continue
        if name in SECTION_PARTS and "sectionPart" in rank:
            name = "sectionPart"
        if name not in rank:
            problems.append(f"{where}: <{name}> is not allowed here")
            continue
        names.append(name)
    if names != sorted(names, key=rank.__getitem__):
        problems.append(f"{where}: children out of the schema's order: {names}")
    for name in set(names):
        if name in SINGLE and names.count(name) > 1:
            problems.append(f"{where}: more than one <{name}>")
    for name in REQUIRED_ONE & set(order):
        if name not in names:
            problems.append(f"{where}: no <{name}>")
    return problems


def _required(element: ET.Element, attrs, where: str) -> list[str]:
    return [f"{where}: <{_local(element.tag)}> lacks {a}" for a in attrs if element.get(a) is None]


def _is_float(text: str | None) -> bool:
    try:
        float(text or "")
        return True
    except ValueError:
        return False


def mathml_problems(root: ET.Element, where: str) -> list[str]:
    problems = []
    parents = {child: parent for parent in root.iter() for child in parent}
    for el in root.iter():
        if not el.tag.startswith(M):
            if any(p.tag.startswith(M) for p in _ancestors(el, parents)):
                problems.append(f"{where}: {el.tag} inside MathML")
            continue
        name = _local(el.tag)
        if name not in MATHML:
            problems.append(f"{where}: <m:{name}> is not MathML 2 presentation markup")
        if name in ARITY and len(el) != ARITY[name]:
            problems.append(f"{where}: <m:{name}> has {len(el)} children, not {ARITY[name]}")
        if name in TOKENS and len(el):
            problems.append(f"{where}: the token <m:{name}> holds elements")
        if name in TOKENS and not (el.text or "").strip():
            problems.append(f"{where}: an empty token <m:{name}>")
        if name == "math":
            parent = parents.get(el)
            if parent is None or _local(parent.tag) not in MATH_PARENTS or parent.tag.startswith(M):
                problems.append(f"{where}: <m:math> inside <{_local(parent.tag) if parent is not None else None}>")
            if el.get("display") not in (None, "block", "inline"):
                problems.append(f"{where}: <m:math display={el.get('display')!r}>")
        if name == "mtr" and _local(parents[el].tag) != "mtable" or name == "mtd" and _local(parents[el].tag) != "mtr":
            problems.append(f"{where}: <m:{name}> outside its table")
    return problems


def _ancestors(el, parents):
    while el in parents:
        el = parents[el]
        yield el


def item_problems(item: ET.Element, where: str = "item") -> list[str]:
    """An assessmentItem against the rules above."""
    if item.tag != QTI + "assessmentItem":
        return [f"{where}: the root is {item.tag}"]
    problems = sequence_problems(item, ITEM, where)
    problems += _required(item, ("identifier", "title", "adaptive", "timeDependent"), where)
    problems += [f"{where}: {a} is not a boolean" for a in ("adaptive", "timeDependent") if item.get(a) not in BOOLEAN]
    if not IDENTIFIER.fullmatch(item.get("identifier") or ""):
        problems.append(f"{where}: the identifier {item.get('identifier')!r} is not an identifier")
    responses, outcomes = {}, {}
    for kind, table in (("responseDeclaration", responses), ("outcomeDeclaration", outcomes)):
        for decl in item.findall(QTI + kind):
            problems += _required(decl, ("identifier", "cardinality"), where)
            ident = decl.get("identifier") or ""
            if not IDENTIFIER.fullmatch(ident):
                problems.append(f"{where}: {ident!r} is not an identifier")
            if ident in responses or ident in outcomes:
                problems.append(f"{where}: {ident} is declared twice")
            if decl.get("cardinality") not in CARDINALITY or decl.get("baseType") not in BASE_TYPES:
                problems.append(f"{where}: {ident} has cardinality {decl.get('cardinality')!r}, baseType {decl.get('baseType')!r}")
            table[ident] = decl
            for values in (decl.find(QTI + "defaultValue"), decl.find(QTI + "correctResponse")):
                if values is None:
                    continue
                vals = values.findall(QTI + "value")
                if decl.get("cardinality") == "single" and len(vals) != 1:
                    problems.append(f"{where}: {ident} is single but has {len(vals)} values")
                if decl.get("baseType") == "float" and not all(_is_float(v.text) for v in vals):
                    problems.append(f"{where}: {ident}'s value is not a float")
            if kind == "outcomeDeclaration" and decl.find(QTI + "correctResponse") is not None:
                problems.append(f"{where}: the outcome {ident} has a correctResponse")
            for bound in ("normalMinimum", "normalMaximum"):
                if decl.get(bound) is not None and not _is_float(decl.get(bound)):
                    problems.append(f"{where}: {ident}'s {bound} is not a float")
    body = item.find(QTI + "itemBody")
    interactions = [] if body is None else [e for e in body.iter() if _local(e.tag).endswith("Interaction")]
    used = [e.get("responseIdentifier") for e in interactions]
    for e, rid in zip(interactions, used):
        if rid not in responses:
            problems.append(f"{where}: the interaction's response {rid!r} is not declared")
        if _local(e.tag) == "textEntryInteraction" and e.get("expectedLength") is not None and not e.get("expectedLength").isdigit():
            problems.append(f"{where}: expectedLength {e.get('expectedLength')!r}")
    for rid in responses:
        if used.count(rid) != 1:
            problems.append(f"{where}: the response {rid} has {used.count(rid)} interactions")
    if body is not None:
        parents = {c: p for p in body.iter() for c in p}
        for e in interactions:
            if _local(e.tag) == "textEntryInteraction" and _local(parents[e].tag) not in ("p", "span", "div", "li", "td"):
                problems.append(f"{where}: the inline textEntryInteraction sits in <{_local(parents[e].tag)}>")
    processing = item.find(QTI + "responseProcessing")
    set_values = {}
    if processing is not None:
        for v in processing.iter(QTI + "variable"):
            if v.get("identifier") not in responses and v.get("identifier") not in outcomes:
                problems.append(f"{where}: reads the undeclared {v.get('identifier')!r}")
        for v in processing.iter(QTI + "correct"):
            if v.get("identifier") not in responses:
                problems.append(f"{where}: <correct> of {v.get('identifier')!r}, which is not a response")
            elif responses[v.get("identifier")].find(QTI + "correctResponse") is None:
                problems.append(f"{where}: <correct> of {v.get('identifier')}, which has no correctResponse")
        for s in processing.iter(QTI + "setOutcomeValue"):
            ident = s.get("identifier")
            if ident not in outcomes:
                problems.append(f"{where}: sets {ident!r}, which is not an outcome")
            if len(s) != 1:
                problems.append(f"{where}: setOutcomeValue {ident} has {len(s)} expressions")
            base = s.find(QTI + "baseValue")
            if base is not None:
                set_values.setdefault(ident, set()).add(base.text)
                if ident in outcomes and base.get("baseType") != outcomes[ident].get("baseType"):
                    problems.append(f"{where}: sets the {outcomes[ident].get('baseType')} {ident} to a {base.get('baseType')}")
        for eq in processing.iter(QTI + "equal"):
            mode = eq.get("toleranceMode", "exact")
            if mode not in ("exact", "absolute", "relative"):
                problems.append(f"{where}: toleranceMode {mode!r}")
            if len(eq) != 2:
                problems.append(f"{where}: <equal> with {len(eq)} operands")
            if mode != "exact":
                t = (eq.get("tolerance") or "").split()
                if len(t) not in (1, 2) or not all(_is_float(x) and float(x) >= 0 for x in t):
                    problems.append(f"{where}: tolerance {eq.get('tolerance')!r} is not one or two non-negative numbers")
            for bound in ("includeLowerBound", "includeUpperBound"):
                if eq.get(bound) is not None and eq.get(bound) not in BOOLEAN:
                    problems.append(f"{where}: {bound} {eq.get(bound)!r}")
        for total in processing.iter(QTI + "sum"):
            for v in total:
                ident = v.get("identifier")
                decl = outcomes.get(ident) or responses.get(ident)
                if _local(v.tag) == "variable" and decl is not None and decl.get("baseType") not in ("float", "integer"):
                    problems.append(f"{where}: sums the non-numeric {ident}")
    for fb in item.findall(QTI + "modalFeedback"):
        problems += _required(fb, ("outcomeIdentifier", "identifier", "showHide"), where)
        out = outcomes.get(fb.get("outcomeIdentifier"))
        if out is None or out.get("baseType") != "identifier":
            problems.append(f"{where}: modalFeedback's outcome {fb.get('outcomeIdentifier')!r} is not a declared identifier outcome")
        if fb.get("showHide") not in ("show", "hide"):
            problems.append(f"{where}: showHide {fb.get('showHide')!r}")
        if fb.get("showHide") == "show" and fb.get("identifier") not in set_values.get(fb.get("outcomeIdentifier"), set()):
            problems.append(f"{where}: the feedback {fb.get('identifier')!r} is never shown (its outcome is never set to it)")
    return problems + mathml_problems(item, where)


def test_problems(test: ET.Element, items: dict[str, ET.Element], where: str = "test") -> list[str]:
    """An assessmentTest; `items` maps each assessmentItemRef's href to its parsed item."""
    if test.tag != QTI + "assessmentTest":
        return [f"{where}: the root is {test.tag}"]
    problems = sequence_problems(test, TEST, where) + _required(test, ("identifier", "title"), where)
    outcomes = {d.get("identifier"): d for d in test.findall(QTI + "outcomeDeclaration")}
    seen = set()
    for part in test.findall(QTI + "testPart"):
        problems += sequence_problems(part, TEST_PART, f"{where} testPart") + _required(part, ("identifier", "navigationMode", "submissionMode"), where)
        if part.get("navigationMode") not in ("linear", "nonlinear") or part.get("submissionMode") not in ("individual", "simultaneous"):
            problems.append(f"{where}: testPart modes {part.get('navigationMode')!r}, {part.get('submissionMode')!r}")
        for section in part.iter(QTI + "assessmentSection"):
            problems += sequence_problems(section, SECTION, f"{where} section {section.get('identifier')}")
            problems += _required(section, ("identifier", "title", "visible"), where)
            parts = [c for c in section if _local(c.tag) in SECTION_PARTS]
            selection = section.find(QTI + "selection")
            if selection is not None:
                select = selection.get("select") or ""
                if not select.isdigit() or not 1 <= int(select) <= len(parts):
                    problems.append(f"{where}: selection select={select!r} of {len(parts)} parts")
                if selection.get("withReplacement") not in (None, *BOOLEAN):
                    problems.append(f"{where}: withReplacement {selection.get('withReplacement')!r}")
        for ref in part.iter(QTI + "assessmentItemRef"):
            problems += _required(ref, ("identifier", "href"), where)
            if ref.get("identifier") in seen:
                problems.append(f"{where}: the item reference {ref.get('identifier')} twice")
            seen.add(ref.get("identifier"))
            if ref.get("href") not in items:
                problems.append(f"{where}: {ref.get('href')} is not in the package")
    processing = test.find(QTI + "outcomeProcessing")
    if processing is not None:
        for s in processing.iter(QTI + "setOutcomeValue"):
            if s.get("identifier") not in outcomes:
                problems.append(f"{where}: sets the undeclared test outcome {s.get('identifier')!r}")
        for tv in processing.iter(QTI + "testVariables"):
            ident = tv.get("variableIdentifier")
            for href, item in items.items():
                decl = [d for d in item.findall(QTI + "outcomeDeclaration") if d.get("identifier") == ident]
                if not decl or decl[0].get("baseType") not in ("float", "integer"):
                    problems.append(f"{where}: testVariables {ident!r} is not a numeric outcome of {href}")
    return problems


def manifest_problems(manifest: ET.Element, names: list[str], ns: str, where: str = "manifest") -> list[str]:
    """An IMS CP manifest: metadata?, organizations, resources in order; identifiers unique; every file
    of the zip listed once, every listed file present, every dependency resolved."""
    problems = sequence_problems(manifest, ("metadata", "organizations", "resources", "manifest"), where, ns)
    problems += _required(manifest, ("identifier",), where)
    resources = manifest.findall(f"{ns}resources/{ns}resource")
    ids = [r.get("identifier") for r in resources]
    if len(set(ids)) != len(ids):
        problems.append(f"{where}: a resource identifier twice")
    if not all(IDENTIFIER.fullmatch(i or "") for i in ids):
        problems.append(f"{where}: a resource identifier that is not an xsd:ID")
    listed = []
    for r in resources:
        problems += _required(r, ("identifier", "type"), where)
        files = [f.get("href") for f in r.findall(ns + "file")]
        listed += files
        if r.get("href") is not None and r.get("href") not in files:
            problems.append(f"{where}: {r.get('identifier')}'s href is not one of its files")
        for d in r.findall(ns + "dependency"):
            if d.get("identifierref") not in ids:
                problems.append(f"{where}: a dependency on the unknown {d.get('identifierref')!r}")
        order = [_local(c.tag) for c in r]
        if order != sorted(order, key=("metadata", "file", "dependency").index):
            problems.append(f"{where}: {r.get('identifier')}'s children out of order: {order}")
    if sorted(listed) != sorted(n for n in names if n != "imsmanifest.xml"):
        problems.append(f"{where}: the files listed are not the package's files")
    return problems


# --- QTI ASI 1.2 (Canvas's classic-quiz import) ------------------------------------------------------

ASI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
# ims_qtiasiv1p2p1.xsd's sequences for what derive writes (the DTD's content models, in order).
ASI_ASSESSMENT = ("qticomment", "duration", "qtimetadata", "objectives", "assessmentcontrol", "rubric",
                  "presentation_material", "outcomes_processing", "assessproc_extension", "assessfeedback",
                  "selection_ordering", "reference", "sectionPart")
ASI_SECTION = ("qticomment", "duration", "qtimetadata", "objectives", "sectioncontrol", "sectionprecondition",
               "sectionpostcondition", "rubric", "presentation_material", "outcomes_processing", "sectionproc_extension",
               "sectionfeedback", "selection_ordering", "reference", "sectionPart")
ASI_ITEM = ("qticomment", "duration", "itemmetadata", "objectives", "itemcontrol", "itemprecondition",
            "itempostcondition", "rubric", "presentation", "resprocessing", "itemproc_extension", "itemfeedback", "reference")
ASI_RESPROCESSING = ("qticomment", "outcomes", "respcondition")
ASI_RESPCONDITION = ("qticomment", "conditionvar", "setvar", "displayfeedback", "respcond_extension")
CONDITIONS = {"not", "and", "or", "unanswered", "other", "varequal", "varlt", "varlte", "vargt", "vargte",
              "varsubset", "varinside", "varsubstring", "durequal", "durlt", "durlte", "durgt", "durgte"}


def _asi_sequence(element, order, where):
    rank = {t: i for i, t in enumerate(order)}
    names, problems = [], []
    for child in element:
        name = _local(child.tag)
        if name in ("item", "section", "itemref", "sectionref") and "sectionPart" in rank:
            name = "sectionPart"
        if not child.tag.startswith(ASI) or name not in rank:
            problems.append(f"{where}: <{_local(child.tag)}> is not allowed in <{_local(element.tag)}>")
            continue
        names.append(name)
    if names != sorted(names, key=rank.__getitem__):
        problems.append(f"{where}: <{_local(element.tag)}>'s children out of order: {names}")
    return problems


def asi_problems(root: ET.Element, where: str = "quiz") -> list[str]:
    """A questestinterop document against QTI ASI 1.2's content models and its cross-references."""
    if root.tag != ASI + "questestinterop":
        return [f"{where}: the root is {root.tag}"]
    problems = []
    idents = [e.get("ident") for e in root.iter() if _local(e.tag) in ("assessment", "section", "item")]
    if len(set(idents)) != len(idents):
        problems.append(f"{where}: an ident twice")
    assessments = root.findall(ASI + "assessment")
    if len(assessments) != 1:
        problems.append(f"{where}: {len(assessments)} assessments")
    for a in assessments:
        problems += _required(a, ("ident", "title"), where) + _asi_sequence(a, ASI_ASSESSMENT, where)
        if a.find(ASI + "section") is None:
            problems.append(f"{where}: an assessment without a section")
    for s in root.iter(ASI + "section"):
        problems += _required(s, ("ident",), where) + _asi_sequence(s, ASI_SECTION, where)
    for item in root.iter(ASI + "item"):
        w = f"{where} item {item.get('ident')}"
        problems += _required(item, ("ident",), w) + _asi_sequence(item, ASI_ITEM, w)
        responses = {r.get("ident"): r for r in item.iter() if _local(r.tag).startswith("response_") and r.get("ident")}
        responses = {k: v for k, v in responses.items() if _local(v.tag) != "response_label"}
        feedback = {f.get("ident") for f in item.findall(ASI + "itemfeedback")}
        for r in responses.values():
            if r.get("rcardinality") not in (None, "Single", "Multiple", "Ordered"):
                problems.append(f"{w}: rcardinality {r.get('rcardinality')!r}")
        for fib in item.iter(ASI + "render_fib"):
            if fib.get("fibtype") not in (None, "String", "Integer", "Decimal", "Scientific"):
                problems.append(f"{w}: fibtype {fib.get('fibtype')!r}")
        for rp in item.findall(ASI + "resprocessing"):
            problems += _asi_sequence(rp, ASI_RESPROCESSING, w)
            declared = {d.get("varname", "SCORE") for d in rp.iter(ASI + "decvar")}
            for d in rp.iter(ASI + "decvar"):
                if d.get("vartype") not in (None, "Integer", "String", "Decimal", "Scientific", "Boolean", "Enumerated", "Set"):
                    problems.append(f"{w}: vartype {d.get('vartype')!r}")
            for rc in rp.findall(ASI + "respcondition"):
                problems += _asi_sequence(rc, ASI_RESPCONDITION, w)
                if rc.get("continue") not in (None, "Yes", "No"):
                    problems.append(f"{w}: continue {rc.get('continue')!r}")
                for cond in rc.find(ASI + "conditionvar").iter():
                    name = _local(cond.tag)
                    if cond is rc.find(ASI + "conditionvar"):
                        continue
                    if name not in CONDITIONS:
                        problems.append(f"{w}: <{name}> in a conditionvar")
                    if name.startswith("var") and cond.get("respident") not in responses:
                        problems.append(f"{w}: <{name}> of the unknown response {cond.get('respident')!r}")
                    if name in ("varequal", "varlt", "varlte", "vargt", "vargte") and len(cond):
                        problems.append(f"{w}: <{name}> holds elements")
                    if name in ("varlt", "varlte", "vargt", "vargte") and not _is_float(cond.text):
                        problems.append(f"{w}: <{name}> {cond.text!r} is not a number")
                for sv in rc.findall(ASI + "setvar"):
                    if sv.get("varname", "SCORE") not in declared:
                        problems.append(f"{w}: sets the undeclared {sv.get('varname')!r}")
                    if sv.get("action") not in (None, "Set", "Add", "Subtract", "Multiply", "Divide"):
                        problems.append(f"{w}: action {sv.get('action')!r}")
                for df in rc.findall(ASI + "displayfeedback"):
                    if df.get("linkrefid") not in feedback:
                        problems.append(f"{w}: feedback {df.get('linkrefid')!r} is not an itemfeedback")
    return problems
