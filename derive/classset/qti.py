"""A QTI 2.1 content package: imsmanifest.xml, one assessmentItem per student holding every part,
and an assessmentTest whose one section selects one item (`<selection select="1"/>`), so a test
gives a student one network throughout, and sums the items' SCORE in outcomeProcessing.

Each part k declares a float RESPONSE_k, asks through a textEntryInteraction and scores 1 into
SCORE_RESPONSE_k when `equal` in absolute tolerance mode holds: y ∈ [x − t0, x + t1] with x the
correct response first and y the student's (the info model's operand order, so an asymmetric range
[low, high] is t0 = exact − low, t1 = high − exact), bounds included; SCORE is their sum.

Maths is MathML 2 (`m:math`, which imsqti_v2p1.xsd allows in the item's text), from the same TeX the
other exports write (derive.notation.mathml); a piece the converter does not read stays TeX in \\( \\).
"""
from __future__ import annotations

from html import escape
from xml.sax.saxutils import quoteattr

from ..notation.mathml import MATHML_NS
from .archive import zip_bytes
from .questions import Question, decimal_text
from .variant import (
    Variant,
    feedback_html,
    intro_html,
    mathml_html,
    name,
    number,
    part_html,
)

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def item_identifier(spec_name: str, student_id: str) -> str:
    return f"{spec_name}-{student_id}"  # letters, digits, hyphens: a valid xsd:NCName after the prefix


def _float(k: int, value: str) -> str:
    return f"""  <outcomeDeclaration identifier="SCORE_RESPONSE_{k}" cardinality="single" baseType="float">
    <defaultValue>
      <value>{value}</value>
    </defaultValue>
  </outcomeDeclaration>"""


def _condition(k: int, q: Question) -> str:
    below, above = decimal_text(q.exact - q.low), decimal_text(q.high - q.exact)
    return f"""    <responseCondition>
      <responseIf>
        <equal toleranceMode="absolute" tolerance="{below} {above}" includeLowerBound="true" includeUpperBound="true">
          <correct identifier="RESPONSE_{k}"/>
          <variable identifier="RESPONSE_{k}"/>
        </equal>
        <setOutcomeValue identifier="SCORE_RESPONSE_{k}">
          <baseValue baseType="float">1</baseValue>
        </setOutcomeValue>
      </responseIf>
    </responseCondition>"""


def assessment_item(spec_name: str, spec_title: str, variant: Variant, examples: int) -> bytes:
    """One student's item: every part. The HTML is <p> elements around escaped text: valid XHTML as it is."""
    qs = list(enumerate(variant.questions, 1))
    n = len(qs)
    ident = "item-" + item_identifier(spec_name, variant.student.id)
    responses = "\n".join(f"""  <responseDeclaration identifier="RESPONSE_{k}" cardinality="single" baseType="float">
    <correctResponse>
      <value>{number(q.value)}</value>
    </correctResponse>
  </responseDeclaration>""" for k, q in qs)
    body = "\n".join(f'    <p>{part_html(q, examples, mathml_html)} <textEntryInteraction responseIdentifier="RESPONSE_{k}" expectedLength="16"/></p>'
                     for k, q in qs)
    total = "\n".join(f'          <variable identifier="SCORE_RESPONSE_{k}"/>' for k, _ in qs)
    solution = "".join(f"<p>{escape(name(q))}:</p>{feedback_html(q, mathml_html)}" for _, q in qs)
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="{QTI_NS}" xmlns:m="{MATHML_NS}" xmlns:xsi="{XSI}" xsi:schemaLocation="{QTI_NS} {QTI_XSD}"
  identifier={quoteattr(ident)} title={quoteattr(f"{spec_name} {variant.student.id}")} adaptive="false" timeDependent="false">
{responses}
{_score_outcomes(n)}
{chr(10).join(_float(k, "0") for k, _ in qs)}
  <outcomeDeclaration identifier="FEEDBACK" cardinality="single" baseType="identifier"/>
  <itemBody>
    {intro_html(spec_title, variant, mathml_html)}
{body}
  </itemBody>
  <responseProcessing>
{chr(10).join(_condition(k, q) for k, q in qs)}
    <setOutcomeValue identifier="SCORE">
      <sum>
{total}
      </sum>
    </setOutcomeValue>
    <setOutcomeValue identifier="FEEDBACK">
      <baseValue baseType="identifier">solution</baseValue>
    </setOutcomeValue>
  </responseProcessing>
  <modalFeedback outcomeIdentifier="FEEDBACK" identifier="solution" showHide="show">{solution}</modalFeedback>
</assessmentItem>
"""
    return text.encode("utf-8")


def _score_outcomes(most: int) -> str:
    """SCORE (from 0, at most `most`) and MAXSCORE: an item's and the test's alike, one mark a part."""
    return f"""  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float" normalMinimum="0" normalMaximum="{most}">
    <defaultValue>
      <value>0</value>
    </defaultValue>
  </outcomeDeclaration>
  <outcomeDeclaration identifier="MAXSCORE" cardinality="single" baseType="float">
    <defaultValue>
      <value>{most}</value>
    </defaultValue>
  </outcomeDeclaration>"""


def assessment_test(spec_name: str, spec_title: str, idents: list[str], parts: int) -> bytes:
    """The test: one section of every student's item, selecting one; SCORE the sum of the items'."""
    refs = "\n".join(f'      <assessmentItemRef identifier={quoteattr("ref-" + i)} href="items/{i}.xml"/>' for i in idents)
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentTest xmlns="{QTI_NS}" xmlns:xsi="{XSI}" xsi:schemaLocation="{QTI_NS} {QTI_XSD}"
  identifier={quoteattr("test-" + spec_name)} title={quoteattr(spec_title)}>
{_score_outcomes(parts)}
  <testPart identifier="part-1" navigationMode="nonlinear" submissionMode="individual">
    <itemSessionControl maxAttempts="1" showSolution="true" allowReview="true"/>
    <assessmentSection identifier="students" title={quoteattr(spec_title)} visible="true">
      <selection select="1"/>
{refs}
    </assessmentSection>
  </testPart>
  <outcomeProcessing>
    <setOutcomeValue identifier="SCORE">
      <sum>
        <testVariables variableIdentifier="SCORE"/>
      </sum>
    </setOutcomeValue>
  </outcomeProcessing>
</assessmentTest>
"""
    return text.encode("utf-8")


def qti_zip(spec_name: str, spec_title: str, variants: list[Variant], examples: int) -> bytes:
    files: dict[str, bytes] = {}
    resources, idents = [], []
    for variant in variants:
        ident = item_identifier(spec_name, variant.student.id)
        href = f"items/{ident}.xml"
        files[href] = assessment_item(spec_name, spec_title, variant, examples)
        resources.append(f'    <resource identifier={quoteattr("res-" + ident)} type="imsqti_item_xmlv2p1" href="{href}">\n'
                         f'      <file href="{href}"/>\n    </resource>')
        idents.append(ident)
    files["test.xml"] = assessment_test(spec_name, spec_title, idents, len(variants[0].questions))
    depends = "\n".join(f'      <dependency identifierref={quoteattr("res-" + i)}/>' for i in idents)
    resources.insert(0, f'    <resource identifier={quoteattr("res-test-" + spec_name)} type="imsqti_test_xmlv2p1" href="test.xml">\n'
                        f'      <file href="test.xml"/>\n{depends}\n    </resource>')
    manifest = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="{CP_NS}" xmlns:xsi="{XSI}" xsi:schemaLocation="{CP_NS} {CP_XSD}" identifier={quoteattr("manifest-" + spec_name)}>
  <metadata>
    <schema>QTIv2.1 Package</schema>
    <schemaversion>1.0.0</schemaversion>
  </metadata>
  <organizations/>
  <resources>
{chr(10).join(resources)}
  </resources>
</manifest>
"""
    files["imsmanifest.xml"] = manifest.encode("utf-8")
    return zip_bytes(files)
