"""Our materializers: `core` for the shared types, one module per system for its own.

A materializer registers itself for its types when its module is imported, so each step module
imports the modules of the types it returns (`materializers.core`, `materializers.<system>`).
"""
