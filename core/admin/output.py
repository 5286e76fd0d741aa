"""How admin commands print: a list as one line per row for people or ``--json`` for scripts; one
record (``show``) as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import click


def emit(rows: Sequence[dict[str, Any]], as_json: bool, line: Callable[[dict[str, Any]], str]) -> None:
    if as_json:
        click.echo(json.dumps(list(rows), indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(line(row))


def emit_one(record: dict[str, Any]) -> None:
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))
