"""What authorisation asks identity (home provinces, acting rights), batched and briefly cached."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc

from gateway.caching import RecentMap

# A home province changes rarely (a move is re-registration). A link can be removed at any time, by
# the holder, the dependent, another guardian or an operator, on any replica: an acting right is
# asked of identity every time (a primary-key read), never remembered.
_PROVINCE_SECONDS = 600.0
_MAX_ENTRIES = 200_000
_BATCH = 1000  # BatchGetPersons' limit


class PersonDirectory:
    def __init__(self, identity: identity_pb2_grpc.IdentityServiceStub) -> None:
        self._identity = identity
        self._provinces = RecentMap(_MAX_ENTRIES, _PROVINCE_SECONDS)

    async def home_provinces(self, person_ids: Iterable[str]) -> Mapping[str, str]:
        """Home province by person id; unknown ids are absent. One identity call per 1000 misses."""
        found: dict[str, str] = {}
        missing = []
        for person_id in person_ids:
            province = self._provinces.get(person_id)
            if province is None:
                missing.append(person_id)
            else:
                found[person_id] = province
        for start in range(0, len(missing), _BATCH):
            response = await self._identity.BatchGetPersons(
                identity_pb2.BatchGetPersonsRequest(person_ids=missing[start:start + _BATCH]))
            for person in response.persons:
                self._provinces.put(person.person_id, person.home_province_code)
                found[person.person_id] = person.home_province_code
        return found

    async def may_act_for(self, actor_person_id: str, subject_person_id: str) -> bool:
        response = await self._identity.CheckActingRight(identity_pb2.CheckActingRightRequest(
            actor_person_id=actor_person_id, subject_person_id=subject_person_id))
        return response.allowed


class SessionStanding:
    """Whether a person's session is still live, asked of identity on every call that names one:
    a revocation (logout, revoke-all) takes effect at once on every replica. Only the revoked
    answer is remembered (a session never comes back), so there is no stale "live"."""

    def __init__(self, identity: identity_pb2_grpc.IdentityServiceStub) -> None:
        self._identity = identity
        self._revoked: RecentMap[str, bool] = RecentMap(_MAX_ENTRIES)

    async def is_live(self, session_id: str, person_id: str) -> bool:
        if self._revoked.get(session_id):
            return False
        response = await self._identity.CheckSession(identity_pb2.CheckSessionRequest(
            session_id=session_id, person_id=person_id))
        if not response.live:
            self._revoked.put(session_id, True)
        return response.live
