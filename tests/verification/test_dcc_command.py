"""`healthcode dcc-verify`: one JSON object with each step and the decision, from a DER or PEM
certificate or an EU gateway trust-list file, at a given moment."""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from services.runtime.settings import Env, SettingsError
from services.verification import commands as dcc_command
from services.verification.bootstrap import VerificationSettings
from tests.support import random_key
from tests.support import dcc_factory as f
from tests.support.verification import VECTORS

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def main(argv: list[str]) -> int:
    # The command's own parser: cli.healthcode.main would also point the process's logging at the
    # captured stdout, which pytest closes after the test.
    parser = argparse.ArgumentParser()
    dcc_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


def run(capsys, *args: str) -> tuple[int, dict]:
    code = main(["dcc-verify", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out else {}


@pytest.fixture(scope="module")
def signer() -> f.Signer:
    return f.make_signer(AT - timedelta(days=90), AT + timedelta(days=300), country="NL")


def test_a_pem_certificate_and_every_step(capsys, tmp_path, signer) -> None:
    (tmp_path / "dsc.pem").write_bytes(signer.pem)
    payload = f.make_dcc(signer, f.vaccination("2026-01-10"), AT - timedelta(days=40), AT + timedelta(days=200))
    code, report = run(capsys, "--certificate", str(tmp_path / "dsc.pem"), "--at", AT.isoformat(), payload)
    assert code == 0 and report["decision"] == "PASS"
    assert list(report["steps"]) == ["unprefix", "base45", "inflate", "cose", "cbor", "signature", "expiry",
                                     "key_usage", "rules"]
    assert report["steps"]["rules"] == "SKIPPED" and report["key_id"] == base64.b64encode(signer.key_id).decode()
    code, report = run(capsys, "--certificate", str(tmp_path / "dsc.pem"), "--at", "2027-06-01T00:00:00",
                       "--province", "440000", payload)
    assert (code, report["decision"], report["reason"]) == (1, "DENY", "CERTIFICATE_EXPIRED")
    assert report["steps"]["expiry"] == "CERTIFICATE_EXPIRED" and report["steps"]["key_usage"] == "SKIPPED"


def test_a_trust_list_file_and_province_rules(capsys, tmp_path, signer) -> None:
    other = f.make_signer(AT - timedelta(days=90), AT + timedelta(days=300), country="BE")
    (tmp_path / "trust.json").write_text(json.dumps([
        {"kid": base64.b64encode(s.key_id).decode(), "country": s.country, "certificateType": "DSC",
         "rawData": base64.b64encode(s.der).decode()} for s in (signer, other)]))
    sampled = AT - timedelta(hours=30)
    payload = f.make_dcc(other, f.pcr_test(f.moment_text(sampled)), sampled, sampled + timedelta(days=2))
    code, report = run(capsys, "--trust-list", str(tmp_path / "trust.json"), "--at", AT.isoformat(),
                       "--province", "440000", payload)
    assert (code, report["decision"], report["issuer_country"], report["kind"]) == (0, "PASS", "BE", "t")
    code, report = run(capsys, "--trust-list", str(tmp_path / "trust.json"), "--at", AT.isoformat(),
                       "--province", "110000", payload)
    assert (code, report["reason"], report["steps"]["rules"]) == (1, "RULE_FAILED:110000-TST-0001",
                                                                  "RULE_FAILED:110000-TST-0001")


def test_bad_payloads_and_bad_inputs(capsys, tmp_path, signer) -> None:
    (tmp_path / "dsc.der").write_bytes(signer.der)
    code, report = run(capsys, "--certificate", str(tmp_path / "dsc.der"), "--at", AT.isoformat(), "HC1:%%%")
    assert (code, report["reason"], report["steps"]["base45"], report["steps"]["cose"]) == (
        1, "ENCODING_INVALID", "ENCODING_INVALID", "SKIPPED")
    (tmp_path / "junk.der").write_bytes(b"junk")
    assert main(["dcc-verify", "--certificate", str(tmp_path / "junk.der"), "--at", AT.isoformat(), "HC1:"]) == 2
    assert main(["dcc-verify", "--certificate", str(tmp_path / "dsc.der"), "--at", "yesterday", "HC1:"]) == 2
    assert main(["dcc-verify", "--certificate", str(tmp_path / "dsc.der"), "--at", AT.isoformat(),
                 "--province", "999999", "HC1:"]) == 2
    assert "dcc-verify" in capsys.readouterr().err


def test_an_eu_vector_verifies_with_its_own_certificate_and_clock(capsys, tmp_path) -> None:
    path = VECTORS / "common" / "2DCode" / "raw" / "CO1.json"
    if not path.is_file():
        pytest.skip(f"no DCC test vectors at {VECTORS}")
    vector = json.loads(path.read_text())
    (tmp_path / "dsc.der").write_bytes(base64.b64decode(vector["TESTCTX"]["CERTIFICATE"]))
    code, report = run(capsys, "--certificate", str(tmp_path / "dsc.der"), "--at",
                       vector["TESTCTX"]["VALIDATIONCLOCK"], vector["PREFIX"])
    assert (code, report["decision"], report["issuer_country"]) == (0, "PASS", "AT")


def test_the_healthcode_command_runs_it(tmp_path, signer) -> None:
    (tmp_path / "dsc.der").write_bytes(signer.der)
    payload = f.make_dcc(signer, f.vaccination("2026-01-10"), AT - timedelta(days=40), AT + timedelta(days=200))
    done = subprocess.run([sys.executable, "-c", "import sys; from cli.healthcode import main; sys.exit(main())",
                           "dcc-verify", "--certificate", str(tmp_path / "dsc.der"), "--at", AT.isoformat(), "-"],
                          input=payload, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["decision"] == "PASS"


def test_the_service_reads_a_trust_list_file_and_rules_from_its_settings(tmp_path, signer) -> None:
    (tmp_path / "trust.json").write_text(json.dumps([{"country": "NL", "certificateType": "DSC",
                                                       "rawData": base64.b64encode(signer.der).decode()}]))
    base = {"HEALTHCODE_DATABASE_URL": "postgresql://unused/db", "HEALTHCODE_VERIFICATION_EXCHANGE_KEY": random_key(),
            "HEALTHCODE_VERIFICATION_VENUE_KEY": random_key()}
    settings = VerificationSettings.read(Env({**base, "HEALTHCODE_VERIFICATION_DCC_TRUST_LIST":
                                              str(tmp_path / "trust.json")}))
    assert [item.certificate for item in settings.dcc_trust_list] == [signer.der]
    assert {rule.province for rule in settings.dcc_rules} == {"440000", "110000"}
    (tmp_path / "rules.json").write_text('{"rules": [{"Engine": "JS"}]}')
    for name, path in (("HEALTHCODE_VERIFICATION_DCC_TRUST_LIST", tmp_path / "missing.json"),
                       ("HEALTHCODE_VERIFICATION_DCC_RULES", tmp_path / "rules.json")):
        with pytest.raises(SettingsError, match=name):
            VerificationSettings.read(Env({**base, name: str(path)}))
