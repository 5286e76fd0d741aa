"""Ephemeral atomic state: one contract (``StateStore``), a Redis and an in-memory implementation."""

from core.state.contract import StateStore, WindowVerdict
from core.state.factory import create_state_store

__all__ = ["StateStore", "WindowVerdict", "create_state_store"]
