"""Class sets: one derivation, a different set of numbers for every student (`derive class`).

    roster      who the students are (a CSV, or N numbered students), ids checked before use
    variants    each student's [values], drawn from a generator seeded by (class seed, student id)
    questions   the gradable quantities of one variant: exact value, tolerance, worked feedback
    moodle, qti, canvas, table    the LMS exports and answers.csv, each a function of the questions
    documents   every student's exercise and answer sheet in one LaTeX document each
    build       the stages in order, checked, written atomically
"""
