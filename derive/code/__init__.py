"""The generated NumPy module: the derivation printed as Python that needs only NumPy.

    codegen         the module's text (`module_source`) and loading it (`load_module`)
    statements      the matrix form as NumPy statements that reuse their own buffers
    stable_forms    overflow- and cancellation-free forms of σ, 1 − σ, ln σ and softmax
    guards          the argument checks every public function runs first (`ValueError`s)

May import: `derive.engine`, derive's foundation modules (`derive.errors`, `derive.version`), SymPy's
printers. The module it writes imports NumPy alone.
"""
