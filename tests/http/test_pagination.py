"""The pagination envelope: has_more comes from page, limit and total alone."""

from __future__ import annotations

import msgspec
import pytest

from core.http.pagination import MAX_PAGE_LIMIT, Page, offset_of


@pytest.mark.parametrize(
    ("page", "limit", "total", "has_more"),
    [(1, 20, 42, True), (2, 20, 22, False), (3, 20, 42, False), (1, 20, 0, False), (2, 20, 41, True),
     (2, 20, 40, False), (1, 200, 201, True)],
)
def test_has_more_examples(page, limit, total, has_more):
    """The spec's examples: has_more = page * limit < total."""
    assert Page.of([], page=page, limit=limit, total=total).has_more is has_more


def test_envelope_echoes_the_request_not_the_row_count():
    """limit is the requested size even when fewer rows come back; data keeps its key name."""
    body = msgspec.json.decode(msgspec.json.encode(Page.of(["a", "b"], page=3, limit=20, total=42)))
    assert body == {"page": 3, "limit": 20, "total": 42, "has_more": False, "data": ["a", "b"]}


def test_empty_page():
    """An empty page has total 0 and no more pages."""
    assert msgspec.to_builtins(Page.empty(page=1, limit=100)) == {
        "page": 1, "limit": 100, "total": 0, "has_more": False, "data": [],
    }


def test_offsets_and_cap():
    """Page n starts after (n-1)*limit rows; no list allows more than 200 rows per page."""
    assert offset_of(1, 20) == 0 and offset_of(3, 20) == 40
    assert MAX_PAGE_LIMIT == 200
