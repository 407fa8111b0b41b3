"""Personal data: never in clear in the database, never unmasked in a response, never in a log line."""

from __future__ import annotations

from datetime import date

from google.protobuf import text_format

from healthcode.identity.v1 import identity_pb2 as pb
from tests.support import id_card

NAME = "欧阳明月"


async def _every_response(env, clock, document):
    """Calls every RPC that returns a person, so each response kind can be inspected."""
    registered = await env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name=NAME, document=document, face_attestation=env.provider.attest(document, clock.now())))
    person_id = registered.person.person_id
    holder_document = id_card(date(1970, 1, 1))
    holder = await env.persons.RegisterPerson(pb.RegisterPersonRequest(name="欧阳父", document=holder_document))
    responses = [
        registered,
        holder,
        await env.persons.GetPerson(pb.GetPersonRequest(person_id=person_id)),
        await env.persons.LookupPersonByDocument(pb.LookupPersonByDocumentRequest(document=document)),
        await env.persons.BatchGetPersons(pb.BatchGetPersonsRequest(person_ids=[person_id])),
        await env.persons.RecordFaceCheck(pb.RecordFaceCheckRequest(
            person_id=person_id, face_attestation=env.provider.attest(document, clock.now()))),
        await env.persons.LinkDependent(pb.LinkDependentRequest(
            holder_person_id=holder.person.person_id, dependent_person_id=person_id,
            relation=pb.RELATION_CHILD, dependent_face_attestation=env.provider.attest(document, clock.now()))),
        await env.persons.ListDependents(pb.ListDependentsRequest(holder_person_id=holder.person.person_id)),
        await env.persons.UnlinkDependent(pb.UnlinkDependentRequest(
            holder_person_id=holder.person.person_id, dependent_person_id=person_id)),
    ]
    return person_id, responses


async def test_no_response_carries_the_document_number_or_the_name(identity_env, clock):
    document = id_card(date(1988, 8, 8))

    _, responses = await _every_response(identity_env, clock, document)

    for response in responses:
        text = text_format.MessageToString(response, as_utf8=True)
        assert document.number not in text
        assert document.number[6:14] not in text  # the birth date digits are masked too
        assert NAME not in text


async def test_the_database_holds_neither_the_number_nor_the_name_in_clear(identity_env, clock, db):
    document = id_card(date(1977, 7, 7))
    person_id, _ = await _every_response(identity_env, clock, document)

    # Every column of every row of every identity table, as text.
    dump = await db.fetchval("""
        SELECT string_agg(t::text, E'\\n') FROM (
            SELECT row_to_json(p)::text AS t FROM identity.persons p
            UNION ALL SELECT row_to_json(l)::text FROM identity.dependent_links l
            UNION ALL SELECT row_to_json(n)::text FROM identity.face_check_nonces n
            UNION ALL SELECT row_to_json(k)::text FROM identity.face_provider_keys k) rows""")
    raw_bytes = await db.fetchval(
        "SELECT string_agg(encode(sealed_record, 'escape') || encode(document_lookup, 'escape'), '') "
        "FROM identity.persons")

    assert person_id in dump  # the dump does contain the rows
    assert document.number not in dump
    assert document.number[6:14] not in dump
    assert NAME not in dump
    assert document.number not in raw_bytes


async def test_log_lines_carry_no_personal_data(identity_env, clock, capsys):
    document = id_card(date(1966, 6, 6))
    await _every_response(identity_env, clock, document)
    # A refused call logs its reason; its message must not echo the input either.
    try:
        await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="别名", document=document))
    except Exception:  # noqa: BLE001 - the refusal is expected; the logs are under test
        pass

    captured = capsys.readouterr()
    logs = captured.out + captured.err
    assert "rpc_refused" in logs
    assert document.number not in logs
    assert NAME not in logs
