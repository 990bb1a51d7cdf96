"""The engine: a spec in, its derivation out, as plain read-only values.

    spec            what the user wrote (TOML, or a CSV file it names), validated: `Spec`, `load_spec`
    csv_data        a spec's examples read from a CSV file in its folder
    magnitudes      the smallest nonzero number a spec or CSV may write (underflow refused like overflow)
    activations     σ, tanh, ReLU, identity, softmax as SymPy functions with their own derivatives
    losses          the losses with their ∂J/∂ŷ and stable forms
    regularization  the L2 term's scale conventions (a table, never evaluated)
    network         the network as SymPy symbols and expressions: `build_network(spec)`
    matrix_form     the same equations for all examples at once, with shapes
    derivation      chain-rule paths by dynamic programming, δ terms, gradients: `derive(network)`
    proof           path sum = δ form, proved for every parameter

May import: the standard library, SymPy, NumPy, and derive's foundation modules (`derive.errors`,
`derive.files`). Nothing here imports another room; every other room reads what this one makes.
"""
