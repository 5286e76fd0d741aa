"""What an app's configuration document must look like before it is stored.

Only what would otherwise be silently wrong for every caller is checked: the input form (Dify's
``user_input_form``) must be a list of rows, each one control (``{"text-input": {...}}``) whose body
names a variable; variables are unique. Controls this server does not describe are allowed (Dify has
more than ``describe`` shows), they are left out of the input schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def user_input_form_problem(config: Any) -> str | None:
    """What is wrong with ``config.user_input_form`` (naming the row), or None when nothing is."""
    try:
        _check(config)
    except _Problem as problem:
        return str(problem)
    return None


class _Problem(Exception):
    pass


def _check(config: Any) -> None:
    if not isinstance(config, Mapping) or "user_input_form" not in config:
        return
    form = config["user_input_form"]
    if not isinstance(form, list):
        raise _Problem("config.user_input_form must be a list of controls, e.g. [{text-input: {...}}]")
    seen: set[str] = set()
    for index, row in enumerate(form):
        where = f"config.user_input_form[{index}]"
        if not isinstance(row, Mapping) or len(row) != 1:
            raise _Problem(
                f"{where} must be one control, e.g. {{text-input: {{variable: name, label: Name}}}}"
            )
        ((control, body),) = row.items()
        if not isinstance(body, Mapping):
            raise _Problem(f"{where}.{control} must be a mapping with at least a variable")
        variable = body.get("variable")
        if not isinstance(variable, str) or not _VARIABLE.match(variable):
            raise _Problem(f"{where}.{control}.variable must be a name (letters, digits, _; a letter first)")
        if variable in seen:
            raise _Problem(f"{where}: variable {variable!r} is already used by another control")
        seen.add(variable)
        if "required" in body and not isinstance(body["required"], bool):
            raise _Problem(f"{where}.{control}.required must be true or false")
        options = body.get("options")
        if options is not None and not (
            isinstance(options, list) and all(isinstance(o, str) for o in options)
        ):
            raise _Problem(f"{where}.{control}.options must be a list of strings")
