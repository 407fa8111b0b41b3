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
