"""files.gc_paused pauses the cyclic collector and restores it as it was (issue 17)."""

from __future__ import annotations

import gc

import pytest

from cowopt.workbook.files import gc_paused


def test_gc_paused_restores_an_enabled_collector_even_on_error():
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with gc_paused():
            assert not gc.isenabled()
            raise ValueError("boom")
    assert gc.isenabled()


def test_gc_paused_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()
