"""Domain errors: the one exception tree every service raises, free of any gRPC import.

The transport maps each class to one gRPC status code in `services.runtime.grpc_errors`;
domain and repository code raise these and never touch grpc directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request, named by its proto path (e.g. `document.number`)."""

    field: str
    description: str


@dataclass
class DomainError(Exception):
    """Base of every expected failure.

    `reason` is a stable UPPER_SNAKE code clients may branch on; `message` is for
    people and must never contain personal data (document numbers, names).
    """

    reason: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


@dataclass
class InvalidArgument(DomainError):
    """The request itself is malformed, whatever the system's state."""

    violations: list[FieldViolation] = field(default_factory=list)

    @classmethod
    def for_field(cls, field_path: str, description: str, reason: str = "INVALID_ARGUMENT") -> InvalidArgument:
        return cls(reason=reason, message=f"{field_path}: {description}",
                   violations=[FieldViolation(field_path, description)])

    def rebased(self, old: str, new: str) -> InvalidArgument:
        """The same violations with the field prefix `old` named `new` (a message checked inside another)."""
        if old == new:
            return self
        return InvalidArgument(reason=self.reason, message=self.message.replace(old, new, 1),
                               violations=[FieldViolation(new + v.field.removeprefix(old), v.description)
                                           for v in self.violations])


class NotFound(DomainError):
    """The named resource does not exist (or the caller may not know it does)."""


class AlreadyExists(DomainError):
    """A create would clash with an existing, different resource."""


class FailedPrecondition(DomainError):
    """The request is well formed but the system's state does not allow it now."""


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""


class Unauthenticated(DomainError):
    """The caller could not be identified."""


class ResourceExhausted(DomainError):
    """A quota or capacity limit was hit; retry later."""


class DeadlineExceeded(DomainError):
    """The call ran past its deadline (or a stream sat idle past its timeout)."""


class Unavailable(DomainError):
    """A dependency is down; the call may be retried as is."""
