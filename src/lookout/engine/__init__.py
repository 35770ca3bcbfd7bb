"""The state engine: pure transitions plus the one async runner that owns a site's live state."""

from lookout.compiled import extend_path

extend_path(__name__, __path__)  # the mypyc build of the hot modules, when usable
