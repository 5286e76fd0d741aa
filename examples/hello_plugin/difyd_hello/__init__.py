"""difyd-hello: the smallest useful third-party plugin (see docs/plugins.md)."""
