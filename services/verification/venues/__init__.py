"""Venues (场所码): registration, rotating codes, visits, contact tracing."""
