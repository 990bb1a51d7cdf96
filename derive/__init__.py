"""derive: a small neural network in, its complete and checked backpropagation derivation out."""

__version__ = "0.1.0"
