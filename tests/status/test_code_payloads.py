"""Signed health codes: the HCN1 payload layout, and every way a scanned code is refused."""

from __future__ import annotations

import random
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from services.codes import (
    MAX_DECOMPRESSED_BYTES,
    MAX_PAYLOAD_CHARS,
    PREFIX,
    CodeClaims,
    CodeRejected,
    P256_ORDER,
    key_id_of,
    low_s,
    read_code,
    sign_code,
)
from services.colours import Colour

SIGNER = ec.generate_private_key(ec.SECP256R1())
OTHER_SIGNER = ec.generate_private_key(ec.SECP256R1())
KEY_ID = key_id_of(SIGNER.public_key())
BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

ISSUED_AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ISSUED_AT_SECONDS = 1740816000
EXPIRES_AT_SECONDS = 1740902400
PERSON_REF = bytes(range(100, 116))
CLAIMS = CodeClaims(issuer_province="420000", code_id=bytes(range(16)), national_colour=Colour.YELLOW,
                    display_colour="orange", status_version=7, masked_name="张*明", person_ref=PERSON_REF,
                    issued_at=ISSUED_AT, expires_at=ISSUED_AT + timedelta(hours=24))


def _claims_map(**changes: object) -> dict:
    """The CWT claims of CLAIMS as the format lays them out, with private-claim entries replaced by name."""
    health_code = {1: 2, 2: "orange", 3: 7, 4: "张*明", 5: PERSON_REF}
    names = {"colour": 1, "display_colour": 2, "status_version": 3, "masked_name": 4, "person_ref": 5}
    claims = {1: "420000", 6: ISSUED_AT_SECONDS, 4: EXPIRES_AT_SECONDS, 7: bytes(range(16)), -65537: health_code}
    for name, value in changes.items():
        if name in names:
            health_code[names[name]] = value
        else:
            claims[{"iss": 1, "iat": 6, "exp": 4, "cti": 7}[name]] = value
    return claims


def _encode(cose: bytes) -> str:
    return PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def _cose_of(payload: str) -> bytes:
    return zlib.decompress(base45.b45decode(payload[len(PREFIX):]))


def _hand_made(*, tag: int = 18, protected: object = None, unprotected: object = None, claims: object = None) -> bytes:
    """COSE bytes built and signed here, so each test differs from a valid code only by the defect it names."""
    protected_bytes = cbor2.dumps({1: -7, 4: KEY_ID} if protected is None else protected)
    payload = cbor2.dumps(_claims_map() if claims is None else claims)
    der = SIGNER.sign(cbor2.dumps(["Signature1", protected_bytes, b"", payload]), ec.ECDSA(hashes.SHA256()))
    r, s = low_s(*decode_dss_signature(der))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return cbor2.dumps(cbor2.CBORTag(tag, [protected_bytes, {} if unprotected is None else unprotected,
                                           payload, signature]))


def _rejection(payload: object) -> str:
    """The reason read_code, then verify with the signer's key, refuses `payload`."""
    with pytest.raises(CodeRejected) as refused:
        read_code(payload).verify(SIGNER.public_key())  # type: ignore[arg-type]
    return refused.value.reason


# Signing and reading back.

def test_a_signed_code_reads_back_with_its_claims_and_key_id():
    code = read_code(sign_code(CLAIMS, SIGNER, KEY_ID))

    assert code.claims == CLAIMS
    assert code.key_id == KEY_ID


def test_a_signed_code_verifies_with_the_signers_key():
    read_code(sign_code(CLAIMS, SIGNER, KEY_ID)).verify(SIGNER.public_key())


def test_a_signed_code_does_not_verify_with_another_key():
    code = read_code(sign_code(CLAIMS, SIGNER, KEY_ID))

    with pytest.raises(CodeRejected) as refused:
        code.verify(OTHER_SIGNER.public_key())
    assert refused.value.reason == "SIGNATURE_INVALID"


def test_verify_refuses_a_key_on_another_curve():
    code = read_code(sign_code(CLAIMS, SIGNER, KEY_ID))

    with pytest.raises(CodeRejected) as refused:
        code.verify(ec.generate_private_key(ec.SECP384R1()).public_key())
    assert refused.value.reason == "SIGNATURE_INVALID"


def test_the_payload_is_the_prefix_then_base45_and_small():
    payload = sign_code(CLAIMS, SIGNER, KEY_ID)

    assert payload.startswith("HCN1:")
    assert set(payload[len(PREFIX):]) <= set(BASE45_ALPHABET)
    assert len(payload) < 400


def test_the_largest_claims_still_fit_a_payload():
    largest = replace(CLAIMS, display_colour="x" * 16, status_version=2**63 - 1, masked_name="𠀀" * 64,
                      expires_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))

    payload = sign_code(largest, SIGNER, KEY_ID)

    assert len(payload) <= MAX_PAYLOAD_CHARS
    assert read_code(payload).claims == largest


def test_the_payload_decodes_by_hand_to_an_es256_cose_sign1_over_the_cwt_claims():
    cose = cbor2.loads(zlib.decompress(base45.b45decode(sign_code(CLAIMS, SIGNER, KEY_ID)[len("HCN1:"):])))

    assert isinstance(cose, cbor2.CBORTag) and cose.tag == 18
    protected, unprotected, payload, signature = cose.value
    assert cbor2.loads(protected) == {1: -7, 4: KEY_ID}
    assert unprotected == {}
    assert len(signature) == 64
    signed = cbor2.dumps(["Signature1", protected, b"", payload])
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    SIGNER.public_key().verify(der, signed, ec.ECDSA(hashes.SHA256()))
    assert cbor2.loads(payload) == {1: "420000", 6: 1740816000, 4: 1740902400, 7: bytes(range(16)),
                                    -65537: {1: 2, 2: "orange", 3: 7, 4: "张*明", 5: PERSON_REF}}


def test_signing_always_emits_the_low_s_form():
    for _ in range(64):  # a random s is high half the time
        signature = read_code(sign_code(CLAIMS, SIGNER, KEY_ID)).signature
        assert int.from_bytes(signature[32:], "big") <= P256_ORDER // 2


def test_a_code_re_encoded_with_the_high_s_form_of_its_own_signature_is_refused():
    cose = cbor2.loads(_cose_of(sign_code(CLAIMS, SIGNER, KEY_ID)))
    protected, unprotected, payload, signature = cose.value
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    high = r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big")
    # The high-S twin is a valid ECDSA signature of the same bytes ...
    SIGNER.public_key().verify(encode_dss_signature(r, P256_ORDER - s),
                               cbor2.dumps(["Signature1", protected, b"", payload]), ec.ECDSA(hashes.SHA256()))
    twin = _encode(cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, high])))

    # ... and still not a second spelling of the code.
    assert _rejection(twin) == "SIGNATURE_INVALID"
    assert low_s(r, P256_ORDER - s) == (r, s)


def test_the_person_reference_reads_back_from_under_the_signature():
    other = bytes(range(200, 216))

    code = read_code(sign_code(replace(CLAIMS, person_ref=other), SIGNER, KEY_ID))

    assert code.claims.person_ref == other
    signed_claims = cbor2.loads(cbor2.loads(code.signed_bytes)[3])  # Sig_structure: the payload is signed
    assert signed_claims[-65537][5] == other


def test_the_person_reference_is_kept_out_of_repr():
    assert PERSON_REF.hex() not in repr(CLAIMS) and repr(PERSON_REF) not in repr(CLAIMS)


def test_a_code_built_by_hand_in_the_documented_layout_is_accepted():
    code = read_code(_encode(_hand_made()))

    code.verify(SIGNER.public_key())
    assert code.claims == CLAIMS


# Tampering.

def test_every_single_character_change_is_refused():
    payload = sign_code(CLAIMS, SIGNER, KEY_ID)

    for position in range(len(PREFIX), len(payload)):
        # An odd step changes the parity of the base45 group, so the lowest bit of a byte,
        # which zlib always reads. An even step could land in the padding bits zlib skips
        # after a block header or the final block: another spelling of the same signed code.
        index = BASE45_ALPHABET.index(payload[position])
        other = BASE45_ALPHABET[index + 1] if index + 1 < len(BASE45_ALPHABET) else BASE45_ALPHABET[index - 1]
        _rejection(payload[:position] + other + payload[position + 1:])


def test_every_single_byte_change_of_the_cose_is_refused():
    cose = _cose_of(sign_code(CLAIMS, SIGNER, KEY_ID))

    for position in range(len(cose)):
        for bit in range(8):
            changed = bytearray(cose)
            changed[position] ^= 1 << bit
            _rejection(_encode(bytes(changed)))


def test_random_corruptions_raise_nothing_but_code_rejected():
    cose = _cose_of(sign_code(CLAIMS, SIGNER, KEY_ID))
    rng = random.Random(20250301)

    for _ in range(3000):
        changed = bytearray(cose)
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(changed))
            action = rng.choice(("flip", "cut", "insert"))
            if action == "flip":
                changed[position] = rng.randrange(256)
            elif action == "cut":
                del changed[position:position + rng.randint(1, 8)]
            else:
                changed[position:position] = rng.randbytes(rng.randint(1, 8))
        try:
            read_code(_encode(bytes(changed))).verify(SIGNER.public_key())
        except CodeRejected:
            pass


# Text, compression and size.

@pytest.mark.parametrize("payload", ["HC1:NCF:80H2", "hcn1:NCF:80H2", "", None, b"HCN1:NCF:80H2"])
def test_a_payload_without_the_hcn1_prefix_is_refused(payload):
    assert _rejection(payload) == "PREFIX_UNKNOWN"


def test_a_payload_over_the_limit_is_refused_before_it_is_decoded():
    assert _rejection(PREFIX + "!" * (MAX_PAYLOAD_CHARS - len(PREFIX) + 1)) == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("text", ["abc", "0A", "0A0B", ":::"], ids=["outside alphabet", "odd length",
                                                                     "one char left over", "triplet over 65535"])
def test_text_that_is_not_base45_is_refused(text):
    assert _rejection(PREFIX + text) == "ENCODING_INVALID"


def test_a_trailing_newline_is_refused_though_the_base45_library_would_strip_it():
    assert _rejection(sign_code(CLAIMS, SIGNER, KEY_ID) + "\n") == "ENCODING_INVALID"


def test_a_zlib_bomb_is_refused():
    bomb = PREFIX + base45.b45encode(zlib.compress(bytes(650_000), 9)).decode("ascii")
    assert len(bomb) <= MAX_PAYLOAD_CHARS

    assert _rejection(bomb) == "DECOMPRESSED_TOO_LARGE"


def test_a_code_of_exactly_the_decompressed_limit_is_not_refused_for_its_size():
    at_limit = _encode(bytes(MAX_DECOMPRESSED_BYTES))

    assert _rejection(at_limit) == "COSE_INVALID"


def test_truncated_zlib_is_refused():
    compressed = zlib.compress(_cose_of(sign_code(CLAIMS, SIGNER, KEY_ID)), 9)

    assert _rejection(PREFIX + base45.b45encode(compressed[:-4]).decode("ascii")) == "COMPRESSION_INVALID"


def test_zlib_followed_by_other_bytes_is_refused():
    compressed = zlib.compress(_cose_of(sign_code(CLAIMS, SIGNER, KEY_ID)), 9)

    assert _rejection(PREFIX + base45.b45encode(compressed + b"\x00").decode("ascii")) == "COMPRESSION_INVALID"


def test_bytes_that_are_not_zlib_are_refused():
    assert _rejection(PREFIX + base45.b45encode(_hand_made()).decode("ascii")) == "COMPRESSION_INVALID"


# The COSE_Sign1 envelope.

def test_a_cose_tag_other_than_sign1_is_refused():
    assert _rejection(_encode(_hand_made(tag=17))) == "COSE_INVALID"


def test_an_algorithm_other_than_es256_is_refused():
    assert _rejection(_encode(_hand_made(protected={1: -35, 4: KEY_ID}))) == "COSE_INVALID"


def test_a_protected_header_without_a_key_id_is_refused():
    assert _rejection(_encode(_hand_made(protected={1: -7}))) == "COSE_INVALID"


def test_a_key_id_of_another_length_is_refused():
    assert _rejection(_encode(_hand_made(protected={1: -7, 4: KEY_ID + b"\x00"}))) == "COSE_INVALID"


def test_a_non_empty_unprotected_header_is_refused():
    assert _rejection(_encode(_hand_made(unprotected={4: KEY_ID}))) == "COSE_INVALID"


def test_a_cose_followed_by_trailing_bytes_is_refused():
    assert _rejection(_encode(_hand_made() + b"\x00")) == "COSE_INVALID"


def test_a_cose_with_a_longer_than_needed_length_is_refused():
    cose = _hand_made()
    assert cose[:2] == b"\xd2\x84"  # tag 18, array of 4

    assert _rejection(_encode(b"\xd2\x98\x04" + cose[2:])) == "COSE_INVALID"


def test_a_cose_that_is_not_cbor_is_refused():
    assert _rejection(_encode(b"\xff\xff")) == "COSE_INVALID"


# The CWT claims.

def test_an_extra_claim_is_refused():
    assert _rejection(_encode(_hand_made(claims={**_claims_map(), 5: ISSUED_AT_SECONDS}))) == "CLAIMS_INVALID"


def test_a_missing_claim_is_refused():
    claims = _claims_map()
    del claims[7]

    assert _rejection(_encode(_hand_made(claims=claims))) == "CLAIMS_INVALID"


def test_an_extra_entry_in_the_health_code_claim_is_refused():
    claims = _claims_map()
    claims[-65537][6] = "110101199003071234"

    assert _rejection(_encode(_hand_made(claims=claims))) == "CLAIMS_INVALID"


def test_a_code_without_a_person_reference_is_refused():
    claims = _claims_map()
    del claims[-65537][5]

    assert _rejection(_encode(_hand_made(claims=claims))) == "CLAIMS_INVALID"


@pytest.mark.parametrize("person_ref", [bytes(15), bytes(17), b"", "00" * 16, 16, None],
                         ids=["15 bytes", "17 bytes", "empty", "text", "integer", "null"])
def test_a_person_reference_other_than_16_bytes_is_refused(person_ref):
    assert _rejection(_encode(_hand_made(claims=_claims_map(person_ref=person_ref)))) == "CLAIMS_INVALID"


def test_a_bool_status_version_is_refused():
    assert _rejection(_encode(_hand_made(claims=_claims_map(status_version=True)))) == "CLAIMS_INVALID"


def test_a_bool_national_colour_is_refused():
    assert _rejection(_encode(_hand_made(claims=_claims_map(colour=True)))) == "CLAIMS_INVALID"


def test_a_status_version_below_one_is_refused():
    assert _rejection(_encode(_hand_made(claims=_claims_map(status_version=0)))) == "CLAIMS_INVALID"


@pytest.mark.parametrize("exp", [ISSUED_AT_SECONDS, ISSUED_AT_SECONDS - 1], ids=["at issue", "before issue"])
def test_expiry_at_or_before_issue_is_refused(exp):
    assert _rejection(_encode(_hand_made(claims=_claims_map(exp=exp)))) == "CLAIMS_INVALID"


def test_an_expiry_past_the_year_9999_is_refused():
    assert _rejection(_encode(_hand_made(claims=_claims_map(exp=2**64 - 1)))) == "CLAIMS_INVALID"


def test_an_unknown_national_colour_is_refused():
    assert _rejection(_encode(_hand_made(claims=_claims_map(colour=4)))) == "CLAIMS_INVALID"


def test_an_issuer_that_is_not_a_province_code_is_refused():
    assert _rejection(_encode(_hand_made(claims=_claims_map(iss="420100")))) == "CLAIMS_INVALID"


def test_a_cbor_tag_inside_the_claims_is_refused():
    mime = cbor2.CBORTag(36, "Content-Type: text/plain\n\nhello")

    assert _rejection(_encode(_hand_made(claims=_claims_map(masked_name=mime)))) == "CLAIMS_INVALID"


def test_a_duplicate_claim_key_is_refused():
    claims = cbor2.dumps(_claims_map())
    assert claims[0] == 0xA5  # a map of five pairs
    duplicated = b"\xa6" + claims[1:] + cbor2.dumps(1) + cbor2.dumps("110000")
    protected = cbor2.dumps({1: -7, 4: KEY_ID})
    r, s = low_s(*decode_dss_signature(SIGNER.sign(cbor2.dumps(["Signature1", protected, b"", duplicated]),
                                                   ec.ECDSA(hashes.SHA256()))))
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, duplicated, r.to_bytes(32, "big") + s.to_bytes(32, "big")]))

    assert _rejection(_encode(cose)) == "CLAIMS_INVALID"


# Key ids and signing.

def test_a_key_id_is_eight_bytes_and_stable_for_a_key():
    assert len(KEY_ID) == 8
    assert key_id_of(SIGNER.public_key()) == KEY_ID


def test_key_ids_differ_between_keys():
    assert key_id_of(OTHER_SIGNER.public_key()) != KEY_ID


def test_sign_code_refuses_a_naive_datetime():
    with pytest.raises(ValueError):
        sign_code(replace(CLAIMS, issued_at=datetime(2025, 3, 1, 8, 0)), SIGNER, KEY_ID)


def test_sign_code_refuses_a_p384_key():
    with pytest.raises(ValueError):
        sign_code(CLAIMS, ec.generate_private_key(ec.SECP384R1()), KEY_ID)


@pytest.mark.parametrize("changes", [
    {"issuer_province": "420001"},
    {"issuer_province": "990000"},
    {"code_id": bytes(15)},
    {"national_colour": 2},
    {"display_colour": "Orange"},
    {"display_colour": ""},
    {"status_version": 0},
    {"status_version": True},
    {"masked_name": ""},
    {"masked_name": "张" * 65},
    {"masked_name": "张\u202e*"},
    {"person_ref": bytes(15)},
    {"person_ref": bytes(17)},
    {"person_ref": b""},
    {"person_ref": bytearray(16)},
    {"person_ref": "00" * 16},
    {"person_ref": None},
    {"issued_at": ISSUED_AT.replace(microsecond=1)},
    {"issued_at": ISSUED_AT.astimezone(timezone(timedelta(hours=8)))},
    {"expires_at": ISSUED_AT},
], ids=lambda changes: ", ".join(f"{name}={value!r}" for name, value in changes.items()))
def test_sign_code_refuses_a_bad_claim(changes):
    with pytest.raises(ValueError):
        sign_code(replace(CLAIMS, **changes), SIGNER, KEY_ID)


def test_sign_code_refuses_a_key_id_of_another_length():
    with pytest.raises(ValueError):
        sign_code(CLAIMS, SIGNER, KEY_ID[:7])


# The latest negative test: "negative, sampled then", nothing more.

SAMPLED = ISSUED_AT - timedelta(hours=30)


def test_a_code_carries_the_negative_test_time_under_the_signature():
    claims = replace(CLAIMS, negative_test_time=SAMPLED)
    payload = sign_code(claims, SIGNER, KEY_ID)

    code = read_code(payload)
    code.verify(SIGNER.public_key())
    assert code.claims.negative_test_time == SAMPLED
    health_code = cbor2.loads(cbor2.loads(_cose_of(payload)).value[2])[-65537]
    assert health_code[6] == int(SAMPLED.timestamp()) and set(health_code) == {1, 2, 3, 4, 5, 6}


def test_a_code_without_a_test_has_no_test_claim_and_reads_back_as_none():
    health_code = cbor2.loads(cbor2.loads(_cose_of(sign_code(CLAIMS, SIGNER, KEY_ID))).value[2])[-65537]

    assert 6 not in health_code
    assert read_code(sign_code(CLAIMS, SIGNER, KEY_ID)).claims.negative_test_time is None


def test_a_test_sampled_after_the_code_was_issued_is_refused_when_signing_and_reading():
    with pytest.raises(ValueError):
        sign_code(replace(CLAIMS, negative_test_time=ISSUED_AT + timedelta(seconds=1)), SIGNER, KEY_ID)
    claims = _claims_map()
    claims[-65537][6] = ISSUED_AT_SECONDS + 1
    assert _rejection(_encode(_hand_made(claims=claims))) == "CLAIMS_INVALID"


@pytest.mark.parametrize("value", ["yesterday", -5, 1.5, True])
def test_a_test_time_that_is_not_whole_seconds_since_1970_is_refused(value):
    claims = _claims_map()
    claims[-65537][6] = value
    assert _rejection(_encode(_hand_made(claims=claims))) == "CLAIMS_INVALID"


def test_an_unknown_health_code_key_is_still_refused():
    claims = _claims_map()
    claims[-65537][7] = 1
    assert _rejection(_encode(_hand_made(claims=claims))) == "CLAIMS_INVALID"
