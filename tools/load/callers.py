"""Who each call is made as. Straight to the services nobody needs to say; through a gateway every
operation needs the caller the gateway expects of it: a person's session for their own calls, a
checkpoint's for a scan, a carrier feed's for stays, an operator's to follow recomputation.

Through a gateway the harness connects with one client certificate (a province system's, e.g.
`.data/gateway/clients/national-platform.pem`) and relays on it session tokens it mints with the
gateway's session keys (HEALTHCODE_GATEWAY_SESSION_KEYS, or `healthcode up`'s development keys),
as a province's app backend relays its users' sessions.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.credentials import SessionKeys
from gateway.principals import NATIONAL, CallerKind, Principal
from services.areas import province_code_of
from tools.load.client import with_development_secrets
from services.runtime.settings import Env

Metadata = tuple[tuple[str, str], ...]
_LIFETIME = 24 * 3600


class Callers:
    """Straight to the services: every call as itself."""

    def person(self, person_id: str, province: str) -> Metadata:
        return ()

    def checkpoint(self, checkpoint_id: str, area_code: str) -> Metadata:
        return ()

    def checkpoint_id(self, name: str, area_code: str) -> str:
        """The id a checkpoint verifies under: its name, straight to the services."""
        return name

    def declarer(self) -> tuple[Metadata, str]:
        """Who declares the run's risk area, and the authority the declaration names."""
        return (), "load-harness"

    def carrier(self) -> Metadata:
        return ()

    def health_authority(self, authority: str) -> Metadata:
        return ()

    def operator(self) -> Metadata:
        return ()


class GatewayCallers(Callers):
    """Session tokens, minted once per caller and relayed in `authorization` metadata."""

    def __init__(self, keys: SessionKeys) -> None:
        self._keys = keys
        self._minted: dict[Principal, Metadata] = {}

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GatewayCallers:
        env = Env(with_development_secrets(environ, "GATEWAY_SESSION_KEYS"))
        keys = env.secret_keyring("GATEWAY_SESSION_KEYS")
        env.check()
        return cls(SessionKeys(keys))

    def _as(self, principal: Principal) -> Metadata:
        metadata = self._minted.get(principal)
        if metadata is None:
            token = self._keys.mint(principal, _LIFETIME)
            metadata = self._minted[principal] = (("authorization", f"Bearer {token}"),)
        return metadata

    def person(self, person_id: str, province: str) -> Metadata:
        return self._as(Principal(CallerKind.PERSON, person_id, province))

    def checkpoint(self, checkpoint_id: str, area_code: str) -> Metadata:
        return self._as(Principal(CallerKind.CHECKPOINT, checkpoint_id, province_code_of(area_code)))

    def checkpoint_id(self, name: str, area_code: str) -> str:
        """Through a gateway: the province-qualified id it gives the checkpoint (`420000.load-gate-07`)."""
        return Principal(CallerKind.CHECKPOINT, name, province_code_of(area_code)).acting_id

    def declarer(self) -> tuple[Metadata, str]:
        """A national operator, under its own (qualified) id: the gateway takes no other authority."""
        operator = Principal(CallerKind.OPERATOR, "load-operator", NATIONAL)
        return self._as(operator), operator.acting_id

    def carrier(self) -> Metadata:
        return self._as(Principal(CallerKind.FEED, "load-carrier", NATIONAL, frozenset({"STAYS"})))

    def health_authority(self, authority: str) -> Metadata:
        return self._as(Principal(CallerKind.FEED, authority, NATIONAL, frozenset({"DIAGNOSIS"})))

    def operator(self) -> Metadata:
        return self._as(Principal(CallerKind.OPERATOR, "load-operator", NATIONAL))
