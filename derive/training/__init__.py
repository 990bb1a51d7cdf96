"""Training: many gradient-descent steps with the generated module (`derive train`).

    train       the loop (full batch, mini-batches, online SGD), its split and its measurements
    report      the one-page PDF report (pgfplots curves, settings, final parameters)
    output      training.json and training.pdf written like a build's files

May import: `derive.engine`, `derive.code`, `derive.numbers`, `derive.sheets` (TeX escaping and
LaTeX compilation for the report), derive's foundation modules.
"""
