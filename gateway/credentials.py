"""Turning what a caller presents into a Principal: a client certificate or a signed session token.

Systems (province systems, feeds, checkpoints, operators) present a client certificate over
mutual TLS; its subject alternative name is a URI `healthcode://<kind>/<province>/<subject>`,
optionally with `?scopes=A,B` (a feed's fact kinds). App sessions and browser devices present
`authorization: Bearer <JWT>` signed ES256 by the gateway's session keys, whose public halves
are published at /.well-known/jwks.json so any other party can check a token too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from cryptography import x509
from jwt.algorithms import ECAlgorithm

from gateway.caching import RecentMap
from gateway.principals import FEED_SCOPES, NATIONAL, CallerKind, Principal
from services.areas import is_province_code
from services.codes.payload import is_low_s, low_s, p256_key_from_secret
from services.runtime.errors import Unauthenticated

ISSUER = "healthcode-gateway"
AUDIENCE = "healthcode"
URI_SCHEME = "healthcode"
# Clocks of phones and devices drift; a token is accepted this long past its exp.
_LEEWAY_SECONDS = 30
# Verified tokens, so a session's next calls skip the signature check (an ES256 verify is
# ~60 µs, a quarter of a forwarded call).
_VERIFIED_CACHE_SIZE = 50_000
# A sign-in challenge lives as long as a face check is accepted (identity's 300 s).
CHALLENGE_SECONDS = 300
_CHALLENGE_PURPOSE = b"healthcode.gateway.sign-in-challenge"
_CHALLENGE_RANDOM_BYTES = 12
_CHALLENGE_MAC_BYTES = 16


class SessionKeys:
    """ES256 session keys, derived from the HEALTHCODE_GATEWAY_SESSION_KEYS secrets: every
    replica derives the same keys. The first key signs; all verify, so a new key can be put
    first while tokens signed by the old one run out."""

    def __init__(self, secrets_by_id: Mapping[str, bytes]) -> None:
        if not secrets_by_id:
            raise ValueError("at least one session key is required")
        self._keys = {key_id: p256_key_from_secret(secret) for key_id, secret in secrets_by_id.items()}
        self._signing_id = next(iter(self._keys))
        # HMAC keys for sign-in challenges, bound to their purpose: every replica derives the same.
        self._challenge_keys = [hmac.digest(secret, _CHALLENGE_PURPOSE, "sha256") for secret in secrets_by_id.values()]
        self._verified: RecentMap[bytes, tuple[Principal, float]] = RecentMap(_VERIFIED_CACHE_SIZE)

    def mint(self, principal: Principal, lifetime_seconds: int) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": principal.subject, "kind": str(principal.kind),
                  "prov": principal.province, "scp": sorted(principal.scopes), "iat": now,
                  "exp": now + lifetime_seconds, "jti": secrets.token_urlsafe(12)}
        if principal.session_id:
            claims["sid"] = principal.session_id
        token = jwt.encode(claims, self._keys[self._signing_id], algorithm="ES256",
                           headers={"kid": self._signing_id})
        # PyJWT leaves s as signed; the token carries its low-S form, the one spelling verify accepts.
        head, _, signature = token.rpartition(".")
        raw = _b64url(signature)
        r, s = low_s(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        return f"{head}.{_b64url_text(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def verify(self, token: str) -> Principal:
        """The token's principal, or Unauthenticated (never saying more than why, never the token)."""
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(digest)
        if cached is not None and cached[1] + _LEEWAY_SECONDS > time.time():
            return cached[0]
        if not _one_spelling(token):
            raise Unauthenticated("SESSION_INVALID", "the session token is malformed or its signature is wrong")
        try:
            key_id = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(key_id) if isinstance(key_id, str) else None
            if key is None:
                raise Unauthenticated("UNKNOWN_SESSION_KEY", "the token is signed by a key this gateway does not hold")
            claims = jwt.decode(token, key.public_key(), algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER,
                                leeway=_LEEWAY_SECONDS,
                                options={"require": ["exp", "iat", "sub", "kind", "prov"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("SESSION_EXPIRED", "the session token has expired; sign in again") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("SESSION_INVALID", "the session token is malformed or its signature is wrong"
                                  ) from None
        principal = _principal(claims.get("kind"), claims.get("prov"), claims.get("sub"), claims.get("scp") or [])
        session_id = claims.get("sid")
        if session_id is not None:
            if not isinstance(session_id, str) or principal.kind != CallerKind.PERSON:
                raise Unauthenticated("SESSION_INVALID", "the session token is malformed or its signature is wrong")
            principal = replace(principal, session_id=session_id)
        self._verified.put(digest, (principal, float(claims["exp"])))
        return principal

    def challenge(self, now: float | None = None) -> str:
        """A one-time sign-in challenge: the face-check provider puts it in the attestation as its
        nonce. Stateless (expiry, randomness, HMAC under the session secret), so any replica checks it;
        identity records its use, so it serves one sign-in on whichever replica it reaches."""
        expiry = int(now if now is not None else time.time()) + CHALLENGE_SECONDS
        body = struct.pack(">Q", expiry) + secrets.token_bytes(_CHALLENGE_RANDOM_BYTES)
        mac = hmac.digest(self._challenge_keys[0], body, "sha256")[:_CHALLENGE_MAC_BYTES]
        return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()

    def challenge_is_valid(self, value: str, now: float | None = None) -> bool:
        """True for an unexpired challenge this deployment's gateways issued."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (ValueError, TypeError):
            return False
        if len(raw) != 8 + _CHALLENGE_RANDOM_BYTES + _CHALLENGE_MAC_BYTES:
            return False
        body, mac = raw[:-_CHALLENGE_MAC_BYTES], raw[-_CHALLENGE_MAC_BYTES:]
        if not any(hmac.compare_digest(hmac.digest(key, body, "sha256")[:_CHALLENGE_MAC_BYTES], mac)
                   for key in self._challenge_keys):
            return False
        return struct.unpack(">Q", body[:8])[0] >= (now if now is not None else time.time())

    def jwks(self) -> dict:
        """The published key set (RFC 7517): public halves only."""
        keys = []
        for key_id, key in self._keys.items():
            jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": key_id, "use": "sig", "alg": "ES256"})
        return {"keys": keys}


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url_text(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _one_spelling(token: str) -> bool:
    """Whether the token's ES256 signature is in the one accepted spelling: 64 bytes, low S, and
    base64url without stray bits (a high-S copy, or the same bytes spelt with other trailing bits,
    would verify too and be a second token for one session)."""
    signature = token.rpartition(".")[2]
    try:
        raw = _b64url(signature)
    except (ValueError, binascii.Error):
        return False
    return len(raw) == 64 and _b64url_text(raw) == signature and is_low_s(int.from_bytes(raw[32:], "big"))


def principal_of_certificate(pem: bytes) -> Principal:
    """The principal a client certificate names (the TLS handshake has already checked its chain)."""
    return _certificate_principal(bytes(pem))


@lru_cache(maxsize=4096)
def _certificate_principal(pem: bytes) -> Principal:
    certificate = x509.load_pem_x509_certificate(pem)
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names = None
    uris = [uri for uri in (names.get_values_for_type(x509.UniformResourceIdentifier) if names else [])
            if uri.startswith(f"{URI_SCHEME}://")]
    if len(uris) != 1:
        raise Unauthenticated("CERTIFICATE_UNNAMED", "the client certificate must carry exactly one "
                                                     "healthcode://<kind>/<province>/<subject> URI")
    parts = urlsplit(uris[0])
    path = [unquote(part) for part in parts.path.strip("/").split("/")]
    if len(path) != 2:
        raise Unauthenticated("CERTIFICATE_UNNAMED", "the certificate's URI must be "
                                                     "healthcode://<kind>/<province>/<subject>")
    scopes = [scope for value in parse_qs(parts.query).get("scopes", []) for scope in value.split(",") if scope]
    kind = _principal(parts.hostname, path[0], path[1], scopes)
    if kind.kind == CallerKind.PERSON:
        raise Unauthenticated("CERTIFICATE_UNNAMED", "persons sign in with a session, not a certificate")
    return kind


def certificate_uri(kind: CallerKind, province: str, subject: str, scopes: frozenset[str] = frozenset()) -> str:
    """The SAN URI a client certificate for this caller carries."""
    uri = f"{URI_SCHEME}://{kind}/{province}/{subject}"
    return f"{uri}?scopes={','.join(sorted(scopes))}" if scopes else uri


def _principal(kind: object, province: object, subject: object, scopes: object) -> Principal:
    try:
        caller_kind = CallerKind(kind)
    except ValueError:
        raise Unauthenticated("CALLER_KIND_UNKNOWN", "the credential names no known kind of caller") from None
    if not isinstance(province, str) or not (province == NATIONAL or is_province_code(province)):
        raise Unauthenticated("CALLER_PROVINCE_INVALID", "the credential names no province")
    if not isinstance(subject, str) or not 1 <= len(subject) <= 128:
        raise Unauthenticated("CALLER_SUBJECT_INVALID", "the credential names no subject")
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise Unauthenticated("CALLER_SCOPES_INVALID", "the credential's scopes are not a list of names")
    unknown = set(scopes) - FEED_SCOPES
    if unknown or (scopes and caller_kind != CallerKind.FEED):
        raise Unauthenticated("CALLER_SCOPES_INVALID", "only feeds carry scopes, and only known fact kinds or STAYS")
    return Principal(caller_kind, subject, province, frozenset(scopes))

