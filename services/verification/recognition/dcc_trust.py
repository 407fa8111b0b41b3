"""The DCC trust list: Document Signer Certificates imported from the EU gateway's trust-list format
(a file, or the ImportDccSigners RPC), and the signer behind a key id."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass

from services.codes import dcc
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument
from services.verification.recognition.dcc_repository import DccRepository, SignerRow
from services.verification.recognition.model import Rejection
from services.verification.recognition.repository import DELTA_OVERLAP

MAX_SIGNERS_PER_CALL = 1000
_COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class SignerInput:
    certificate: bytes
    country: str = ""
    key_id: str = ""  # base64, as the gateway's kid; "" when not given


def signer_of(row: SignerRow) -> dcc.SignerCertificate:
    return dcc.signer_from_der(row.certificate, row.country)


def read_signer(item: SignerInput) -> dcc.SignerCertificate:
    """The DSC of one input, or ValueError("FIELD:REASON") for the first thing wrong with it."""
    try:
        signer = dcc.signer_from_der(item.certificate, item.country)
    except ValueError:
        raise ValueError("certificate:CERTIFICATE_INVALID") from None
    except TypeError:
        raise ValueError("certificate:KEY_UNSUPPORTED") from None
    if not _COUNTRY.fullmatch(signer.country):
        raise ValueError("country_code:COUNTRY_INVALID")
    if item.key_id:
        try:
            given = base64.b64decode(item.key_id, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("key_id:KEY_ID_INVALID") from None
        if given != signer.key_id:
            raise ValueError("key_id:KEY_ID_MISMATCH")
    return signer


def parse_gateway_trust_list(text: str) -> list[SignerInput]:
    """The DSCs of a trust list as the EU gateway serves it (GET /trustList/DSC): a JSON array of
    {kid, country, certificateType, thumbprint, rawData, ...}. Items of other types are left out; a
    thumbprint that is not the SHA-256 of rawData is ValueError, as is anything not of this shape.
    (The gateway's own signature over each item, by its trust anchor, is not checked here.)"""
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("the trust list is not JSON") from None
    if not isinstance(items, list):
        raise TypeError("the trust list is not a JSON array")
    signers = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("rawData"), str):
            raise ValueError(f"item {index} has no rawData")
        if item.get("certificateType", "DSC") != "DSC":
            continue
        try:
            der = base64.b64decode(item["rawData"], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"item {index}: rawData is not base64") from None
        thumbprint = item.get("thumbprint")
        if thumbprint is not None and thumbprint.lower() != hashlib.sha256(der).hexdigest():
            raise ValueError(f"item {index}: the thumbprint is not the SHA-256 of rawData")
        signers.append(SignerInput(der, str(item.get("country", "")), str(item.get("kid", ""))))
    return signers


@dataclass(frozen=True)
class ImportResult:
    stored: int
    unchanged: int
    rejections: list[Rejection]


class DccTrust:
    def __init__(self, repository: DccRepository, clock: Clock) -> None:
        self.repository = repository
        self._clock = clock

    async def import_signers(self, items: list[SignerInput]) -> ImportResult:
        """Bad signers are reported by index and field; the good ones are kept; importing a signer
        again changes nothing; a key id already held with another certificate is KEY_ID_CONFLICT."""
        if not items or len(items) > MAX_SIGNERS_PER_CALL:
            raise InvalidArgument.for_field("signers", f"must hold 1 to {MAX_SIGNERS_PER_CALL} signers",
                                            reason="SIGNERS_COUNT_INVALID")
        rejections, good, index_of = [], [], {}
        for index, item in enumerate(items):
            try:
                signer = read_signer(item)
            except ValueError as error:
                field, reason = str(error).split(":")
                rejections.append(Rejection(index, f"signers[{index}].{field}", reason))
                continue
            if signer.key_id in index_of:
                if items[index_of[signer.key_id]].certificate != item.certificate:
                    rejections.append(Rejection(index, f"signers[{index}].certificate", "KEY_ID_CONFLICT"))
                continue  # the same signer twice in one call counts once
            index_of[signer.key_id] = index
            good.append(SignerRow(signer.key_id, signer.country, signer.der, signer.not_before, signer.not_after))
        stored, unchanged = (await self.repository.add_signers(good, self._clock.now())) if good else (set(), set())
        for row in good:
            if row.key_id not in stored and row.key_id not in unchanged:
                index = index_of[row.key_id]
                rejections.append(Rejection(index, f"signers[{index}].certificate", "KEY_ID_CONFLICT"))
        return ImportResult(len(stored), len(unchanged), sorted(rejections, key=lambda r: r.index))

    async def signers_since(self, since_version: int) -> list[SignerRow]:
        """For an offline snapshot: signers only join the list, so a delta carries those added after the
        device's version (less the overlap every snapshot part allows for late commits)."""
        after = max(0, since_version - DELTA_OVERLAP) if since_version else 0
        return await self.repository.signers_after(after)

    async def signer(self, key_id: bytes) -> dcc.SignerCertificate | None:
        if len(key_id) != 8:
            return None
        row = await self.repository.signer(key_id)
        return signer_of(row) if row else None
