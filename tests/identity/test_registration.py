"""RegisterPerson, lookups and masking, over gRPC against a real database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import grpc
import pytest
from google.type import date_pb2
from stdnum.cn import ric

from healthcode.identity.v1 import identity_pb2 as pb
from tests.support import error_details, id_card, id_card_number, passport, years_from


async def register(env, name="张小三", document=None, **fields):
    return await env.persons.RegisterPerson(pb.RegisterPersonRequest(name=name, document=document or id_card(),
                                                                     **fields))


async def test_registering_returns_a_masked_person(identity_env):
    document = pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number=id_card_number(date(1990, 5, 17)))

    response = await register(identity_env, "张小三", document)

    person = response.person
    assert response.created
    assert uuid.UUID(person.person_id)
    assert person.masked_name == "张*三"
    assert person.masked_document_number == document.number[:6] + "********" + document.number[-4:]
    assert person.document_kind == pb.DOCUMENT_KIND_RESIDENT_ID_CARD
    assert person.document_country_code == "CHN"
    assert person.home_province_code == "110000"
    assert not person.HasField("face_check_time")


async def test_registering_the_same_document_again_returns_the_same_person(identity_env):
    document = id_card()
    first = await register(identity_env, "李四", document)

    # The same document spelled another way (lower-case x, spaces) is the same document.
    respelled = pb.Document(kind=document.kind, number=" ".join(document.number).lower())
    second = await register(identity_env, "李四", respelled)

    assert second.person.person_id == first.person.person_id
    assert not second.created


async def test_a_different_name_for_a_registered_document_is_refused(identity_env):
    document = id_card()
    await register(identity_env, "王五", document)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(identity_env, "王六", document)

    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_details(refused.value)[0] == "DOCUMENT_NAME_CONFLICT"


def _with_check(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


@pytest.mark.parametrize(("document", "reason", "field"), [
    (pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number="11010519491231002"), "DOCUMENT_NUMBER_FORMAT",
     "document.number"),
    (pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number="110105194912310021"), "DOCUMENT_CHECKSUM",
     "document.number"),
    (pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number=_with_check("11010519490230002")),
     "DOCUMENT_BIRTH_DATE", "document.number"),
    (pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number=_with_check("99010519491231002")),
     "DOCUMENT_REGION", "document.number"),
    (pb.Document(kind=pb.DOCUMENT_KIND_PASSPORT, number="E12345678", country_code="XYZ"), "DOCUMENT_COUNTRY",
     "document.country_code"),
    (pb.Document(kind=pb.DOCUMENT_KIND_PASSPORT, number="E12345678"), "DOCUMENT_COUNTRY", "document.country_code"),
    (pb.Document(kind=pb.DOCUMENT_KIND_HK_MACAO_PERMIT, number="X12345678"), "DOCUMENT_NUMBER_FORMAT",
     "document.number"),
    (pb.Document(kind=pb.DOCUMENT_KIND_TAIWAN_PERMIT, number="1234"), "DOCUMENT_NUMBER_FORMAT", "document.number"),
    (pb.Document(kind=pb.DOCUMENT_KIND_FOREIGN_PERMANENT_RESIDENT_ID, number="912345678901234567"),
     "DOCUMENT_CHECKSUM", "document.number"),
    (pb.Document(kind=pb.DOCUMENT_KIND_UNSPECIFIED, number="11010519491231002X"), "DOCUMENT_KIND",
     "document.kind"),
])
async def test_an_invalid_document_is_refused_naming_the_field(identity_env, document, reason, field):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(identity_env, "赵六", document)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(refused.value) == (reason, [field])
    assert document.number not in refused.value.details()


async def test_an_invalid_name_is_refused_naming_the_field(identity_env):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(identity_env, "   ", id_card())

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(refused.value) == ("NAME_INVALID", ["name"])


async def test_a_passport_needs_a_home_province(identity_env):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(identity_env, "JOHN SMITH", passport())

    assert error_details(refused.value) == ("PROVINCE_CODE_REQUIRED", ["home_province_code"])


async def test_a_foreign_passport_registers_with_a_province_and_birth_date(identity_env):
    response = await register(identity_env, "JOHN SMITH", passport("GB"), home_province_code="310000",
                              birth_date=date_pb2.Date(year=1980, month=2, day=29))

    assert response.person.masked_name == "J*** S****"
    assert response.person.document_country_code == "GBR"
    assert response.person.home_province_code == "310000"


async def test_a_birth_date_that_contradicts_the_id_card_is_refused(identity_env):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(identity_env, "钱七", id_card(date(1990, 1, 1)),
                       birth_date=date_pb2.Date(year=1991, month=1, day=1))

    assert error_details(refused.value) == ("BIRTH_DATE_MISMATCH", ["birth_date"])


async def test_an_unknown_home_province_is_refused(identity_env):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(identity_env, "孙八", id_card(), home_province_code="990000")

    assert error_details(refused.value) == ("PROVINCE_CODE_INVALID", ["home_province_code"])


async def test_a_person_is_found_by_id_and_by_document(identity_env):
    document = id_card()
    registered = (await register(identity_env, "周九", document)).person

    by_id = await identity_env.persons.GetPerson(pb.GetPersonRequest(person_id=registered.person_id))
    by_document = await identity_env.persons.LookupPersonByDocument(
        pb.LookupPersonByDocumentRequest(document=document))

    assert by_id.person == registered
    assert by_document.person == registered


async def test_an_unknown_person_is_not_found(identity_env):
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await identity_env.persons.GetPerson(pb.GetPersonRequest(person_id=str(uuid.uuid4())))

    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_details(missing.value)[0] == "PERSON_NOT_FOUND"


async def test_an_unregistered_document_is_not_found(identity_env):
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await identity_env.persons.LookupPersonByDocument(pb.LookupPersonByDocumentRequest(document=id_card()))

    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_malformed_person_id_is_an_invalid_argument(identity_env):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await identity_env.persons.GetPerson(pb.GetPersonRequest(person_id="1; DROP TABLE persons"))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(refused.value) == ("PERSON_ID_INVALID", ["person_id"])


async def test_batch_get_returns_the_found_and_lists_the_missing(identity_env):
    a = (await register(identity_env, "吴十", id_card())).person
    b = (await register(identity_env, "郑一", id_card())).person
    unknown = str(uuid.uuid4())

    response = await identity_env.persons.BatchGetPersons(
        pb.BatchGetPersonsRequest(person_ids=[a.person_id, unknown, b.person_id, a.person_id]))

    assert sorted(p.person_id for p in response.persons) == sorted([a.person_id, b.person_id])
    assert list(response.missing_person_ids) == [unknown]


async def test_batch_get_refuses_more_than_a_thousand_ids(identity_env):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await identity_env.persons.BatchGetPersons(
            pb.BatchGetPersonsRequest(person_ids=[str(uuid.uuid4()) for _ in range(1001)]))

    assert error_details(refused.value) == ("BATCH_TOO_LARGE", ["person_ids"])


async def test_a_birth_date_in_the_future_is_refused(identity_env, clock):
    next_year = years_from(clock.now().date(), 1)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(identity_env, "JANE DOE", passport(), home_province_code="440000",
                       birth_date=date_pb2.Date(year=next_year.year, month=next_year.month, day=next_year.day))

    assert error_details(refused.value) == ("BIRTH_DATE_INVALID", ["birth_date"])


async def test_an_id_number_from_a_county_created_after_the_birth_registers(identity_env):
    # 蔡甸区 (420114) was created in 1992; its people born in 1985 carry its code.
    number = id_card_number(date(1985, 4, 12), region="420114")
    assert not ric.is_valid(number)

    response = await register(identity_env, "蔡小明", pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD,
                                                                  number=number))

    assert (response.created, response.person.home_province_code) == (True, "420000")


async def test_an_id_number_from_a_county_that_never_existed_is_refused(identity_env):
    number = id_card_number(date(1985, 4, 12), region="420199")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(identity_env, "蔡小明", pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number=number))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(refused.value) == ("DOCUMENT_REGION", ["document.number"])


async def test_the_holder_reclaims_a_false_name_once_however_many_ask_at_once(identity_env, clock):
    document = id_card()
    squatted = (await register(identity_env, "假名字", document)).person

    answers = await asyncio.gather(*(identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name="真名字", document=document, face_attestation=identity_env.provider.attest(document, clock.now())))
        for _ in range(4)))
    corrections = await identity_env.persons.ListCorrections(pb.ListCorrectionsRequest(person_id=squatted.person_id))

    assert {a.person.person_id for a in answers} == {squatted.person_id}
    assert [a.reclaimed for a in answers].count(True) == 1
    assert {a.person.masked_name for a in answers} == {"真*字"}
    assert [(c.kind, c.actor) for c in corrections.corrections] == [("RECLAIM", "holder")]


async def test_a_different_name_without_a_face_check_still_conflicts(identity_env):
    document = id_card()
    await register(identity_env, "真名字", document)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(identity_env, "假名字", document)

    assert error_details(refused.value)[0] == "DOCUMENT_NAME_CONFLICT"
