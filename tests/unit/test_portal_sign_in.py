"""The demo identity provider exists only in demo mode; the portal's words are complete."""

from __future__ import annotations

import pytest

from civicmoments.settings import Settings
from civicmoments.web.auth import DemoIdentityProvider
from civicmoments.web.i18n import Words

from ..conftest import UK_PACK


def test_the_demo_identity_provider_refuses_to_run_outside_demo_mode():
    with pytest.raises(RuntimeError, match="only in demo mode"):
        DemoIdentityProvider(Settings(demo_mode=False), lambda: [])


def test_every_portal_word_is_there_in_english_and_welsh():
    words = Words(UK_PACK / "portal", ("en", "cy"))
    assert set(words.catalogues["en"]) == set(words.catalogues["cy"])
    assert words("cy", "home_title", name="Abe") == "Helo, Abe"
    assert words("fr", "sign_in") == "Sign in"  # an unknown language falls back to the default
