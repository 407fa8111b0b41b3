"""`healthcode dcc-verify`: one DCC checked offline, for operators and tests, printed as one JSON object
with each step's result and the decision. No database and no service is involved."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from services import areas
from services.codes import dcc
from services.codes.payload import CodeRejected
from services.verification.recognition.dcc_check import check_dcc
from services.verification.recognition.dcc_rules import PACKAGED, load_rules
from services.verification.recognition.dcc_trust import parse_gateway_trust_list, read_signer


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "dcc-verify", help="check an EU Digital COVID Certificate (HC1:) offline and print each step as JSON")
    signers = parser.add_mutually_exclusive_group(required=True)
    signers.add_argument("--certificate", type=Path, metavar="DER_OR_PEM_FILE", help="the signer's certificate")
    signers.add_argument("--trust-list", type=Path, metavar="FILE", help="an EU gateway trust-list file (JSON)")
    parser.add_argument("--at", required=True, metavar="TIME",
                        help="the moment to verify at, ISO 8601 (a time without an offset is UTC)")
    parser.add_argument("--province", metavar="CODE",
                        help="apply this province's acceptance rules (GB/T 2260, e.g. 440000); without it, none")
    parser.add_argument("--rules", type=Path, default=PACKAGED, metavar="FILE", help="the DCC rules file")
    parser.add_argument("payload", metavar="PAYLOAD", help="the scanned HC1: text, or - to read it from stdin")
    parser.set_defaults(handler=run)


def _load_signers(args: argparse.Namespace) -> dict[bytes, dcc.SignerCertificate]:
    if args.certificate is not None:
        data = args.certificate.read_bytes()
        if b"-----BEGIN" in data:
            data = x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
        signer = dcc.signer_from_der(data)  # one certificate given by hand needs no country
        return {signer.key_id: signer}
    signers = {}
    for item in parse_gateway_trust_list(args.trust_list.read_text(encoding="utf-8")):
        signer = read_signer(item)
        signers[signer.key_id] = signer
    return signers


def run(args: argparse.Namespace) -> int:
    """Exit 0 on PASS, 1 on DENY or CHECK_MANUALLY, 2 when the inputs cannot be read."""
    try:
        at = datetime.fromisoformat(args.at)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if args.province is not None and not areas.is_province_code(args.province):
            raise ValueError("--province must be a GB/T 2260 province code such as 440000")
        signers = _load_signers(args)
        rules = load_rules(args.rules)
    except (OSError, ValueError, TypeError) as error:
        print(f"healthcode dcc-verify: {error}", file=sys.stderr)
        return 2
    payload = sys.stdin.read().strip() if args.payload == "-" else args.payload
    verdict = check_dcc(payload, signers, rules, args.province, at)
    opened_kid = _key_id(payload)
    print(json.dumps({
        "decision": verdict.decision.name, "reason": verdict.reason, "steps": verdict.steps,
        "key_id": opened_kid, "issuer_country": verdict.issuer_country, "kind": verdict.kind,
        "masked_name": verdict.masked_name, "rules": list(verdict.rules), "at": at.isoformat(),
        "province": args.province,
    }, ensure_ascii=False))
    return 0 if verdict.decision.name == "PASS" else 1


def _key_id(payload: str) -> str:
    try:
        return base64.b64encode(dcc.read_dcc(payload).cose.key_id).decode("ascii")
    except CodeRejected:
        return ""
