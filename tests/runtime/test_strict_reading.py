"""The runtime's one reading of each kind of field, and the statuses of database failures, against
the real services (conftest's identity, itinerary, status) and a real Postgres."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import grpc
import pytest
from google.protobuf import timestamp_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2

from services import areas
from services.runtime.database import _reset_if_dirty
from services.runtime.grpc_errors import retryable_database_status
from tests.support.itinerary import ingest, stay
from tests.support.status import NATIONAL_ONLY, diagnosis, person_in, record
from tests.support import error_details, id_card, refused, register_persons


@pytest.mark.parametrize("code", ["420100\n", "42０１００", "４２０１００", "٤٢٠١٠٠", "42010", "4201000", ""])
def test_an_area_code_is_six_ascii_digits_and_nothing_else(code):
    assert not areas.is_area_code(code)
    assert not areas.is_province_code(code.replace("0100", "0000"))


async def test_a_time_out_of_range_is_invalid_argument_naming_its_field(identity_env):
    for seconds, nanos in ((2**62, 0), (-(2**40), 0), (1_700_000_000, -1), (253402300800, 0)):
        error = await refused(identity_env.admin.RegisterFaceProviderKey(identity_pb2.RegisterFaceProviderKeyRequest(
            provider_id="p-range", key_id="k1", public_key_der=identity_env.provider.public_key_der,
            valid_from_time=timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos))))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_details(error) == ("TIME_OUT_OF_RANGE", ["valid_from_time"])


async def test_nul_and_overlong_text_are_refused_with_their_field_before_any_sql(identity_env):
    error = await refused(identity_env.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="张\x00三", document=id_card())))
    assert (error.code(), error_details(error)) == (grpc.StatusCode.INVALID_ARGUMENT, ("TEXT_INVALID", ["name"]))
    error = await refused(identity_env.persons.BatchGetPersons(identity_pb2.BatchGetPersonsRequest(
        person_ids=[str(uuid.uuid4()), "9" * 5000])))
    assert error_details(error) == ("TEXT_TOO_LONG", ["person_ids[1]"])


@pytest.mark.parametrize("token", ["9" * 4000, "²", str(2**63), "-1", " 1", "1\n", "٣"])
async def test_a_page_token_is_decoded_or_refused(status_env, identity_env, token):
    person = await person_in(identity_env, NATIONAL_ONLY)
    error = await refused(status_env.stub.ListStatusChanges(status_pb2.ListStatusChangesRequest(
        person_id=person, page_token=token)))
    assert (error.code(), error_details(error)) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                    ("PAGE_TOKEN_INVALID", ["page_token"]))


@pytest.mark.parametrize("token", ["9|x", "2026-01-01T00:00:00|" + str(uuid.UUID(int=1)), "9" * 4000])
async def test_a_time_and_id_token_is_decoded_or_refused(status_env, token):
    error = await refused(status_env.admin.ListRecomputeRuns(status_pb2.ListRecomputeRunsRequest(page_token=token)))
    assert error_details(error) == ("PAGE_TOKEN_INVALID", ["page_token"])


async def test_a_carrier_row_with_a_time_out_of_range_is_a_rejected_row_and_the_others_are_stored(
        identity_env, itinerary_env, clock):
    person, = await register_persons(identity_env.persons, 1)
    good = stay(person, "420106", clock=clock)
    early = stay(person, "420106", clock=clock)
    early.arrival_time.seconds = -(2**40)
    late = stay(person, "420106", clock=clock)
    late.departure_time.seconds = 2**62
    answer = await ingest(itinerary_env, [early, good, late])
    assert (answer.received, answer.stored, answer.rejected) == (3, 1, 2)
    assert [(r.row, r.field, r.reason) for r in answer.rejected_stays] == [
        (0, "arrival_time", "ARRIVAL_TIME_OUT_OF_RANGE"), (2, "departure_time", "DEPARTURE_TIME_OUT_OF_RANGE")]


async def test_a_fact_with_a_time_out_of_range_is_rejected_alone(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    bad = diagnosis(person, status_pb2.DIAGNOSIS_CONFIRMED, clock.now() - timedelta(hours=1))
    bad.effective_time.seconds = 2**62
    good = diagnosis(person, status_pb2.DIAGNOSIS_CONFIRMED, clock.now() - timedelta(hours=1))
    answer = await record(status_env, bad, good)
    assert [(o.rejection_reason, o.rejection_field) for o in answer.outcomes] == [
        ("TIME_OUT_OF_RANGE", "facts[0].effective_time"), ("", "")]
    assert answer.stored_count == 1


async def test_a_declared_stay_out_of_range_names_its_field(itinerary_env, identity_env):
    person, = await register_persons(identity_env.persons, 1)
    error = await refused(itinerary_env.stub.DeclareItinerary(itinerary_pb2.DeclareItineraryRequest(
        person_id=person, stays=[itinerary_pb2.DeclaredStay(
            area_code="420106", arrival_time=timestamp_pb2.Timestamp(seconds=-(2**40)),
            departure_time=timestamp_pb2.Timestamp(seconds=1_700_000_000))])))
    assert error_details(error) == ("TIME_OUT_OF_RANGE", ["stays[0].arrival_time"])


@pytest.mark.parametrize("error", [
    FileNotFoundError(2, "No such file or directory"),  # the Unix socket of a Postgres that is down
    ConnectionRefusedError(), asyncpg.exceptions.InternalClientError("got result for unknown protocol state 3"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
])
def test_database_errors_that_mean_try_again_are_unavailable(error):
    assert retryable_database_status(error, "test").code == grpc.StatusCode.UNAVAILABLE


def test_a_failed_rollback_does_not_hide_the_serialisation_failure_before_it():
    try:
        try:
            raise asyncpg.exceptions.SerializationError("could not serialize access")
        except asyncpg.exceptions.SerializationError:
            raise asyncpg.exceptions.InterfaceError("cannot rollback: the connection is closed")  # noqa: B904
    except asyncpg.exceptions.InterfaceError as raised:
        assert retryable_database_status(raised, "test").code == grpc.StatusCode.ABORTED


async def test_releasing_a_connection_whose_rollback_fails_drops_it_without_raising(database_url):
    connection = await asyncpg.connect(database_url)
    admin = await asyncpg.connect(database_url)
    try:
        transaction = connection.transaction()
        await transaction.start()
        await admin.execute("SELECT pg_terminate_backend($1)", connection.get_server_pid())
        await _reset_if_dirty(connection)  # would raise ConnectionDoesNotExistError from its ROLLBACK
        assert connection.is_closed()
    finally:
        await admin.close()
        connection.terminate()
