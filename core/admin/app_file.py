"""What ``difyd apps create`` reads: an app described in a YAML or JSON file, overridden field by field
by the options given on the command line, and the app config file it may point to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import msgspec
import yaml

from core.domain.models import USER_FACING_MODES

MODES = [mode.value for mode in USER_FACING_MODES]


class AppFile(msgspec.Struct, forbid_unknown_fields=True):
    """An app described in a YAML or JSON file (``difyd apps create --from-file``)."""

    name: str
    mode: str
    workspace: str | None = None  # id or name; --workspace wins
    description: str = ""
    tags: list[str] = []
    icon: str = "🤖"
    enable_api: bool = True
    created_by: str | None = None  # an account email
    config: dict[str, Any] | None = None


def read_document(path: str, what: str) -> Any:
    """A YAML or JSON document (JSON by suffix; YAML otherwise, which also reads JSON)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {what} {path}: {exc}") from exc
    try:
        return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.endswith(".json") else "YAML"
        reason = " ".join(line.strip() for line in str(exc).splitlines())
        raise click.ClickException(f"{what} {path} is not valid {kind}: {reason}") from exc


def read_mapping(path: str, what: str, expected: str = "") -> dict[str, Any]:
    """A document that must be a mapping; ``expected`` hints at its keys in the error."""
    document = read_document(path, what)
    if not isinstance(document, dict):
        raise click.ClickException(f"{what} {path} must hold a mapping{expected}")
    return document


def app_from_options(from_file: str | None, **options: Any) -> AppFile:
    """The file's fields, overridden by any option given on the command line."""
    raw = read_mapping(from_file, "app file", " (name, mode, config ...)") if from_file else {}
    given = {key: value for key, value in options.items() if value not in (None, ())}
    if "tags" in given:
        given["tags"] = list(given["tags"])
    merged = {**raw, **given}
    for key in ("name", "mode"):
        if not merged.get(key):
            raise click.UsageError(f"missing --{key} (or `{key}:` in --from-file)")
    try:
        app = msgspec.convert(merged, AppFile)
    except msgspec.ValidationError as exc:
        where = f"app file {from_file}" if from_file else "app"
        raise click.ClickException(f"{where}: {exc}") from exc
    if app.mode not in MODES:
        raise click.ClickException(f"unknown app mode {app.mode!r}; expected one of: {', '.join(MODES)}")
    if app.workspace is None:
        raise click.UsageError("missing --workspace (or `workspace:` in --from-file)")
    return app
