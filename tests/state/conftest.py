from collections.abc import AsyncIterator

import pytest

from tests.state.stores import STORE_KINDS, OpenStore, open_store


@pytest.fixture(params=STORE_KINDS)
async def opened(request: pytest.FixtureRequest) -> AsyncIterator[OpenStore]:
    """The store under test and several handles on it (separate Redis connections)."""
    async with open_store(request.param) as opened:
        yield opened


@pytest.fixture
def store(opened: OpenStore):
    return opened.store
