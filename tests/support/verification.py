"""Test support moved out of tests/verification/test_dcc_vectors.py: definitions other test modules use."""

from __future__ import annotations

from pathlib import Path
from datetime import timedelta

from healthcode.verification.v1 import verification_pb2 as pb

from tests.support import timestamp
from tests.support.deployments import HUBEI, Deployment, Provinces


VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "dcc"


async def verify(deployment: Deployment, payload: str, **extra) -> pb.VerifyCodeResponse:
    return await deployment.verifier.VerifyCode(pb.VerifyCodeRequest(
        payload=payload, checkpoint_id="gate-1", area_code="320102", **extra))


async def agree(p: Provinces, mapping: dict[str, int] | None = None) -> None:
    """Jiangsu accepts Hubei's codes (issued from a day ago on)."""
    await p.jiangsu.recognition_admin.SetAgreement(pb.SetAgreementRequest(agreement=pb.Agreement(
        issuer_province_code=HUBEI, accepted_since_time=timestamp(p.jiangsu.clock.now() - timedelta(days=1)),
        colour_mapping=mapping or {})))
