"""A real temp store holding the corpus of search test events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.store import Store
from tests.search.corpus import EVENTS, Corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    store = Store(tmp_path_factory.mktemp("search") / "w.db")
    store.commit_source_batch("test", list(EVENTS.values()), [], {})
    yield Corpus(store)
    store.close()
