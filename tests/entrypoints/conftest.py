"""Shared by the CLI tests: a test that switches the language leaves English behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ems.i18n import choose_language


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    choose_language(None)
