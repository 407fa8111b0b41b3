"""The harness's only way to the platform: a few channels per service, from an address map.

`open_channels(addresses, credentials)` is the one place channels are made: plain addresses of the
four services (what `healthcode up` prints), or one address for all of them (a gateway) with TLS
credentials. Each channel has its own connection (grpc otherwise shares one per target), so calls
spread over several connections, and over every worker of a service that runs several
(SO_REUSEPORT balances connections, not calls).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc
from healthcode.identity.v1 import identity_pb2_grpc
from healthcode.itinerary.v1 import itinerary_pb2_grpc
from healthcode.status.v1 import status_pb2_grpc
from healthcode.verification.v1 import verification_pb2_grpc

from services.runtime.settings import PREFIX

SERVICES = ("identity", "itinerary", "status", "verification")
DEFAULT_PORTS = {"identity": 50051, "itinerary": 50052, "status": 50053, "verification": 50054}
# grpc core cancels calls beyond its per-connection stream limit (about a thousand here): the harness
# keeps far fewer in flight on any one channel.
MAX_IN_FLIGHT_PER_CHANNEL = 250


def addresses_from(environ: Mapping[str, str]) -> dict[str, str]:
    """HEALTHCODE_<SERVICE>_ADDRESS, else 127.0.0.1 and the service's default port."""
    return {name: environ.get(f"{PREFIX}{name.upper()}_ADDRESS") or f"127.0.0.1:{DEFAULT_PORTS[name]}"
            for name in SERVICES}


def with_development_secrets(environ: Mapping[str, str], needed: str) -> dict[str, str]:
    """The environment, completed from the development keys `healthcode up` keeps in its data dir
    when it lacks HEALTHCODE_<needed> (a harness pointed at a development platform)."""
    values = dict(environ)
    secrets_file = Path(values.get(f"{PREFIX}DATA_DIR", ".data")) / "dev-secrets.json"
    if not values.get(f"{PREFIX}{needed}") and secrets_file.exists():
        values = {**json.loads(secrets_file.read_text()), **{k: v for k, v in values.items() if v}}
    return values


def tls_credentials(ca_file: Path | None, cert_file: Path | None = None,
                    key_file: Path | None = None) -> grpc.ChannelCredentials:
    """TLS (mutual when a client certificate is given) for a gateway."""
    return grpc.ssl_channel_credentials(
        root_certificates=ca_file.read_bytes() if ca_file else None,
        private_key=key_file.read_bytes() if key_file else None,
        certificate_chain=cert_file.read_bytes() if cert_file else None)


@dataclass
class _Service:
    channels: list[grpc.aio.Channel]
    stubs: list[tuple]
    _turn: itertools.cycle

    def next(self) -> tuple:
        return self.stubs[next(self._turn)]


class Channels:
    """Stubs of every service over `per_service` channels each, taken in turn."""

    def __init__(self, services: dict[str, _Service], addresses: Mapping[str, str], per_service: int) -> None:
        self._services = services
        self.addresses = dict(addresses)
        self.per_service = per_service

    def identity(self) -> identity_pb2_grpc.IdentityServiceStub:
        return self._services["identity"].next()[0]

    def itinerary(self) -> itinerary_pb2_grpc.ItineraryServiceStub:
        return self._services["itinerary"].next()[0]

    def status(self) -> status_pb2_grpc.StatusServiceStub:
        return self._services["status"].next()[0]

    def status_admin(self) -> status_pb2_grpc.StatusAdminServiceStub:
        return self._services["status"].next()[1]

    def verification(self) -> verification_pb2_grpc.VerificationServiceStub:
        return self._services["verification"].next()[0]

    def channel(self, service: str) -> grpc.aio.Channel:
        return self._services[service].channels[0]

    @property
    def max_in_flight(self) -> int:
        """The most calls the harness may have in flight without any channel nearing grpc's limit."""
        return self.per_service * MAX_IN_FLIGHT_PER_CHANNEL

    async def wait_ready(self, timeout: float) -> None:
        """Every channel connected, or TimeoutError naming the service that is not there."""
        for name, service in self._services.items():
            for channel in service.channels:
                try:
                    await asyncio.wait_for(channel.channel_ready(), timeout)
                except TimeoutError:
                    raise TimeoutError(f"{name} is not reachable at {self.addresses[name]}") from None

    async def close(self) -> None:
        for service in self._services.values():
            for channel in service.channels:
                await channel.close()


_STUBS = {
    "identity": (identity_pb2_grpc.IdentityServiceStub,),
    "itinerary": (itinerary_pb2_grpc.ItineraryServiceStub,),
    "status": (status_pb2_grpc.StatusServiceStub, status_pb2_grpc.StatusAdminServiceStub),
    "verification": (verification_pb2_grpc.VerificationServiceStub,),
}


def open_channels(addresses: Mapping[str, str], credentials: grpc.ChannelCredentials | None = None, *,
                  per_service: int = 4, options: tuple[tuple[str, object], ...] = ()) -> Channels:
    """`per_service` channels to each service's address (secure ones when `credentials` are given)."""
    channel_options = [("grpc.use_local_subchannel_pool", 1),
                       ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                       ("grpc.max_send_message_length", 64 * 1024 * 1024), *options]
    services = {}
    for name in SERVICES:
        channels = [grpc.aio.secure_channel(addresses[name], credentials, options=channel_options) if credentials
                    else grpc.aio.insecure_channel(addresses[name], options=channel_options)
                    for _ in range(per_service)]
        services[name] = _Service(channels, [tuple(stub(c) for stub in _STUBS[name]) for c in channels],
                                  itertools.cycle(range(per_service)))
    return Channels(services, addresses, per_service)
