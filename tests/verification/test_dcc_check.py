"""The DCC check on certificates made here (ES256 and PS256 signers, every kind), at fixed moments:
each step's result and the decision, the province's rules and their versions, and bad payloads."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import base45
import cbor2
import pytest

from services.codes import dcc
from services.verification.recognition.checker import Decision
from services.verification.recognition.dcc_check import OK, SKIPPED, STEPS, check_dcc
from services.verification.recognition.dcc_rules import load_rules, parse_rules
from tests.support import dcc_factory as f

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
GUANGDONG, BEIJING, HUBEI = "440000", "110000", "420000"
RULES = load_rules()


@pytest.fixture(scope="module")
def ec_signer() -> f.Signer:
    return f.make_signer(NOW - timedelta(days=365), NOW + timedelta(days=365))


@pytest.fixture(scope="module")
def rsa_signer() -> f.Signer:
    return f.make_signer(NOW - timedelta(days=365), NOW + timedelta(days=365), country="AT", rsa_key=True)


def signers(*held: f.Signer) -> dict[bytes, dcc.SignerCertificate]:
    return {s.key_id: dcc.signer_from_der(s.der) for s in held}


def full_vaccination(signer: f.Signer, days_ago: int = 30, **options) -> str:
    return f.make_dcc(signer, f.vaccination(f.day(NOW - timedelta(days=days_ago))), NOW - timedelta(days=days_ago),
                      NOW + timedelta(days=300), **options)


def test_a_full_vaccination_passes_in_guangdong_with_every_step_reported(ec_signer) -> None:
    verdict = check_dcc(full_vaccination(ec_signer), signers(ec_signer), RULES, GUANGDONG, NOW)
    assert verdict.decision is Decision.PASS and verdict.reason == ""
    assert verdict.steps == dict.fromkeys(STEPS, OK)
    assert verdict.kind == "v" and verdict.issuer_country == "DE"
    assert verdict.masked_name == "E**** M*********"
    assert verdict.rules == ("440000-GEN-0001 1.0.0", "440000-VAC-0001 1.0.0")


@pytest.mark.parametrize("options", [{"kid_in": "unprotected"}, {"tag61": True}])
def test_key_id_may_be_unprotected_and_the_cwt_tag_may_wrap(ec_signer, options) -> None:
    verdict = check_dcc(full_vaccination(ec_signer, **options), signers(ec_signer), RULES, GUANGDONG, NOW)
    assert verdict.decision is Decision.PASS


def test_ps256_signers_are_verified(rsa_signer) -> None:
    verdict = check_dcc(full_vaccination(rsa_signer), signers(rsa_signer), RULES, GUANGDONG, NOW)
    assert verdict.decision is Decision.PASS and verdict.issuer_country == "AT"


def test_a_vaccination_younger_than_14_days_fails_the_rule(ec_signer) -> None:
    verdict = check_dcc(full_vaccination(ec_signer, days_ago=10), signers(ec_signer), RULES, GUANGDONG, NOW)
    assert (verdict.decision, verdict.reason) == (Decision.DENY, "RULE_FAILED:440000-VAC-0001")
    assert verdict.steps["rules"] == "RULE_FAILED:440000-VAC-0001" and verdict.steps["key_usage"] == OK


def test_an_incomplete_series_fails(ec_signer) -> None:
    payload = f.make_dcc(ec_signer, f.vaccination(f.day(NOW - timedelta(days=60)), dn=1, sd=2),
                         NOW - timedelta(days=60), NOW + timedelta(days=300))
    assert check_dcc(payload, signers(ec_signer), RULES, GUANGDONG, NOW).reason == "RULE_FAILED:440000-VAC-0001"


def pcr(signer: f.Signer, hours_ago: int, **test) -> str:
    sampled = NOW - timedelta(hours=hours_ago)
    return f.make_dcc(signer, f.pcr_test(f.moment_text(sampled), **test), sampled + timedelta(hours=1),
                      sampled + timedelta(days=3))


def test_the_pcr_rule_is_versioned_data_the_newest_in_force_decides(ec_signer) -> None:
    held = signers(ec_signer)
    # Since June 2021 Guangdong's 1.1.0 asks for 48 hours; 1.0.0 (72 hours) no longer applies.
    assert check_dcc(pcr(ec_signer, 40), held, RULES, GUANGDONG, NOW).decision is Decision.PASS
    verdict = check_dcc(pcr(ec_signer, 60), held, RULES, GUANGDONG, NOW)
    assert verdict.reason == "RULE_FAILED:440000-TST-0001" and "440000-TST-0001 1.1.0" in verdict.rules
    # Beijing: 24 hours, and tests only.
    assert check_dcc(pcr(ec_signer, 30), held, RULES, BEIJING, NOW).reason == "RULE_FAILED:110000-TST-0001"
    assert check_dcc(pcr(ec_signer, 20), held, RULES, BEIJING, NOW).decision is Decision.PASS
    assert check_dcc(full_vaccination(ec_signer), held, RULES, BEIJING, NOW).reason == \
        "CERTIFICATE_TYPE_NOT_ACCEPTED"


def test_an_older_version_applies_before_the_newer_is_in_force(ec_signer) -> None:
    then = datetime(2021, 5, 20, 12, tzinfo=UTC)
    signer = f.make_signer(then - timedelta(days=30), then + timedelta(days=30))
    sampled = then - timedelta(hours=60)
    payload = f.make_dcc(signer, f.pcr_test(f.moment_text(sampled)), sampled + timedelta(hours=1),
                         sampled + timedelta(days=5))
    verdict = check_dcc(payload, signers(signer), RULES, GUANGDONG, then)
    assert verdict.decision is Decision.PASS and "440000-TST-0001 1.0.0" in verdict.rules


def test_a_positive_or_antigen_test_fails(ec_signer) -> None:
    held = signers(ec_signer)
    assert check_dcc(pcr(ec_signer, 5, tr="260373001"), held, RULES, GUANGDONG, NOW).decision is Decision.DENY
    assert check_dcc(pcr(ec_signer, 5, tt="LP217198-3"), held, RULES, GUANGDONG, NOW).decision is Decision.DENY


def test_a_province_without_rules_asks_for_a_manual_check(ec_signer) -> None:
    verdict = check_dcc(full_vaccination(ec_signer), signers(ec_signer), RULES, HUBEI, NOW)
    assert (verdict.decision, verdict.reason) == (Decision.CHECK_MANUALLY, "NO_RULES")


def test_a_rule_that_cannot_be_evaluated_asks_for_a_manual_check(ec_signer) -> None:
    rules = parse_rules({"rules": [{
        "Identifier": "420000-VAC-0009", "Version": "1.0.0", "Engine": "CERTLOGIC", "Type": "Acceptance",
        "Country": HUBEI, "CertificateType": "Vaccination", "ValidFrom": "2021-01-01T00:00:00Z",
        "ValidTo": "2099-01-01T00:00:00Z", "Logic": {"<": [{"var": "payload.v.0.dt"}, 3]}}]})
    verdict = check_dcc(full_vaccination(ec_signer), signers(ec_signer), rules, HUBEI, NOW)
    assert (verdict.decision, verdict.reason) == (Decision.CHECK_MANUALLY, "RULE_ERROR:420000-VAC-0009")


def test_fever_denies_after_the_rules(ec_signer) -> None:
    verdict = check_dcc(full_vaccination(ec_signer), signers(ec_signer), RULES, GUANGDONG, NOW,
                        temperature=Decimal("37.5"))
    assert (verdict.decision, verdict.reason) == (Decision.DENY, "FEVER")


def test_unknown_key_and_wrong_signature(ec_signer, rsa_signer) -> None:
    verdict = check_dcc(full_vaccination(ec_signer), {}, RULES, GUANGDONG, NOW)
    assert (verdict.decision, verdict.reason) == (Decision.DENY, "KEY_UNKNOWN")
    assert verdict.steps["signature"] == "KEY_UNKNOWN" and verdict.steps["expiry"] == SKIPPED
    # The right key id, but another key behind it.
    impostor = {ec_signer.key_id: dcc.signer_from_der(f.make_signer(NOW - timedelta(days=1),
                                                                    NOW + timedelta(days=1)).der)}
    assert check_dcc(full_vaccination(ec_signer), impostor, RULES, GUANGDONG, NOW).reason == "SIGNATURE_INVALID"
    # A PS256 header with an EC key behind the key id verifies nothing.
    wrong_kind = {rsa_signer.key_id: dcc.signer_from_der(ec_signer.der)}
    assert check_dcc(full_vaccination(rsa_signer), wrong_kind, RULES, GUANGDONG, NOW).reason == "SIGNATURE_INVALID"


def test_times(ec_signer) -> None:
    held = signers(ec_signer)
    expired = f.make_dcc(ec_signer, f.vaccination("2026-01-01"), NOW - timedelta(days=100), NOW - timedelta(days=1))
    assert check_dcc(expired, held, RULES, GUANGDONG, NOW).reason == "CERTIFICATE_EXPIRED"
    future = f.make_dcc(ec_signer, f.vaccination("2026-01-01"), NOW + timedelta(hours=1), NOW + timedelta(days=9))
    assert check_dcc(future, held, RULES, GUANGDONG, NOW).reason == "CERTIFICATE_FROM_FUTURE"
    assert check_dcc(future, held, RULES, GUANGDONG, NOW, skew=timedelta(hours=2)).decision is Decision.PASS
    # Signed after the DSC had expired, or living beyond it.
    short = f.make_signer(NOW - timedelta(days=10), NOW + timedelta(days=10))
    beyond = f.make_dcc(short, f.vaccination("2026-01-01"), NOW - timedelta(days=1), NOW + timedelta(days=30))
    assert check_dcc(beyond, signers(short), RULES, GUANGDONG, NOW).reason == "KEY_NOT_VALID_AT_SIGNING"


@pytest.mark.parametrize(("usages", "group", "passes"), [
    (None, "r", True), ("vtr", "r", True), ("v", "v", True), ("t", "v", False), ("vt", "r", False),
    ("", "v", True),     # an empty EKU names no OID: as upstream's CO15, it restricts nothing
    ("x", "v", False),   # an EKU naming only other purposes (TLS server) signs no certificate
])
def test_extended_key_usage_limits_what_a_dsc_may_sign(usages, group, passes) -> None:
    signer = f.make_signer(NOW - timedelta(days=365), NOW + timedelta(days=365), usages=usages)
    groups = {"v": f.vaccination("2026-01-01"), "r": f.recovery("2026-04-01", "2026-04-12", "2026-10-01"),
              "t": f.pcr_test(f.moment_text(NOW))}
    payload = f.make_dcc(signer, groups[group], NOW - timedelta(days=1), NOW + timedelta(days=30))
    verdict = check_dcc(payload, signers(signer), RULES, None, NOW)
    assert (verdict.decision is Decision.PASS) is passes
    assert verdict.steps["key_usage"] == (OK if passes else "KEY_USAGE_MISMATCH")


def _hc1(compressed: bytes) -> str:
    return "HC1:" + base45.b45encode(compressed).decode("ascii")


def _bomb() -> str:
    # 1 MB of zeros compress to about 1 KB: refused once 8 KB are inflated, never inflated whole.
    compressed = zlib.compress(b"\0" * 1_000_000, 9)
    assert len(compressed) < 1100
    return _hc1(compressed)


def _cose_of(ec_signer: f.Signer, **options) -> bytes:
    return f.cose(f.cwt(f.hcert(f.vaccination("2026-01-01")), NOW - timedelta(days=1), NOW + timedelta(days=9)),
                  ec_signer, **options)


@pytest.mark.parametrize(("make", "step", "reason"), [
    (lambda s: "HC2:" + full_vaccination(s)[4:], "unprefix", "PREFIX_UNKNOWN"),
    (lambda s: full_vaccination(s)[4:], "unprefix", "PREFIX_UNKNOWN"),
    (lambda s: "HC1:" + "A" * 5000, "unprefix", "PAYLOAD_TOO_LARGE"),
    (lambda s: "HC1:abc", "base45", "ENCODING_INVALID"),
    (lambda s: "HC1:" + full_vaccination(s)[4:] + "\n", "base45", "ENCODING_INVALID"),
    (lambda s: _hc1(b"not zlib"), "inflate", "COMPRESSION_INVALID"),
    (lambda s: _hc1(zlib.compress(_cose_of(s))[:-6]), "inflate", "COMPRESSION_INVALID"),
    (lambda s: _hc1(zlib.compress(b"\0" * 9000)), "inflate", "DECOMPRESSED_TOO_LARGE"),
    (lambda s: _bomb(), "inflate", "DECOMPRESSED_TOO_LARGE"),
    (lambda s: f.wrap(_cose_of(s, tag=98)), "cose", "COSE_INVALID"),
    (lambda s: f.wrap(cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(61, b"")))), "cose", "COSE_INVALID"),
    (lambda s: f.wrap(cbor2.dumps(cbor2.loads(_cose_of(s)).value)), "cose", "COSE_INVALID"),
    (lambda s: f.wrap(_cose_of(s)[:-10]), "cose", "COSE_INVALID"),
    (lambda s: f.wrap(_cose_of(s) + b"\0"), "cose", "COSE_INVALID"),
    (lambda s: f.wrap(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -8}), {}, b"", b""]))), "cose", "COSE_INVALID"),
    (lambda s: f.wrap(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, b"", b""]))), "cose", "COSE_INVALID"),
    (lambda s: f.wrap(f.cose(f.cwt(f.hcert(f.vaccination("2026-01-01")), NOW, NOW + timedelta(days=9))[:-5], s)),
     "cbor", "CLAIMS_INVALID"),
    (lambda s: f.wrap(f.cose(cbor2.dumps({1: "DE", 6: 1, 4: 2}), s)), "cbor", "CLAIMS_INVALID"),
    (lambda s: f.wrap(f.cose(f.cwt(f.hcert(f.vaccination("2026-01-01")), NOW, NOW - timedelta(days=1)), s)),
     "cbor", "CLAIMS_INVALID"),
    (lambda s: f.wrap(f.cose(cbor2.dumps({1: "DE", 6: 1, 4: 2, -260: {1: {"ver": "1.3.0"}, 2: {}}}), s)),
     "cbor", "CLAIMS_INVALID"),
    (lambda s: f.wrap(f.cose(f.cwt({**f.hcert(f.vaccination("2026-01-01")), **f.pcr_test("2026-01-01T00:00:00Z")},
                                   NOW, NOW + timedelta(days=1)), s)), "cbor", "HCERT_INVALID"),
    (lambda s: f.wrap(f.cose(f.cwt(f.hcert(f.vaccination("2026-01-01", dn=10)), NOW, NOW + timedelta(days=1)), s)),
     "cbor", "HCERT_INVALID"),
])
def test_bad_payloads_are_refused_with_the_step_and_a_reason(ec_signer, make, step, reason) -> None:
    verdict = check_dcc(make(ec_signer), signers(ec_signer), RULES, GUANGDONG, NOW)
    assert (verdict.decision, verdict.reason) == (Decision.DENY, reason)
    assert verdict.steps[step] == reason
    assert all(verdict.steps[later] == SKIPPED for later in STEPS[STEPS.index(step) + 1:])


@pytest.mark.parametrize(("field", "value"), [
    ("dob", "1964-13-01"), ("dob", 1964), ("ver", "1.3"), ("nam", {"fn": "X"}), ("nam", {"fnt": "mustermann"}),
])
def test_the_schema_is_read_strictly(field, value) -> None:
    certificate = {**f.hcert(f.vaccination("2026-01-01")), field: value}
    with pytest.raises((ValueError, TypeError)):
        dcc.read_hcert(certificate)


@pytest.mark.parametrize(("entry_field", "value"), [
    ("dt", "01.01.2026"), ("dt", "2026-02-30"), ("sd", True), ("co", "de"), ("ci", "x" * 81), ("tg", 840539006),
])
def test_vaccination_fields_are_read_strictly(entry_field, value) -> None:
    group = f.vaccination("2026-01-01")
    group["v"][0][entry_field] = value
    with pytest.raises((ValueError, TypeError)):
        dcc.read_hcert(f.hcert(group))


def test_packaged_rules_load_and_bad_rules_are_refused() -> None:
    assert {rule.province for rule in RULES} == {GUANGDONG, BEIJING}
    good = {"Identifier": "420000-VAC-0001", "Version": "1.0.0", "Engine": "CERTLOGIC", "Type": "Acceptance",
            "Country": HUBEI, "CertificateType": "Vaccination", "ValidFrom": "2021-01-01T00:00:00Z",
            "ValidTo": "2099-01-01T00:00:00Z", "Logic": True}
    assert parse_rules({"rules": [good]})[0].version == (1, 0, 0)
    for broken in ({"Logic": {"or": [True]}}, {"Country": "DE"}, {"Version": "1"}, {"CertificateType": "Any"},
                   {"ValidTo": "2020-01-01T00:00:00Z"}, {"Engine": "JS"}, {"ValidFrom": "2021-01-01"}):
        with pytest.raises(ValueError, match=r"rules\[0\]"):
            parse_rules({"rules": [{**good, **broken}]})
    with pytest.raises(ValueError, match="twice"):
        parse_rules({"rules": [good, good]})


def test_a_checkpoints_test_requirement_needs_a_recent_negative_test_certificate(ec_signer) -> None:
    held, within = signers(ec_signer), timedelta(hours=24)
    recent = check_dcc(pcr(ec_signer, 20), held, RULES, GUANGDONG, NOW, test_within=within)
    assert recent.decision is Decision.PASS
    old = check_dcc(pcr(ec_signer, 30), held, RULES, GUANGDONG, NOW, test_within=within)
    assert (old.decision, old.reason) == (Decision.DENY, "NEGATIVE_TEST_REQUIRED")
    vaccinated = check_dcc(full_vaccination(ec_signer), held, RULES, GUANGDONG, NOW, test_within=within)
    assert vaccinated.reason == "NEGATIVE_TEST_REQUIRED"


def test_signers_with_weak_or_unsupported_keys_are_refused() -> None:
    weak = f.make_signer(NOW - timedelta(days=1), NOW + timedelta(days=1), rsa_key=True, rsa_bits=1024)
    with pytest.raises(TypeError, match="2048"):
        dcc.signer_from_der(weak.der)
    with pytest.raises(ValueError, match="X.509"):
        dcc.signer_from_der(b"\x30\x03\x02\x01\x01")
