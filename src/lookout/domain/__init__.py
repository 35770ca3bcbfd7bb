"""Pure value types and rules: no I/O here."""

from lookout.compiled import extend_path

extend_path(__name__, __path__)  # the mypyc build of the hot modules, when usable
