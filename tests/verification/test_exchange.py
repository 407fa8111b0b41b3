"""Pure parts of recognition: signed exchanges, risk-list records, peer settings."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.colours import Colour
from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.exchange import RISK_LIST, SNAPSHOT, RiskRecord, risk_list_bytes, sign, verifies
from services.verification.recognition.federation import parse_peers
from services.verification.recognition.mutual import check_risk_records

NOW = datetime(2026, 11, 22, 8, tzinfo=UTC)


def record(**changes) -> RiskRecord:
    values = dict(person_ref=b"r" * 16, colour=Colour.RED, reason="CLOSE_CONTACT", source="jiangsu-cdc",
                  expire_time=NOW + timedelta(days=1))
    return RiskRecord(**{**values, **changes})


def test_a_signature_covers_its_purpose_and_its_bytes():
    key = ec.generate_private_key(ec.SECP256R1())
    payload = risk_list_bytes("b-1", "320000", [record()])
    signature = sign(key, RISK_LIST, payload)
    assert verifies(key.public_key(), RISK_LIST, payload, signature)
    assert not verifies(key.public_key(), SNAPSHOT, payload, signature)  # no cross-protocol reuse
    assert not verifies(key.public_key(), RISK_LIST, risk_list_bytes("b-2", "320000", [record()]), signature)
    assert not verifies(ec.generate_private_key(ec.SECP256R1()).public_key(), RISK_LIST, payload, signature)
    assert not verifies(key.public_key(), RISK_LIST, payload, signature[:-1])


def test_the_signed_form_of_a_risk_list_depends_on_every_field():
    base = risk_list_bytes("b-1", "320000", [record()])
    for changed in (record(person_ref=b"s" * 16), record(colour=Colour.YELLOW), record(reason="CONFIRMED"),
                    record(source="other"), record(expire_time=NOW + timedelta(days=2))):
        assert risk_list_bytes("b-1", "320000", [changed]) != base
    assert risk_list_bytes("b-1", "310000", [record()]) != base


def test_bad_records_are_reported_by_field_and_good_ones_kept():
    good, rejected = check_risk_records([
        record(), record(person_ref=b"x"), record(colour=0), record(reason="not a code"),
        record(source="Bad Source"), record(expire_time=NOW - timedelta(seconds=1)),
        record(expire_time=NOW + timedelta(days=31))], NOW)
    assert good == [record()]
    assert [(r.index, r.field, r.reason) for r in rejected] == [
        (1, "records[1].person_ref", "PERSON_REF_INVALID"), (2, "records[2].colour", "COLOUR_INVALID"),
        (3, "records[3].reason", "REASON_INVALID"), (4, "records[4].source", "SOURCE_INVALID"),
        (5, "records[5].expire_time", "EXPIRE_TIME_INVALID"), (6, "records[6].expire_time", "EXPIRE_TIME_INVALID")]


def test_a_green_record_is_kept_as_a_delisting():
    good, rejected = check_risk_records([record(colour=Colour.GREEN), record(colour=Colour.YELLOW)], NOW)
    assert ([r.colour for r in good], rejected) == ([Colour.GREEN, Colour.YELLOW], [])


def test_peers_are_read_per_address_with_the_provinces_they_speak_for():
    assert parse_peers("420000=a:1,430000=a:1, 320000=b:2") == {"a:1": frozenset({"420000", "430000"}),
                                                                "b:2": frozenset({"320000"})}
    assert parse_peers("") == {}
    with pytest.raises(ValueError):
        parse_peers("990000=a:1")
    with pytest.raises(ValueError):
        parse_peers("420000")


def test_the_exchange_key_is_derived_from_its_secret():
    first = exchange_key_from_secret(b"\x01" * 32).private_numbers().private_value
    assert first == exchange_key_from_secret(b"\x01" * 32).private_numbers().private_value
    assert first != exchange_key_from_secret(b"\x02" * 32).private_numbers().private_value
    assert exchange_key_from_secret(b"\xff" * 32).private_numbers().private_value > 0


def _settings(**extra):
    from services.runtime.settings import Env
    from services.verification.bootstrap import VerificationSettings
    from tests.support import random_key

    return VerificationSettings.read(Env({
        "HEALTHCODE_DATABASE_URL": "postgresql://unused/db", "HEALTHCODE_VERIFICATION_EXCHANGE_KEY": random_key(),
        "HEALTHCODE_VERIFICATION_VENUE_KEY": random_key(), **extra}))


def test_the_development_exchange_root_is_kept_and_certifies_each_new_exchange_key(tmp_path):
    from services.verification.recognition.exchange_root import ExchangeRoot, KeyNotCertified, dev_exchange_files

    first_key, second_key = (exchange_key_from_secret(bytes([n]) * 32) for n in (1, 2))
    root, certificate = dev_exchange_files(tmp_path, frozenset({"420000"}), first_key.public_key())
    held_root, held = root.read_bytes(), certificate.read_bytes()
    assert dev_exchange_files(tmp_path, frozenset({"420000"}), first_key.public_key())[1].read_bytes() == held
    dev_exchange_files(tmp_path, frozenset({"420000"}), second_key.public_key())  # a rotated key
    assert root.read_bytes() == held_root
    anchor = ExchangeRoot.from_pem(held_root)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from services.codes import key_id_of

    der = x509.load_pem_x509_certificate(certificate.read_bytes()).public_bytes(serialization.Encoding.DER)
    assert anchor.certified(der, datetime.now(UTC)).key_id == key_id_of(second_key.public_key())
    assert oct((tmp_path / "exchange-root.key").stat().st_mode & 0o777) == "0o600"
    for bad in (b"", b"junk", x509.load_pem_x509_certificate(held_root).public_bytes(serialization.Encoding.DER)):
        with pytest.raises(KeyNotCertified):  # none, unreadable, the root itself (a CA, not a leaf)
            anchor.certified(bad, datetime.now(UTC))


def test_peers_need_the_federation_tls_files_and_a_certificate_naming_our_provinces(tmp_path):
    from services.runtime.settings import SettingsError
    from services.verification.recognition.exchange_root import dev_exchange_files
    from services.verification.recognition.federation_tls import dev_federation_files
    from tests.support import random_key

    with pytest.raises(SettingsError, match="FEDERATION_CA_FILE"):
        _settings(HEALTHCODE_VERIFICATION_PROVINCES="420000", HEALTHCODE_VERIFICATION_PEERS="320000=peer:50055")
    files = dev_federation_files(tmp_path, frozenset({"420000"}))
    tls_files = {"HEALTHCODE_VERIFICATION_FEDERATION_CA_FILE": str(files.ca),
                 "HEALTHCODE_VERIFICATION_FEDERATION_CERT_FILE": str(files.certificate),
                 "HEALTHCODE_VERIFICATION_FEDERATION_KEY_FILE": str(files.key)}
    with pytest.raises(SettingsError, match="must name every province"):
        _settings(HEALTHCODE_VERIFICATION_PROVINCES="420000,430000", **tls_files)
    with pytest.raises(SettingsError, match="EXCHANGE_ROOT_FILE"):
        _settings(HEALTHCODE_VERIFICATION_PROVINCES="420000", HEALTHCODE_VERIFICATION_PEERS="320000=peer:50055",
                  **tls_files)
    secret = random_key()
    root, certificate = dev_exchange_files(tmp_path, frozenset({"420000"}),
                                           exchange_key_from_secret(base64.b64decode(secret)).public_key())
    root_files = {"HEALTHCODE_VERIFICATION_EXCHANGE_ROOT_FILE": str(root),
                  "HEALTHCODE_VERIFICATION_EXCHANGE_CERT_FILE": str(certificate)}
    with pytest.raises(SettingsError, match="must certify the key"):  # the certificate of another key
        _settings(HEALTHCODE_VERIFICATION_PROVINCES="420000", HEALTHCODE_VERIFICATION_PEERS="320000=peer:50055",
                  **tls_files, **root_files)
    settings = _settings(HEALTHCODE_VERIFICATION_PROVINCES="420000", HEALTHCODE_VERIFICATION_PEERS="320000=peer:50055",
                         HEALTHCODE_VERIFICATION_EXCHANGE_KEY=secret, **tls_files, **root_files)
    assert settings.federation_tls.provinces() == {"420000"}
    assert settings.exchange_root.certified(settings.exchange_certificate, datetime.now(UTC)).provinces == {"420000"}
    assert _settings().federation_tls is None  # no peers, no files: no federation port


def test_the_development_federation_pki_is_made_once_and_reissued_when_the_provinces_change(tmp_path):
    from services.verification.recognition.federation_tls import certificate_provinces, dev_federation_files

    first = dev_federation_files(tmp_path, frozenset({"420000"}))
    ca, certificate = first.ca.read_bytes(), first.certificate.read_bytes()
    assert dev_federation_files(tmp_path, frozenset({"420000"})).certificate.read_bytes() == certificate
    changed = dev_federation_files(tmp_path, frozenset({"420000", "430000"}))
    assert changed.ca.read_bytes() == ca
    assert certificate_provinces(changed.certificate.read_bytes()) == {"420000", "430000"}
    assert oct(changed.key.stat().st_mode & 0o777) == "0o600"
    assert certificate_provinces(b"not a certificate") == frozenset()


def test_outbox_backoff_doubles_to_its_cap_and_a_stored_batch_reads_back_as_signed():
    from services.verification.recognition.exchange import risk_list_from_bytes
    from services.verification.recognition.outbox import OutboxPolicy, next_attempt

    policy = OutboxPolicy()
    assert [(next_attempt(n, NOW, policy) - NOW).total_seconds() for n in (1, 2, 3, 9, 10, 500)] == [
        1, 2, 4, 256, 300, 300]
    records = [record(expire_time=NOW + timedelta(days=1))]
    assert risk_list_from_bytes(risk_list_bytes("b-1", "320000", records)) == ("b-1", "320000", records)
