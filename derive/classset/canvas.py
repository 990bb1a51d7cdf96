"""Canvas's classic-quiz import: a QTI 1.2 quiz with one question group per question, holding one
`numerical_question` item per student (an exact answer with a margin) and drawing one of them.

Canvas's importer reads a QTI 2.1 numeric item's answer from `gte`/`lte` or `equal` with a
`baseValue`, never from `equal` with a tolerance against the correct response, so the QTI 2.1
package would arrive without its margin; Canvas gets the form it exports itself: `varequal` with
the exact value, or'ed with `vargte`/`varlte` at value ∓ margin (margin = varlte − exact).
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .archive import zip_bytes
from .qti import item_identifier
from .questions import decimal_text
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
    low, high = decimal_text(q.low), decimal_text(q.high)
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
    """One quiz: a question group per question, holding every student's variant and drawing one."""
    groups = []
    for index, q in enumerate(variants[0].questions):
        items = "\n".join(_item(spec_name, spec_title, v, index, examples) for v in variants)
        groups.append(f"""    <section ident={quoteattr(f"group-{index + 1:03d}-{slug(q.key)}")} title={quoteattr(f"{index + 1:03d} {q.key}")}>
      <selection_ordering>
        <selection>
          <selection_number>1</selection_number>
          <selection_extension>
            <points_per_item>1.0</points_per_item>
          </selection_extension>
        </selection>
      </selection_ordering>
{items}
    </section>""")
    quiz = f"quiz-{spec_name}"
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<questestinterop xmlns="{QTI12_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{QTI12_NS} {QTI12_XSD}">
  <assessment ident={quoteattr(quiz)} title={quoteattr(spec_title)}>
    <qtimetadata>
      <qtimetadatafield><fieldlabel>cc_maxattempts</fieldlabel><fieldentry>1</fieldentry></qtimetadatafield>
    </qtimetadata>
    <section ident="root_section">
{chr(10).join(groups)}
    </section>
  </assessment>
</questestinterop>
"""
    href = f"{quiz}/{quiz}.xml"
    manifest = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier={quoteattr("manifest-" + spec_name)} xmlns="{CP_NS}">
  <metadata>
    <schema>IMS Content</schema>
    <schemaversion>1.1.3</schemaversion>
  </metadata>
  <organizations/>
  <resources>
    <resource identifier={quoteattr(quiz)} type="imsqti_xmlv1p2" href="{href}">
      <file href="{href}"/>
    </resource>
  </resources>
</manifest>
"""
    return zip_bytes({"imsmanifest.xml": manifest.encode("utf-8"), href: text.encode("utf-8")})
