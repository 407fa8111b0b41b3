"""The link rules and province resolution, without I/O."""

from __future__ import annotations

from datetime import date

import pytest

from services.identity.documents import DocumentKind, parse_document
from services.identity.model import (
    MAX_DEPENDENTS,
    LinkBasis,
    Relation,
    check_dependent_limit,
    decide_link_basis,
    resolve_home_province,
)
from services.runtime.errors import FailedPrecondition, InvalidArgument

TODAY = date(2026, 11, 22)


def test_a_face_check_is_consent_whatever_the_relation_or_age():
    assert decide_link_basis(Relation.OTHER, None, TODAY, True) is LinkBasis.DEPENDENT_FACE_CHECK


@pytest.mark.parametrize("relation", [Relation.PARENT, Relation.GUARDIAN])
def test_a_parent_or_guardian_the_register_attests_may_link_a_minor_without_a_face_check(relation):
    assert decide_link_basis(relation, date(2015, 1, 1), TODAY, False, relation) is LinkBasis.ATTESTED_GUARDIANSHIP


@pytest.mark.parametrize("relation", [Relation.PARENT, Relation.GUARDIAN])
def test_a_claimed_parent_or_guardian_of_a_minor_is_not_enough(relation):
    with pytest.raises(FailedPrecondition) as error:
        decide_link_basis(relation, date(2015, 1, 1), TODAY, False)
    assert error.value.reason == "DEPENDENT_CONSENT_REQUIRED"


@pytest.mark.parametrize(("asked", "attested", "born", "reason"), [
    (Relation.PARENT, Relation.GUARDIAN, date(2015, 1, 1), "RELATION_NOT_ATTESTED"),
    (Relation.PARENT, Relation.PARENT, date(1990, 1, 1), "DEPENDENT_NOT_A_MINOR"),
    (Relation.PARENT, Relation.PARENT, None, "DEPENDENT_NOT_A_MINOR"),  # age unknown: fail closed
])
def test_an_attestation_counts_only_for_the_relation_asked_and_a_minor(asked, attested, born, reason):
    with pytest.raises(FailedPrecondition) as error:
        decide_link_basis(asked, born, TODAY, False, attested)
    assert error.value.reason == reason


@pytest.mark.parametrize(("relation", "birth_date"), [
    (Relation.PARENT, date(1990, 1, 1)),      # an adult
    (Relation.PARENT, None),                  # age unknown: fail closed
    (Relation.SPOUSE, date(2015, 1, 1)),      # a minor, but not by a parent or guardian
])
def test_anything_else_needs_the_dependents_face_check(relation, birth_date):
    with pytest.raises(FailedPrecondition) as error:
        decide_link_basis(relation, birth_date, TODAY, False)

    assert error.value.reason == "DEPENDENT_CONSENT_REQUIRED"


def test_the_limit_allows_four_and_refuses_the_fifth():
    check_dependent_limit(MAX_DEPENDENTS - 1)

    with pytest.raises(FailedPrecondition) as error:
        check_dependent_limit(MAX_DEPENDENTS)

    assert error.value.reason == "DEPENDENT_LIMIT_REACHED"


@pytest.mark.parametrize(("kind", "number", "country", "province"), [
    (DocumentKind.RESIDENT_ID_CARD, "11010519491231002X", "", "110000"),
    (DocumentKind.HK_MACAO_PERMIT, "H12345678", "", "810000"),
    (DocumentKind.HK_MACAO_PERMIT, "M12345678", "", "820000"),
    (DocumentKind.TAIWAN_PERMIT, "12345678", "", "710000"),
])
def test_the_home_province_follows_from_the_document_when_not_given(kind, number, country, province):
    assert resolve_home_province(parse_document(kind, number, country), "") == province


def test_a_given_home_province_wins_over_the_document():
    document = parse_document(DocumentKind.RESIDENT_ID_CARD, "11010519491231002X")

    assert resolve_home_province(document, "420000") == "420000"


def test_a_city_code_is_not_a_home_province():
    document = parse_document(DocumentKind.RESIDENT_ID_CARD, "11010519491231002X")

    with pytest.raises(InvalidArgument) as error:
        resolve_home_province(document, "420600")

    assert error.value.reason == "PROVINCE_CODE_INVALID"
