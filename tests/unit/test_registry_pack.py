"""Registry pack files are checked when loaded; errors name the file and the line."""

from __future__ import annotations

import pytest

from civicmoments.adapters.crypto import KeyConfigurationError, Keys, parse_keyring
from civicmoments.bootstrap import keys_for
from civicmoments.packs import PackError
from civicmoments.packs.registry import load_attributes, load_checks, load_forms, load_purposes
from civicmoments.settings import Settings


def write(tmp_path, text):
    path = tmp_path / "f.yaml"
    path.write_text(text)
    return path


def test_an_attribute_without_a_known_type(tmp_path):
    with pytest.raises(PackError, match="f.yaml:3: attribute 'size' needs a type"):
        load_attributes(write(tmp_path, "domains:\n  body:\n    size: {type: shoe}\n"))


def test_an_attribute_declared_twice(tmp_path):
    with pytest.raises(PackError, match="already in domain 'a'"):
        load_attributes(write(tmp_path, "domains:\n  a:\n    x: {type: string}\n  b:\n    x: {type: string}\n"))


def test_a_purpose_with_an_unknown_consent_model(tmp_path):
    text = ("purposes:\n  p:\n    title: T\n    lawful_basis: B\n    model: maybe\n    notice_version: '1'\n"
            "    retention: P90D\n")
    with pytest.raises(PackError, match="f.yaml:5: model is one of: opt-in"):
        load_purposes(write(tmp_path, text))


def test_a_form_needing_an_undeclared_attribute(tmp_path):
    attrs = load_attributes(write(tmp_path, "domains:\n  a:\n    x: {type: string}\n"))
    with pytest.raises(PackError, match="'y' is not a declared attribute"):
        load_forms(write(tmp_path, "forms:\n  f:\n    needs: [x, y]\n"), attrs)


def test_a_check_with_bad_cel(tmp_path):
    with pytest.raises(PackError, match="invalid CEL"):
        load_checks(write(tmp_path, "checks:\n  c:\n    formula: 'profile.('\n"), {})


def test_missing_files_mean_an_empty_registry(tmp_path):
    assert load_attributes(tmp_path / "none.yaml") == {}


def test_keyrings_are_checked():
    with pytest.raises(KeyConfigurationError, match="32 bytes"):
        parse_keyring("1:AAAA", "CIVIC_DATA_KEYS")
    with pytest.raises(KeyConfigurationError, match="<version>:<base64 key>"):
        parse_keyring("one:xyz", "CIVIC_DATA_KEYS")
    with pytest.raises(KeyConfigurationError, match="Ed25519"):
        Keys.parse("1:" + "A" * 43 + "=", "1:" + "A" * 43 + "=", "AAAA")


def test_a_shared_database_will_not_start_without_keys(tmp_path):
    with pytest.raises(KeyConfigurationError, match="CIVIC_PSEUDONYM_KEYS"):
        keys_for(Settings(database_url="postgresql://db/civic", data_dir=tmp_path))


def test_the_embedded_default_makes_a_private_key_file_once(tmp_path):
    first = keys_for(Settings(data_dir=tmp_path))
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    assert keys_for(Settings(data_dir=tmp_path)) == first
