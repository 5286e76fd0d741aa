"""The pagination envelope ``{page, limit, total, has_more, data}`` used by every list route."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")

MAX_PAGE_LIMIT = 200


class Page(msgspec.Struct, Generic[T]):
    page: int
    limit: int
    total: int
    has_more: bool
    data: list[T]

    @classmethod
    def of(cls, data: list[T], *, page: int, limit: int, total: int) -> Page[T]:
        """``has_more`` is derived from the three numbers and nothing else."""
        return cls(page=page, limit=limit, total=total, has_more=page * limit < total, data=data)

    @classmethod
    def empty(cls, *, page: int, limit: int) -> Page[T]:
        return cls.of([], page=page, limit=limit, total=0)


def offset_of(page: int, limit: int) -> int:
    return (page - 1) * limit
