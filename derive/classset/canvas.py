"""Canvas's classic-quiz import: one QTI 1.2 quiz per student, holding a `numerical_question` per part
(an exact answer with a margin, or a range), with the assessment_meta.xml Canvas reads (quiz type,
points, one attempt, visible only to the students it is assigned to).

Why a quiz per student: Canvas Classic has no question type with several numeric, tolerance-graded
blanks, a question group draws each of its questions on its own, and groups cannot nest; so the only
structure that keeps one student's numbers together is a quiz of its own, which the TA assigns to
that student ("Assign to"). Canvas's importer reads a QTI 2.1 numeric item's answer from `gte`/`lte`
or `equal` with a `baseValue`, never from `equal` with a tolerance against the correct response, so
Canvas gets the form it exports itself: `varequal` with the exact value, or'ed with `vargte`/`varlte`
at value ∓ margin (Canvas's margin is varlte − varequal, in decimal: the bounds are exact decimals).
An asymmetric range is `vargte`/`varlte` alone, which Canvas imports as a range answer. `vargte`, not
`vargt`: with `vargt` Canvas may turn the answer into a precision answer.
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .archive import zip_bytes
from .qti import item_identifier
from .questions import Question, decimal_text
from .variant import Variant, feedback_html, name, number, question_html, slug

QTI12_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
QTI12_XSD = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"
CANVAS_XSD = "https://canvas.instructure.com/xsd/cccv1p0.xsd"
META = "assessment_meta.xml"  # Canvas looks for <assessment ident>/assessment_meta.xml


def _field(label: str, entry: str) -> str:
    return (f"          <qtimetadatafield><fieldlabel>{label}</fieldlabel>"
            f"<fieldentry>{escape(entry)}</fieldentry></qtimetadatafield>")


def _condition(q: Question) -> str:
    low, high = decimal_text(q.low), decimal_text(q.high)
    bounds = f"""<vargte respident="response1">{low}</vargte>
                  <varlte respident="response1">{high}</varlte>"""
    if not q.symmetric:  # a range answer: Canvas keeps both bounds as written
        return f"""<and>
                  {bounds}
                </and>"""
    return f"""<or>
                <varequal respident="response1">{number(q.value)}</varequal>
                <and>
                  {bounds}
                </and>
              </or>"""


def _item(spec_name: str, spec_title: str, variant: Variant, q: Question, examples: int) -> str:
    ident = f"{item_identifier(spec_name, variant.student.id)}-{slug(q.key)}"
    return f"""      <item ident={quoteattr(ident)} title={quoteattr(name(q))}>
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
              {_condition(q)}
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


def quiz_xml(spec_name: str, spec_title: str, variant: Variant, examples: int) -> bytes:
    quiz = quiz_identifier(spec_name, variant.student.id)
    items = "\n".join(_item(spec_name, spec_title, variant, q, examples) for q in variant.questions)
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<questestinterop xmlns="{QTI12_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{QTI12_NS} {QTI12_XSD}">
  <assessment ident={quoteattr(quiz)} title={quoteattr(quiz_title(spec_title, variant))}>
    <qtimetadata>
      <qtimetadatafield><fieldlabel>cc_maxattempts</fieldlabel><fieldentry>1</fieldentry></qtimetadatafield>
    </qtimetadata>
    <section ident="root_section">
{items}
    </section>
  </assessment>
</questestinterop>
"""
    return text.encode("utf-8")


def quiz_identifier(spec_name: str, student_id: str) -> str:
    return "quiz-" + item_identifier(spec_name, student_id)


def quiz_title(spec_title: str, variant: Variant) -> str:
    return f"{spec_title} ({variant.student.id})"


def assessment_meta(spec_title: str, variant: Variant, quiz: str) -> bytes:
    """What Canvas reads besides the questions: a graded quiz, one attempt, hidden until assigned."""
    who = variant.student.name or variant.student.id
    points = f"{len(variant.questions)}.0"
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<quiz identifier={quoteattr(quiz)} xmlns="{CANVAS_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{CANVAS_NS} {CANVAS_XSD}">
  <title>{escape(quiz_title(spec_title, variant))}</title>
  <description>{escape(f"<p>{escape(spec_title)}: the exercise for {escape(who)} ({variant.student.id}), with that student's own numbers.</p>")}</description>
  <shuffle_answers>false</shuffle_answers>
  <scoring_policy>keep_highest</scoring_policy>
  <quiz_type>assignment</quiz_type>
  <points_possible>{points}</points_possible>
  <show_correct_answers>true</show_correct_answers>
  <allowed_attempts>1</allowed_attempts>
  <one_question_at_a_time>false</one_question_at_a_time>
  <cant_go_back>false</cant_go_back>
  <available>false</available>
  <only_visible_to_overrides>true</only_visible_to_overrides>
</quiz>
"""
    return text.encode("utf-8")


def canvas_zip(spec_name: str, spec_title: str, variants: list[Variant], examples: int) -> bytes:
    """A quiz per student, each in its own folder with its assessment_meta.xml."""
    files: dict[str, bytes] = {}
    resources = []
    for variant in variants:
        quiz = quiz_identifier(spec_name, variant.student.id)
        href, meta = f"{quiz}/{quiz}.xml", f"{quiz}/{META}"
        files[href] = quiz_xml(spec_name, spec_title, variant, examples)
        files[meta] = assessment_meta(spec_title, variant, quiz)
        resources.append(f"""    <resource identifier={quoteattr(quiz)} type="imsqti_xmlv1p2" href="{href}">
      <file href="{href}"/>
      <dependency identifierref={quoteattr(quiz + "-meta")}/>
    </resource>
    <resource identifier={quoteattr(quiz + "-meta")} type="associatedcontent/imscc_xmlv1p1/learning-application-resource" href="{meta}">
      <file href="{meta}"/>
    </resource>""")
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
