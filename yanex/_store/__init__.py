"""The on-disk experiment store: schema, layout, file primitives and the store itself."""
