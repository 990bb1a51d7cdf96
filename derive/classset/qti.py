"""A QTI 2.1 content package: imsmanifest.xml, one assessmentItem per question and student, and an
assessmentTest with one section per question that selects one of its variants (as R/exams does).

Each item declares a float response, asks through a textEntryInteraction and scores with `equal`
in absolute tolerance mode, [value − tolerance, value + tolerance], bounds included.
"""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

from .archive import zip_bytes
from .questions import decimal_text
from .variant import Variant, feedback_html, number, question_html, slug

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def item_identifier(spec_name: str, key: str, student_id: str) -> str:
    return f"{spec_name}-{slug(key)}-{student_id}"  # letters, digits, hyphens: a valid xsd:NCName after the prefix


def assessment_item(spec_name: str, spec_title: str, variant: Variant, index: int, examples: int) -> bytes:
    """One item. The question and feedback HTML are <p> elements around escaped text: valid XHTML as they are."""
    q = variant.questions[index]
    ident = "item-" + item_identifier(spec_name, q.key, variant.student.id)
    below, above = decimal_text(q.exact - q.low), decimal_text(q.high - q.exact)
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="{QTI_NS}" xmlns:xsi="{XSI}" xsi:schemaLocation="{QTI_NS} {QTI_XSD}"
  identifier={quoteattr(ident)} title={quoteattr(f"{spec_name} {q.key} {variant.student.id}")} adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="float">
    <correctResponse>
      <value>{number(q.value)}</value>
    </correctResponse>
  </responseDeclaration>
  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float">
    <defaultValue>
      <value>0</value>
    </defaultValue>
  </outcomeDeclaration>
  <outcomeDeclaration identifier="MAXSCORE" cardinality="single" baseType="float">
    <defaultValue>
      <value>1</value>
    </defaultValue>
  </outcomeDeclaration>
  <outcomeDeclaration identifier="FEEDBACK" cardinality="single" baseType="identifier"/>
  <itemBody>
    <div>{question_html(spec_title, variant, q, examples)}</div>
    <p><textEntryInteraction responseIdentifier="RESPONSE" expectedLength="16"/></p>
  </itemBody>
  <responseProcessing>
    <responseCondition>
      <responseIf>
        <equal toleranceMode="absolute" tolerance="{below} {above}" includeLowerBound="true" includeUpperBound="true">
          <correct identifier="RESPONSE"/>
          <variable identifier="RESPONSE"/>
        </equal>
        <setOutcomeValue identifier="SCORE">
          <baseValue baseType="float">1</baseValue>
        </setOutcomeValue>
      </responseIf>
    </responseCondition>
    <setOutcomeValue identifier="FEEDBACK">
      <baseValue baseType="identifier">solution</baseValue>
    </setOutcomeValue>
  </responseProcessing>
  <modalFeedback outcomeIdentifier="FEEDBACK" identifier="solution" showHide="show">{feedback_html(q)}</modalFeedback>
</assessmentItem>
"""
    return text.encode("utf-8")


def assessment_test(spec_name: str, spec_title: str, sections: list[tuple[str, list[str]]]) -> bytes:
    """The test: one section per question, drawing one of the students' variants."""
    parts = []
    for index, (key, idents) in enumerate(sections):
        refs = "\n".join(f'        <assessmentItemRef identifier={quoteattr("ref-" + i)} href="items/{i}.xml"/>' for i in idents)
        parts.append(f"""      <assessmentSection identifier={quoteattr(f"section-{index + 1:03d}-{slug(key)}")} title={quoteattr(key)} visible="true">
        <selection select="1"/>
{refs}
      </assessmentSection>""")
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentTest xmlns="{QTI_NS}" xmlns:xsi="{XSI}" xsi:schemaLocation="{QTI_NS} {QTI_XSD}"
  identifier={quoteattr("test-" + spec_name)} title={quoteattr(spec_title)}>
  <testPart identifier="part-1" navigationMode="nonlinear" submissionMode="individual">
    <assessmentSection identifier="all" title={quoteattr(spec_title)} visible="true">
{chr(10).join(parts)}
    </assessmentSection>
  </testPart>
</assessmentTest>
"""
    return text.encode("utf-8")


def qti_zip(spec_name: str, spec_title: str, variants: list[Variant], examples: int) -> bytes:
    files: dict[str, bytes] = {}
    resources, sections = [], []
    for index, q in enumerate(variants[0].questions):
        idents = []
        for variant in variants:
            ident = item_identifier(spec_name, q.key, variant.student.id)
            href = f"items/{ident}.xml"
            files[href] = assessment_item(spec_name, spec_title, variant, index, examples)
            resources.append(f'    <resource identifier={quoteattr("res-" + ident)} type="imsqti_item_xmlv2p1" href="{href}">\n'
                             f'      <file href="{href}"/>\n    </resource>')
            idents.append(ident)
        sections.append((q.key, idents))
    files["test.xml"] = assessment_test(spec_name, spec_title, sections)
    depends = "\n".join(f'      <dependency identifierref={quoteattr("res-" + i)}/>' for _, idents in sections for i in idents)
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
