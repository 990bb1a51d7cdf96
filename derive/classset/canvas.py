"""Canvas's classic-quiz import: QTI 1.2 question banks, one bank per question and one
`numerical_question` item per student, each an exact answer with a margin.

Canvas reads a QTI 2.1 numeric item only as a range taken from `gte`/`lte` conditions, not from
`equal` with a tolerance, so Canvas gets this form of its own (the form Canvas itself exports:
`varequal` for the exact value, or `vargte`/`varlte` for value ∓ margin).
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .archive import zip_bytes
from .qti import item_identifier
from .variant import Variant, feedback_html, number, question_html, slug

QTI12_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
QTI12_XSD = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"


def _field(label: str, entry: str) -> str:
    return (f"          <qtimetadatafield><fieldlabel>{label}</fieldlabel>"
            f"<fieldentry>{escape(entry)}</fieldentry></qtimetadatafield>")


def _item(spec_name: str, spec_title: str, variant: Variant, index: int, examples: int) -> str:
    q = variant.questions[index]
    ident = item_identifier(spec_name, q.key, variant.student.id)
    low, high = number(q.value - q.tolerance), number(q.value + q.tolerance)
    return f"""      <item ident={quoteattr(ident)} title={quoteattr(f"{q.key} {variant.student.id}")}>
        <itemmetadata>
          <qtimetadata>
{_field("question_type", "numerical_question")}
{_field("points_possible", "1.0")}
          </qtimetadata>
        </itemmetadata>
        <presentation>
          <material>
            <mattext texttype="text/html">{escape(question_html(spec_title, variant, q, examples))}</mattext>
          </material>
          <response_str ident="response1" rcardinality="Single">
            <render_fib fibtype="Decimal">
              <response_label ident="answer1"/>
            </render_fib>
          </response_str>
        </presentation>
        <resprocessing>
          <outcomes>
            <decvar maxvalue="100" minvalue="0" varname="SCORE" vartype="Decimal"/>
          </outcomes>
          <respcondition continue="Yes">
            <conditionvar>
              <other/>
            </conditionvar>
            <displayfeedback feedbacktype="Response" linkrefid="general_fb"/>
          </respcondition>
          <respcondition continue="No">
            <conditionvar>
              <or>
                <varequal respident="response1">{number(q.value)}</varequal>
                <and>
                  <vargte respident="response1">{low}</vargte>
                  <varlte respident="response1">{high}</varlte>
                </and>
              </or>
            </conditionvar>
            <setvar action="Set" varname="SCORE">100</setvar>
          </respcondition>
        </resprocessing>
        <itemfeedback ident="general_fb">
          <flow_mat>
            <material>
              <mattext texttype="text/html">{escape(feedback_html(q))}</mattext>
            </material>
          </flow_mat>
        </itemfeedback>
      </item>"""


def canvas_zip(spec_name: str, spec_title: str, variants: list[Variant], examples: int) -> bytes:
    files: dict[str, bytes] = {}
    resources = []
    for index, q in enumerate(variants[0].questions):
        bank = f"bank-{spec_name}-{index + 1:03d}-{slug(q.key)}"
        items = "\n".join(_item(spec_name, spec_title, v, index, examples) for v in variants)
        text = f"""<?xml version="1.0" encoding="UTF-8"?>
<questestinterop xmlns="{QTI12_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{QTI12_NS} {QTI12_XSD}">
  <objectbank ident={quoteattr(bank)}>
    <qtimetadata>
      <qtimetadatafield><fieldlabel>bank_title</fieldlabel><fieldentry>{escape(f"{spec_name} {index + 1:03d} {q.key}")}</fieldentry></qtimetadatafield>
    </qtimetadata>
    <section ident="root_section">
{items}
    </section>
  </objectbank>
</questestinterop>
"""
        href = f"{bank}/{bank}.xml"
        files[href] = text.encode("utf-8")
        resources.append(f'    <resource identifier={quoteattr(bank)} type="imsqti_xmlv1p2" href="{href}">\n'
                         f'      <file href="{href}"/>\n    </resource>')
    manifest = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier={quoteattr("manifest-" + spec_name)} xmlns="{CP_NS}">
  <metadata>
    <schema>IMS Content</schema>
    <schemaversion>1.1.3</schemaversion>
  </metadata>
  <organizations/>
  <resources>
{chr(10).join(resources)}
  </resources>
</manifest>
"""
    files["imsmanifest.xml"] = manifest.encode("utf-8")
    return zip_bytes(files)
