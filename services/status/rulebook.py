"""The rule sets in force: every published version, parsed once and kept in memory."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime

from services.runtime.errors import FailedPrecondition, InvalidArgument
from services.status.repository import StatusRepository, StoredRuleSet
from services.status.rules import NATIONAL, RuleSet, parse_rule_set, shipped_rule_sets

# Shipped rule sets are in force from before the first code was ever issued.
SHIPPED_EFFECTIVE_TIME = datetime(2020, 1, 1, tzinfo=UTC)


class RuleBook:
    def __init__(self, repository: StatusRepository) -> None:
        self._repository = repository
        self._by_province: dict[str, list[RuleSet]] = {}
        # Each province's effective times, in the order of its versions: `in_force` bisects them
        # (it runs once per person decided).
        self._effective: dict[str, list[datetime]] = {}

    async def seed_shipped(self, now: datetime) -> None:
        """Stores each shipped rule set as version 1 where its province has none (idempotent)."""
        for province_code, document in shipped_rule_sets():
            parse_rule_set(province_code, 1, SHIPPED_EFFECTIVE_TIME, document)
            await self._repository.insert_rule_set(province_code, SHIPPED_EFFECTIVE_TIME, document, now,
                                                   only_if_none=True)

    async def reload(self) -> None:
        by_province: dict[str, list[RuleSet]] = {}
        for stored in await self._repository.rule_sets():
            by_province.setdefault(stored.province_code, []).append(
                parse_rule_set(stored.province_code, stored.version, stored.effective_time, stored.document))
        for versions in by_province.values():
            versions.sort(key=lambda rules: rules.effective_time)
        self._by_province = by_province
        self._effective = {code: [rules.effective_time for rules in versions] for code, versions in by_province.items()}

    def in_force(self, province_code: str, at: datetime) -> RuleSet:
        """The province's latest version in force at `at`, else the national default's."""
        for code in (province_code, NATIONAL):
            index = bisect_right(self._effective.get(code, ()), at)
            if index:
                return self._by_province[code][index - 1]
        raise FailedPrecondition(reason="NO_RULE_SET", message="no national default rule set is in force")

    def name(self, province_code: str, version: int) -> str:
        """The name a version was published with; empty for one this replica has not read yet."""
        return next((rules.name for rules in self._by_province.get(province_code, ()) if rules.version == version),
                    "")

    async def publish(self, province_code: str, effective_time: datetime, document: str, now: datetime
                      ) -> StoredRuleSet:
        if effective_time < now:
            # A past decision must stay explainable by the version that made it.
            raise InvalidArgument.for_field("effective_time", "must not be in the past",
                                            reason="EFFECTIVE_TIME_IN_PAST")
        parse_rule_set(province_code, 1, effective_time, document)
        stored = await self._repository.insert_rule_set(province_code, effective_time, document, now)
        if stored is None:
            raise InvalidArgument.for_field("effective_time", "another version takes effect at this time",
                                            reason="EFFECTIVE_TIME_TAKEN")
        await self.reload()
        return stored

    async def versions(self, province_code: str) -> list[StoredRuleSet]:
        return sorted((s for s in await self._repository.rule_sets() if s.province_code == province_code),
                      key=lambda s: s.version, reverse=True)
