"""Pausing the garbage collector while a batch of rows is parsed leaves it as it was found."""

from __future__ import annotations

import gc

import pytest

from civicmoments.adapters.store.bulk import collector_paused


def test_the_collector_is_off_inside_the_block_and_on_again_after_it_even_after_an_error():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("a bad row")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
