"""The difyd core: a Litestar host that knows no feature; feature plugins arrive through pluggy hooks."""

__version__ = "0.1.0"
