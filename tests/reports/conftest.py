"""One recorded firm for every report test of this folder (smbd + daemon run once)."""

from __future__ import annotations

import pytest

from tests.reports.firm import Firm, record_firm


@pytest.fixture(scope="session")
def firm(tmp_path_factory: pytest.TempPathFactory) -> Firm:
    return record_firm(tmp_path_factory.mktemp("firm"))
