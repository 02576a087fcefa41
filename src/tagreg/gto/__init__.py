"""GTO 1.10.1's Python API on tagreg, for scripts written against `gto.api`.

`import gto.api` -> `import tagreg.gto.api as ...` (and `gto.exceptions` -> `tagreg.gto.exceptions`)
is the whole migration: the same functions, parameters, returned objects and exceptions, on
tagreg's reading of the registry. Not imported by tagreg's CLI.
"""
