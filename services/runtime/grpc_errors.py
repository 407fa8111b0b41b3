"""The single place where domain errors become gRPC statuses with rich details."""

from __future__ import annotations

import asyncpg
import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.runtime import errors

_CODES: dict[type[errors.DomainError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
}

# Database failures a client may retry as they are: the server was briefly unreachable (refused,
# reset, its Unix socket missing while it restarts, asyncpg's state broken by a lost connection,
# an admin or crash shutdown), or Postgres chose this transaction as a deadlock / serialisation victim.
_RETRYABLE_DATABASE_ERRORS: dict[type[BaseException], tuple[grpc.StatusCode, str]] = {
    asyncpg.exceptions.SerializationError: (grpc.StatusCode.ABORTED, "SERIALIZATION_CONFLICT"),
    asyncpg.exceptions.DeadlockDetectedError: (grpc.StatusCode.ABORTED, "SERIALIZATION_CONFLICT"),
    asyncpg.exceptions.TooManyConnectionsError: (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
    asyncpg.exceptions.CannotConnectNowError: (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
    asyncpg.exceptions.PostgresConnectionError: (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
    asyncpg.exceptions.OperatorInterventionError: (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
    asyncpg.exceptions.ConnectionDoesNotExistError: (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
    asyncpg.exceptions.InterfaceError: (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
    asyncpg.exceptions.InternalClientError: (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
    # ConnectionError, FileNotFoundError of a missing Unix socket, TimeoutError of a connect.
    OSError: (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
}

# Postgres refusing a value (class 22: data exception, e.g. out of range, NUL, bad encoding; class 54:
# a value too large for an index): the request's fault, though a reader should have caught it first.
_REFUSED_VALUES = (asyncpg.exceptions.DataError, asyncpg.exceptions.ProgramLimitExceededError)


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_rpc_status(error: errors.DomainError, domain: str) -> grpc.Status:
    """google.rpc.Status with ErrorInfo, plus BadRequest field violations for invalid input."""
    code = code_for(error)
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=domain, metadata=error.metadata))]
    if isinstance(error, errors.InvalidArgument) and error.violations:
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations])))
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=error.message, details=details)
    return rpc_status.to_status(status)


def _chain(error: BaseException):
    """The error, then the ones it was raised while handling (a failed rollback hides the first)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def retryable_database_status(error: BaseException, domain: str) -> grpc.Status | None:
    """A status for a database failure a client may retry, or None if it is a bug.

    The first error of the chain decides (a rollback that failed after a lost connection is
    not the cause); any retryable error along it makes the call retryable."""
    for cause in reversed(list(_chain(error))):
        for kind, (code, reason) in _RETRYABLE_DATABASE_ERRORS.items():
            if isinstance(cause, kind):
                status = status_pb2.Status(
                    code=getattr(code_pb2, code.name), message="the database is briefly unavailable; retry",
                    details=[_pack(error_details_pb2.ErrorInfo(reason=reason, domain=domain))])
                return rpc_status.to_status(status)
    return None


def refused_value_status(error: BaseException, domain: str) -> grpc.Status | None:
    """INVALID_ARGUMENT for a value Postgres refused, or None."""
    if not any(isinstance(cause, _REFUSED_VALUES) for cause in _chain(error)):
        return None
    status = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message="a value in the request is out of range or too large",
        details=[_pack(error_details_pb2.ErrorInfo(reason="VALUE_OUT_OF_RANGE", domain=domain))])
    return rpc_status.to_status(status)


def code_for(error: errors.DomainError) -> grpc.StatusCode:
    for kind in type(error).__mro__:
        if kind in _CODES:
            return _CODES[kind]
    return grpc.StatusCode.INTERNAL
