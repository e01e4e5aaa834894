"""Fulfilment's system tasks registered afresh for each test (another test may have replaced
`fulfilment.order` with a stand-in handler and unregistered it)."""

import importlib

import pytest

import governor.fulfilment.jobs


@pytest.fixture(autouse=True)
def _fulfilment_tasks() -> None:
    importlib.reload(governor.fulfilment.jobs)
