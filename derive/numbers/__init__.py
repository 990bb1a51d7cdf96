"""Numbers and checks: what the derivation gives for the spec's values, and the evidence that it is right.

    answers     every z, a, δ, gradient and update in exact and high-precision arithmetic (answers.json)
    reference   an independent NumPy backprop and finite differences, written apart from the engine
    check       the generated module against the reference and finite differences (`derive check`)

May import: `derive.engine`, `derive.code`, derive's foundation modules.
"""
