"""Layers: each module registers its transforms with cobol.registry on import.

The modules are not imported here: each transform is declared by id, name,
module and formats in :data:`cobol.registry.BUILTIN_TRANSFORMS`, and its
module is imported when a block needs it -- to decode a block of that id, or
to plan a block of one of its formats. A run thus imports (and compiles the
Numba kernels of) only the transforms it uses, and importing the engine loads
no kernels at all.
"""
