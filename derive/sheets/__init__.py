"""The documents: the derivation printed in a notation profile as a handout, an exercise sheet and a
worked-answer sheet (LaTeX text), and the LaTeX compilation every document of derive goes through.

    render          one context for the three templates, rendered (`render_worksheets`, `render_variants`)
    texenv          the Jinja2 environment: TeX delimiters, escaping, the sandbox for template folders
    template_files  which files of a template folder a template may read, and their digest (the build key)
    scripts         a name in any script the TeX installation can set: each word in its font encoding
    latex           pdflatex with shell escape off, a time limit and a Landlock sandbox (`compile_pdf`)
    typeset         a derivation's symbols and numbers as LaTeX in the profile's notation
    equations, path_sums, columns, slopes, diagram, stepwise, scope, regularization
                    the handout's pieces, each a function of the derivation
    questions       the exercise sheet's questions as data, answered one to one by the answer sheet
    worked          the answer sheet's numbers (`worked`), in three steps:
      lines           every quantity's exact value and the line that computes it, as data
      settle          the precision policy: the figures each number is printed to, so every line
                      reproduces from its printed operands (`WorkedLine`, `reproduces`)
      worked_tex      the settled lines as the templates' LaTeX pieces
    line_values, decimals, fdcheck
                    a line's exact re-evaluation, how a number is printed, the finite-difference check

May import: `derive.engine`, `derive.numbers`, `derive.notation`, derive's foundation modules. Nothing
is imported here, so `derive.sheets.latex` loads without SymPy.
"""
