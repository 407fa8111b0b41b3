"""Tracing is off unless an endpoint is configured, and the endpoint is read from either variable."""

from __future__ import annotations

from services.runtime import tracing


def test_without_an_endpoint_tracing_stays_off_and_costs_nothing():
    assert tracing.configure("healthcode-test", endpoint="") is False
    assert tracing.ENABLED is False
    assert tracing.traceparent() == ()


def test_the_endpoint_comes_from_healthcodes_variable_before_the_standard_one():
    assert tracing.endpoint_from_environment({}) == ""
    assert tracing.endpoint_from_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317"}) == "http://otel:4317"
    assert tracing.endpoint_from_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317",
                                              "HEALTHCODE_OTLP_ENDPOINT": "http://mine:4317"}) == "http://mine:4317"


def test_an_endpoint_turns_on_the_otlp_exporter_and_shutdown_turns_it_off():
    try:
        assert tracing.configure("healthcode-test", endpoint="http://127.0.0.1:4317") is True
        assert tracing.ENABLED is True
    finally:
        tracing.shutdown()
    assert tracing.ENABLED is False


def test_a_certificate_bundles_first_expiry_is_exported():
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from prometheus_client import REGISTRY

    from services.runtime.metrics import certificate_expires

    def certificate(days: int) -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"test {days}")])
        start = datetime(2026, 1, 1, tzinfo=UTC)
        built = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                 .serial_number(days).not_valid_before(start).not_valid_after(start + timedelta(days=days))
                 .sign(key, hashes.SHA256()))
        return built.public_bytes(serialization.Encoding.PEM)

    certificate_expires("test-bundle", certificate(90) + certificate(30))
    assert REGISTRY.get_sample_value("healthcode_certificate_expiry_timestamp_seconds",
                                     {"certificate": "test-bundle"}) == datetime(2026, 1, 31, tzinfo=UTC).timestamp()
