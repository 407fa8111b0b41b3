"""The page's checker (gateway/pages/src/, run by node) and the Python checker give the same verdict,
decision and reason, on the same cases: every scenario of the check order and hundreds of damaged,
oversized, re-encoded and hostile payloads."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.codes import CodeClaims, es256_sign, key_id_of, sign_code
from services.codes.payload import P256_ORDER, _cose_sign1, _sig_structure
from services.colours import Colour
from services.verification.recognition.checker import Agreement, Examined, Standing, TrustedKey, TrustView, conclude, examine

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "js" / "check_cases.mjs"
pytestmark = pytest.mark.skipif(not (shutil.which("node") and (ROOT / "gateway/pages/node_modules/cborg").exists()),
                                reason="./dev installs the page's packages where npm is present")

NOW = datetime.now(UTC).replace(microsecond=0)
OWN, OTHER = "320000", "420000"


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


class Keys:
    def __init__(self) -> None:
        self.private: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.trusted: dict[bytes, TrustedKey] = {}

    def add(self, name: str, province: str, purpose: int = 1, not_before: datetime = NOW - timedelta(days=1),
            not_after: datetime = NOW + timedelta(days=365), revoked: bool = False) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        self.private[name] = key
        key_id = key_id_of(key.public_key())
        self.trusted[key_id] = TrustedKey(key_id, province, purpose, key.public_key(), not_before, not_after,
                                          NOW - timedelta(hours=1) if revoked else None)

    def sign(self, name: str, claims: CodeClaims) -> str:
        key = self.private[name]
        return sign_code(claims, key, key_id_of(key.public_key()))


def _claims(**changes) -> CodeClaims:
    fields = {"issuer_province": OWN, "code_id": os.urandom(16), "national_colour": Colour.GREEN,
              "display_colour": "green", "status_version": 7, "masked_name": "张*三", "person_ref": os.urandom(16),
              "issued_at": NOW - timedelta(seconds=5), "expires_at": NOW + timedelta(seconds=55), **changes}
    return CodeClaims(**fields)


def _encode(cose: bytes) -> str:
    return "HCN1:" + base45.b45encode(zlib.compress(cose, 9)).decode()


def _open(payload: str) -> list:
    return list(cbor2.loads(zlib.decompress(base45.b45decode(payload[5:]))).value)


def _signed_raw(keys: Keys, name: str, claims_bytes: bytes) -> str:
    """A correctly signed code around claim bytes of our choosing (to test the claims reader)."""
    key = keys.private[name]
    protected = cbor2.dumps({1: -7, 4: key_id_of(key.public_key())})
    return _encode(_cose_sign1(protected, claims_bytes, es256_sign(key, _sig_structure(protected, claims_bytes))))


def _cases(keys: Keys, listed_ref: bytes, stale_id: bytes) -> list[dict]:
    at = {"now": NOW}
    genuine = keys.sign("main", _claims())
    cases = [
        {"payload": genuine, **at},
        {"payload": genuine, "now": NOW + timedelta(minutes=2)},
        {"payload": genuine, "now": NOW + timedelta(seconds=55 + 29)},
        {"payload": genuine, "now": NOW + timedelta(seconds=55 + 30)},
        {"payload": keys.sign("main", _claims(issued_at=NOW + timedelta(seconds=31),
                                              expires_at=NOW + timedelta(seconds=90))), **at},
        {"payload": keys.sign("main", _claims(issued_at=NOW + timedelta(seconds=12),
                                              expires_at=NOW + timedelta(seconds=90))), **at},
        {"payload": keys.sign("revoked", _claims()), **at},
        {"payload": keys.sign("elsewhere", _claims()), **at},
        {"payload": keys.sign("later", _claims()), **at},
        {"payload": keys.sign("exchange", _claims()), **at},
        {"payload": keys.sign("other", _claims(issuer_province=OTHER)), **at},
        {"payload": keys.sign("other", _claims(issuer_province=OTHER, national_colour=Colour.YELLOW,
                                               display_colour="yellow")), **at},
        {"payload": keys.sign("other", _claims(issuer_province=OTHER, display_colour="orange")), **at},
        {"payload": keys.sign("third", _claims(issuer_province="330000")), **at},
        {"payload": keys.sign("main", _claims(person_ref=listed_ref)), **at},
        {"payload": keys.sign("main", _claims(person_ref=listed_ref)), "now": NOW + timedelta(days=3)},
        {"payload": keys.sign("main", _claims(code_id=stale_id)), **at},
        {"payload": keys.sign("main", _claims(national_colour=Colour.YELLOW, display_colour="yellow")), **at},
        {"payload": keys.sign("main", _claims(national_colour=Colour.RED, display_colour="red")), **at},
        {"payload": genuine, "temperature": 37.25, **at},
        {"payload": genuine, "temperature": 37.3, **at},
        {"payload": genuine, "temperature": 36.6, **at},
        {"payload": genuine, "temperature": 39.0, **at},
        {"payload": genuine, "test_within": 48, **at},
        {"payload": keys.sign("main", _claims(negative_test_time=NOW - timedelta(hours=47))), "test_within": 48, **at},
        {"payload": keys.sign("main", _claims(negative_test_time=NOW - timedelta(hours=49))), "test_within": 48, **at},
        {"payload": keys.sign("main", _claims(status_version=2**63 - 1)), **at},
    ]
    hostile = ["", "HC1:ABC", "hcn1:" + genuine[5:], "HCN1:", "HCN1:A", "HCN1:%%%", "HCN1:" + genuine[5:].lower(),
               genuine + "\n", genuine[:-1], genuine[:-2], genuine + "00", "HCN1:" + "A" * 1020,
               "HCN1:" + "GGW" * 400, "HCN1:::", _encode(zlib.decompress(base45.b45decode(genuine[5:])))[:-3],
               "HCN1:" + base45.b45encode(zlib.compress(b"\0" * 100_000, 9)).decode(),
               "HCN1:" + base45.b45encode(zlib.compress(b"\0" * 2049, 9)).decode(),
               "HCN1:" + base45.b45encode(zlib.compress(b"\0" * 2048, 9)).decode(),
               "HCN1:" + base45.b45encode(zlib.compress(zlib.decompress(base45.b45decode(genuine[5:]))) + b"x").decode(),
               "HCN1:" + base45.b45encode(b"not zlib at all").decode(), "HCN1:" + "0" * 900 + "é" * 200]
    cases += [{"payload": payload, **at} for payload in hostile]
    protected, _, claims, signature = _open(genuine)
    s = int.from_bytes(signature[32:], "big")
    high_s = signature[:32] + (P256_ORDER - s).to_bytes(32, "big")
    claims_map = cbor2.loads(claims)
    reframed = [
        cbor2.dumps(cbor2.CBORTag(18, [protected, {}, claims, high_s])),
        cbor2.dumps(cbor2.CBORTag(18, [protected, {1: 1}, claims, signature])),
        cbor2.dumps(cbor2.CBORTag(18, [protected, {}, claims, signature[:63]])),
        cbor2.dumps(cbor2.CBORTag(98, [protected, {}, claims, signature])),
        cbor2.dumps([protected, {}, claims, signature]),
        cbor2.dumps(cbor2.CBORTag(18, [protected, {}, claims])),
        b"\xd2\x84\x58" + bytes([len(protected)]) + protected + b"\xa0" + cbor2.dumps(claims) + cbor2.dumps(signature),
        cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: protected[-8:], 5: 1}), {}, claims, signature])),
        cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -35, 4: _open(genuine)[0][-8:]}), {}, claims, signature])),
        cbor2.dumps(cbor2.CBORTag(18, [protected, {}, claims, signature])) + b"\0",
    ]
    cases += [{"payload": _encode(cose), **at} for cose in reframed]
    bad_claims = [
        cbor2.dumps({**claims_map, 1: "320000", 99: 1}),
        cbor2.dumps({k: v for k, v in claims_map.items() if k != 7}),
        cbor2.dumps({**{(1.0 if k == 1 else k): v for k, v in claims_map.items()}}),
        cbor2.dumps({**claims_map, 6: float(claims_map[6])}),
        cbor2.dumps({**claims_map, 6: True}),
        cbor2.dumps({**claims_map, 1: "999999"}),
        cbor2.dumps({**claims_map, -65537: {**claims_map[-65537], 1: 4}}),
        cbor2.dumps({**claims_map, -65537: {**claims_map[-65537], 2: "Green"}}),
        cbor2.dumps({**claims_map, -65537: {**claims_map[-65537], 3: 0}}),
        cbor2.dumps({**claims_map, -65537: {**claims_map[-65537], 4: ""}}),
        cbor2.dumps({**claims_map, -65537: {**claims_map[-65537], 4: "A\u202eB"}}),
        cbor2.dumps({**claims_map, -65537: {**claims_map[-65537], 4: "张 三"}}),
        cbor2.dumps({**claims_map, -65537: {**claims_map[-65537], 5: b"short"}}),
        cbor2.dumps({**claims_map, 4: claims_map[6]}),
        cbor2.dumps({**claims_map, -65537: {**claims_map[-65537], 9: 1}}),
        cbor2.dumps(claims_map) + b"\0",
        b"\xa5" + cbor2.dumps(1)[0:1] + cbor2.dumps("320000") + cbor2.dumps(1) + cbor2.dumps("320000") + claims[1:],
        cbor2.dumps([1, 2, 3]),
    ]
    cases += [{"payload": _signed_raw(keys, "main", raw), **at} for raw in bad_claims]
    # Every character of a code changed once (to the next base45 character), each a case.
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for index in range(5, len(genuine)):
        swapped = alphabet[(alphabet.index(genuine[index]) + 1) % len(alphabet)]
        cases.append({"payload": genuine[:index] + swapped + genuine[index + 1:], **at})
    return cases


def test_the_page_and_the_server_give_the_same_verdicts_on_the_same_cases():
    keys = Keys()
    keys.add("main", OWN)
    keys.add("revoked", OWN, revoked=True)
    keys.add("elsewhere", "330000")
    keys.add("later", OWN, not_before=NOW + timedelta(hours=1))
    keys.add("exchange", OWN, purpose=2)
    keys.add("other", OTHER)
    keys.add("third", "330000")
    listed_ref, stale_id = os.urandom(16), os.urandom(16)
    view = TrustView(keys.trusted, frozenset({OWN}), {OTHER: Agreement(
        OTHER, NOW - timedelta(days=1), {"yellow": Colour.RED}, None)}, timedelta(seconds=30))
    listed_until = NOW + timedelta(days=1)
    cases = _cases(keys, listed_ref, stale_id)

    expected = []
    for case in cases:
        now = case["now"]
        examined = examine(case["payload"], view, now)
        if isinstance(examined, Examined):
            claims = examined.code.claims
            standing = Standing.STALE if claims.code_id == stale_id else Standing.CURRENT
            listed = Colour.RED if claims.person_ref == listed_ref and listed_until > now else None
            temperature = case.get("temperature")
            reading = Decimal(str(round(temperature, 1))) if temperature is not None else None
            within = timedelta(hours=case["test_within"]) if case.get("test_within") else None
            examined = conclude(examined, view, standing, listed, reading, now, within)
        expected.append([f"DECISION_{examined.decision.name}", examined.reason])

    def spki(key) -> str:
        return base64.b64encode(key.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()

    listed_record = listed_ref + bytes((int(Colour.RED),)) + int(listed_until.timestamp()).to_bytes(4, "big")
    document = {
        "keys": [[k.key_id.hex(), k.province_code, k.purpose, spki(k), _ms(k.not_before), _ms(k.not_after),
                  _ms(k.revoke_time)] for k in keys.trusted.values()],
        "own": [OWN], "skew_seconds": 30, "stale": [[stale_id.hex(), _ms(NOW + timedelta(minutes=1))]],
        "agreements": [[OTHER, _ms(NOW - timedelta(days=1)), {"yellow": 3}, None]],
        "listed": base64.b64encode(listed_record).decode(),
        "cases": [{"payload": c["payload"], "now_ms": _ms(c["now"]), "temperature": c.get("temperature"),
                   "test_within": c.get("test_within")} for c in cases],
    }
    run = subprocess.run(["node", str(SCRIPT)], check=False, input=json.dumps(document), capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    answers = json.loads(run.stdout)
    differing = [(index, cases[index]["payload"][:40], expected[index], answers[index])
                 for index in range(len(cases)) if expected[index] != answers[index]]
    assert not differing
    reasons = {reason for _, reason in expected}
    assert {"", "CODE_EXPIRED", "CODE_FROM_FUTURE", "KEY_REVOKED", "KEY_PROVINCE_MISMATCH", "KEY_NOT_VALID_AT_SIGNING",
            "KEY_UNKNOWN", "ISSUER_NOT_RECOGNISED", "RISK_LIST_RED", "STATUS_STALE", "COLOUR_YELLOW", "COLOUR_RED",
            "FEVER", "NEGATIVE_TEST_REQUIRED", "PREFIX_UNKNOWN", "PAYLOAD_TOO_LARGE", "ENCODING_INVALID",
            "COMPRESSION_INVALID", "DECOMPRESSED_TOO_LARGE", "COSE_INVALID", "CLAIMS_INVALID",
            "SIGNATURE_INVALID"} <= reasons
