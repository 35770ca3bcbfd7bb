"""The state engine: pure transitions plus the one async runner that owns a site's live state."""
