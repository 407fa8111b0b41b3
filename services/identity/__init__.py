"""The identity service: real-name persons and the dependents one may act for."""
