"""derive's version: one number, read by the command line, the generated module's header and the build key."""
__version__ = "0.1.0"
