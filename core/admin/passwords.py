"""Which password an admin command sets: given, prompted for or generated, and long enough."""

from __future__ import annotations

from dataclasses import dataclass

import click

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class ChosenPassword:
    secret: str
    generated: bool

    def echo_if_generated(self) -> None:
        # A generated password is stored only as a hash: this is the one time anyone can see it.
        if self.generated:
            click.echo(f"password: {self.secret}")


def long_enough(password: str) -> str:
    """``password``, or a one-line error when it is shorter than the minimum."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return password


def choose_password(password: str | None, generate: bool) -> ChosenPassword:
    """The password from ``--password``, ``--generate-password`` or a prompt (asked twice)."""
    from core.domain.demo import generate_password

    if password is not None and generate:
        raise click.UsageError("give --password or --generate-password, not both")
    if generate:
        return ChosenPassword(generate_password(), generated=True)
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return ChosenPassword(long_enough(password), generated=False)
