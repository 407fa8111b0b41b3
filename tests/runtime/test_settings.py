"""Settings fail fast, report every problem at once, and never echo a secret."""

from __future__ import annotations

import base64

import pytest

from services.identity.bootstrap import IdentitySettings
from services.runtime.settings import Env, SettingsError

KEY = base64.b64encode(b"k" * 32).decode()


def test_every_missing_required_setting_is_reported_at_once():
    with pytest.raises(SettingsError) as error:
        IdentitySettings.read(Env({}))

    message = str(error.value)
    assert "HEALTHCODE_DATABASE_URL is required" in message
    assert "HEALTHCODE_IDENTITY_SEALING_KEYS is required" in message
    assert "HEALTHCODE_IDENTITY_LOOKUP_KEY is required" in message
    assert "HEALTHCODE_FEDERATION_KEY is required" in message


def test_a_key_of_the_wrong_size_is_refused_without_echoing_it():
    short = base64.b64encode(b"secret-but-short").decode()

    with pytest.raises(SettingsError) as error:
        IdentitySettings.read(Env({"HEALTHCODE_DATABASE_URL": "postgresql://x", "HEALTHCODE_IDENTITY_LOOKUP_KEY": short,
                                   "HEALTHCODE_IDENTITY_SEALING_KEYS": f"a:{KEY}"}))

    assert "must be 32 bytes" in str(error.value)
    assert short not in str(error.value)


@pytest.mark.parametrize("raw, value", [("true", True), ("TRUE", True), ("False", False), ("", True)])
def test_a_flag_reads_true_or_false_in_any_case_and_empty_means_the_default(raw, value):
    env = Env({"HEALTHCODE_SOME_FLAG": raw})

    assert env.flag("SOME_FLAG", True) is value
    env.check()


@pytest.mark.parametrize("raw", ["no", "0", "1", "yes", "off", "treu"])
def test_a_flag_that_is_neither_true_nor_false_is_refused_without_echoing_it(raw):
    env = Env({"HEALTHCODE_SOME_FLAG": raw})
    env.flag("SOME_FLAG", False)

    with pytest.raises(SettingsError) as error:
        env.check()
    assert str(error.value) == "invalid settings: HEALTHCODE_SOME_FLAG must be true or false"


def test_a_port_out_of_range_is_refused():
    with pytest.raises(SettingsError, match="HEALTHCODE_IDENTITY_PORT must be between"):
        IdentitySettings.read(Env({"HEALTHCODE_DATABASE_URL": "postgresql://x", "HEALTHCODE_IDENTITY_PORT": "70000",
                                   "HEALTHCODE_IDENTITY_LOOKUP_KEY": KEY, "HEALTHCODE_FEDERATION_KEY": KEY,
                                   "HEALTHCODE_IDENTITY_SEALING_KEYS": f"a:{KEY}"}))


def test_the_first_sealing_key_is_the_active_one_and_defaults_apply():
    settings = IdentitySettings.read(Env({
        "HEALTHCODE_DATABASE_URL": "postgresql://x", "HEALTHCODE_IDENTITY_LOOKUP_KEY": KEY,
        "HEALTHCODE_FEDERATION_KEY": KEY, "HEALTHCODE_IDENTITY_SEALING_KEYS": f"new:{KEY},old:{KEY}"}))

    assert list(settings.sealing_keys) == ["new", "old"]
    assert settings.server.port == 50051
    assert settings.attestation_max_age.total_seconds() == 300
