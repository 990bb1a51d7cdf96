"""Class sets: one derivation, a different set of numbers for every student (`derive class`).

    roster      who the students are (a CSV, or N numbered students), ids checked before use
    variants    each student's [values], drawn from a generator seeded by (class seed, student id)
    questions   the gradable quantities of one variant: exact value, accepted range [low, high], rule, feedback
    variant     one student's numbers and questions, as the exports read them
    moodle, qti, canvas, table    the LMS exports (one draw per student in each) and answers.csv, each a
                function of the questions
    archive     the zip files the QTI and Canvas exports are, with fixed dates and order
    documents   every student's exercise and answer sheet in one LaTeX document each
    build       the stages in order, checked, written atomically

May import: `derive.engine`, `derive.code`, `derive.numbers`, `derive.notation`, `derive.sheets`, and
derive's foundation modules.
"""
