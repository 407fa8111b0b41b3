"""The EU's own DCC test vectors (dgc-testdata), one test per file: every expected result of every
layer must match what services/codes/dcc.py says about that layer's input.

The files lie in ../shared/testdata/dcc beside the repository (read-only). A vector upstream lists as
known to be wrong (known_issues.csv) is an expected failure with the upstream issue as its reason:
the other steps of its file must still match, and the known step may only fail.
"""

from __future__ import annotations

import base64
import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.codes import dcc
from services.codes.payload import CodeRejected, decode_base45, decode_cbor
from tests.support.verification import VECTORS

FILES = sorted(VECTORS.glob("*/*/*/*.json")) if VECTORS.is_dir() else []

# Upstream's test functions by the expected result each checks.
UPSTREAM_TEST = {
    "EXPECTEDUNPREFIX": "test_un_prefix", "EXPECTEDB45DECODE": "test_b45decode",
    "EXPECTEDCOMPRESSION": "test_compression", "EXPECTEDVERIFY": "test_verification_check",
    "EXPECTEDDECODE": "test_cose_json", "EXPECTEDSCHEMAVALIDATION": "test_cose_schema",
    "EXPECTEDEXPIRATIONCHECK": "test_expiration_check", "EXPECTEDKEYUSAGE": "test_expected_key_usage",
    "EXPECTEDVALIDJSON": "test_cbor_json",
}
# Expected results no step here produces, and why.
NOT_CHECKED = {
    "EXPECTEDPICTUREDECODE": "the QR pictures were left out of the shared copy",
    "EXPECTEDVALIDOBJECT": "a generation test (JSON against the schema file); we never issue DCCs",
    "EXPECTEDENCODE": "a generation test (JSON to CBOR); we never issue DCCs",
    "EXPTECTEDEXPIRED": "misspelt in four BG files; no upstream test reads it",
}


def _known_issues() -> dict[tuple[str, str, str], str]:
    if not VECTORS.is_dir():
        return {}
    with open(VECTORS / "known_issues.csv", encoding="utf-8") as issues:
        return {(row["test_name"], row["country"], row["test_set"]): row["reason"] for row in csv.DictReader(issues)}


KNOWN = _known_issues()


def _known_reason(expected: str, path: Path) -> str:
    test, country, name = UPSTREAM_TEST[expected], path.parts[-4], path.stem
    return KNOWN.get((test, country, name)) or KNOWN.get((test, country, ""), "")


def _outcome(step, vector: dict) -> bool:
    try:
        return bool(step(vector))
    except (CodeRejected, ValueError, TypeError):
        return False


def _signer(vector: dict) -> dcc.SignerCertificate:
    return dcc.signer_from_der(base64.b64decode(vector["TESTCTX"]["CERTIFICATE"]))


def _clock(vector: dict) -> datetime:
    clock = datetime.fromisoformat(vector["TESTCTX"]["VALIDATIONCLOCK"])
    return clock if clock.tzinfo else clock.replace(tzinfo=UTC)


def _same(decoded: object, expected: object) -> bool:
    # Maps have no order in CBOR or JSON; 1 and 1.0 are one number in both.
    return json.dumps(decoded, sort_keys=True) == json.dumps(expected, sort_keys=True)


def _cose(vector: dict) -> dcc.CoseSign1:
    return dcc.open_cose(bytes.fromhex(vector["COSE"]))


def _verifies(vector: dict) -> bool:
    cose, signer = _cose(vector), _signer(vector)
    return cose.key_id == signer.key_id and dcc.signature_verifies(cose, signer)


def _within_validity(vector: dict) -> bool:
    return dcc.validity_problem(dcc.decode_cwt(_cose(vector).payload), _signer(vector), _clock(vector)) == ""


def _key_usage(vector: dict) -> bool:
    return _signer(vector).may_sign(dcc.certificate_kind(dcc.decode_cwt(_cose(vector).payload).hcert))


def _schema_of_cbor(vector: dict) -> bool:
    data = bytes.fromhex(vector["CBOR"])
    try:
        return dcc.read_claims(data) is not None
    except CodeRejected as rejected:
        if rejected.reason != "CLAIMS_INVALID":
            raise
    return dcc.read_hcert(_hcert_of_cbor(vector)) is not None


def _hcert_of_cbor(vector: dict) -> object:
    data = bytes.fromhex(vector["CBOR"])
    try:
        return dcc.decode_cwt(data).hcert
    except CodeRejected:
        return decode_cbor(data, "CBOR_INVALID", "the certificate", 5, allow_indefinite=True)


def _whole_chain(vector: dict) -> object:
    return dcc.decode_cwt(dcc.open_cose(dcc.inflate_dcc(decode_base45(dcc.unprefix(vector["PREFIX"]))))
                          .payload).hcert


# expected result → (the layers it needs, what our code says)
STEPS = {
    "EXPECTEDUNPREFIX": (("PREFIX", "BASE45"), lambda v: dcc.unprefix(v["PREFIX"]) == v["BASE45"]),
    "EXPECTEDB45DECODE": (("BASE45", "COMPRESSED"), lambda v: decode_base45(v["BASE45"]).hex()
                          == v["COMPRESSED"].lower()),
    "EXPECTEDCOMPRESSION": (("COMPRESSED", "COSE"), lambda v: dcc.inflate_dcc(bytes.fromhex(v["COMPRESSED"]))
                            == bytes.fromhex(v["COSE"])),
    "EXPECTEDVERIFY": (("COSE", "TESTCTX"), _verifies),
    "EXPECTEDDECODE": (("COSE", "JSON"), lambda v: _same(dcc.decode_cwt(_cose(v).payload).hcert, v["JSON"])),
    "EXPECTEDSCHEMAVALIDATION": (("COSE",), lambda v: dcc.read_claims(_cose(v).payload) is not None),
    # Files without a COSE layer carry the certificate (or its CWT) as CBOR alone.
    "EXPECTEDSCHEMAVALIDATION/CBOR": (("CBOR", "!COSE"), _schema_of_cbor),
    "EXPECTEDDECODE/CBOR": (("CBOR", "JSON", "!COSE"), lambda v: _same(_hcert_of_cbor(v), v["JSON"])),
    "EXPECTEDEXPIRATIONCHECK": (("COSE", "TESTCTX"), _within_validity),
    "EXPECTEDKEYUSAGE": (("COSE", "TESTCTX"), _key_usage),
    "EXPECTEDVALIDJSON": (("PREFIX", "JSON"), lambda v: _same(_whole_chain(v), v["JSON"])),
}


def _vector_id(path: Path) -> str:
    return f"{path.parts[-4]}/{path.stem}"


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"no DCC test vectors at {VECTORS} (CI lays shared/ beside "
                                                  "the clone)")
@pytest.mark.parametrize("path", FILES, ids=_vector_id)
def test_vector(path: Path) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    expected_results = vector["EXPECTEDRESULTS"]
    unknown = set(expected_results) - set(STEPS) - set(NOT_CHECKED)
    assert not unknown, f"expected results this test does not know: {sorted(unknown)}"
    mismatched, known_wrong, checked = [], [], 0
    for step_name, (layers, step) in STEPS.items():
        expected = step_name.split("/")[0]
        if expected not in expected_results or not all(
                (layer[1:] not in vector) if layer.startswith("!") else (layer in vector) for layer in layers):
            continue
        if "TESTCTX" in layers and "CERTIFICATE" not in vector["TESTCTX"]:
            continue
        checked += 1
        if _outcome(step, vector) is not expected_results[expected]:
            reason = _known_reason(expected, path)
            (known_wrong if reason else mismatched).append((expected, reason))
    if not checked:
        pytest.skip(f"no layer this test could check: expects {sorted(expected_results)} with layers "
                    f"{sorted(set(vector) - {'EXPECTEDRESULTS', 'TESTCTX'})}")
    assert not mismatched, f"steps whose result differs from the expected one: {mismatched}"
    if known_wrong:
        pytest.xfail("; ".join(f"{expected} known to be wrong upstream: {reason}" for expected, reason in known_wrong))


def test_the_vectors_cover_every_country_folder() -> None:
    if not VECTORS.is_dir():
        pytest.skip(f"no DCC test vectors at {VECTORS}")
    folders = {path.name for path in VECTORS.iterdir() if path.is_dir()}
    assert folders == {path.parts[-4] for path in FILES}
