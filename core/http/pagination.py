"""The pagination envelope ``{page, limit, total, has_more, data}`` and the page/limit parameters of
every list route, bounded in one place.

``page`` is at most ``MAX_PAGE``: past it the offset would overflow PostgreSQL's 32-bit OFFSET (and
SQLite's 64-bit one for absurd values), which used to be a 500. The bound is declared, so /schema
shows it and a larger page answers 422 like any other invalid parameter.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

T = TypeVar("T")

MAX_PAGE_LIMIT = 200
# 1,000,000 pages of 200 rows: offsets stay far below 2**31 - 1 on every database.
MAX_PAGE = 1_000_000

PageNumber = Annotated[
    int,
    QueryParameter(name="page", ge=1, le=MAX_PAGE, description=f"1-based page number, at most {MAX_PAGE}"),
]


PageSize = Annotated[
    int,
    QueryParameter(name="limit", ge=1, le=MAX_PAGE_LIMIT, description=f"rows per page, 1..{MAX_PAGE_LIMIT}"),
]


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
