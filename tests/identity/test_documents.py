"""Specification of identity documents, names and ages as the domain understands them."""

from datetime import date, timedelta

import pytest
from stdnum.cn import ric
from stdnum.iso7064 import mod_11_2

from services.identity.documents import (
    MINOR_AGE,
    Document,
    DocumentKind,
    age_on,
    is_minor,
    mask_name,
    normalise_name,
    parse_document,
)
from services.runtime.errors import InvalidArgument

TODAY = date(2025, 6, 1)
ID = DocumentKind.RESIDENT_ID_CARD
PASSPORT = DocumentKind.PASSPORT
HK_MACAO = DocumentKind.HK_MACAO_PERMIT
TAIWAN = DocumentKind.TAIWAN_PERMIT
FOREIGNER = DocumentKind.FOREIGN_PERMANENT_RESIDENT_ID

KNOWN_ID = "11010519491231002X"


def id_card(first17: str) -> str:
    """A resident ID card number with a correct check character."""
    return first17 + ric.calc_check_digit(first17 + "0")


def foreigner_2023(first17: str) -> str:
    return first17 + mod_11_2.calc_check_digit(first17)


def wrong_check(number: str, right: str) -> str:
    return number[:-1] + ("0" if right != "0" else "1")


VALID_ID = id_card("44030419900307123")            # Shenzhen Futian, 1990-03-07
FRENCH_2023 = foreigner_2023("91125019850315001")  # Beijing, France (250), 1985-03-15
USA_2004 = "USA310803150012"                       # Shanghai, (19)80-03-15


def parse(kind, number, country_code=""):
    return parse_document(kind, number, country_code, today=TODAY)


def rejection(kind, number, country_code="") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        parse(kind, number, country_code)
    return caught.value


def field_of(error: InvalidArgument) -> str:
    return error.violations[0].field


# --- resident ID card ---------------------------------------------------------

def test_known_id_card_ending_in_x_is_valid():
    doc = parse(ID, KNOWN_ID)
    assert doc == Document(ID, KNOWN_ID, "CHN", date(1949, 12, 31))


@pytest.mark.parametrize("spelling", [
    "11010519491231002x",
    " 110105 19491231 002X ",
    "110105-19491231-002X",
    "１１０１０５１９４９１２３１００２Ｘ",
    "110105\u300019491231\uff0d002x",
])
def test_id_card_spellings_normalise_to_the_same_number(spelling):
    assert parse(ID, spelling).number == KNOWN_ID


def test_id_card_gives_birth_date_region_and_china():
    doc = parse(ID, VALID_ID)
    assert (doc.birth_date, doc.region_code(), doc.country_code) == (
        date(1990, 3, 7), "440304", "CHN")


@pytest.mark.parametrize("country_code", ["", "CHN", "chn", "CN"])
def test_id_card_accepts_china_or_no_country(country_code):
    assert parse(ID, KNOWN_ID, country_code).country_code == "CHN"


def test_id_card_refuses_another_country():
    error = rejection(ID, KNOWN_ID, "USA")
    assert (error.reason, field_of(error)) == ("DOCUMENT_COUNTRY", "document.country_code")


@pytest.mark.parametrize("number", [KNOWN_ID[:-1], KNOWN_ID + "1", "1101051949123"])
def test_id_card_of_wrong_length_is_a_format_error(number):
    error = rejection(ID, number)
    assert (error.reason, field_of(error)) == ("DOCUMENT_NUMBER_FORMAT", "document.number")


@pytest.mark.parametrize("number", ["1101051949A231002X", "11010519491231002Y"])
def test_id_card_with_letters_is_a_format_error(number):
    error = rejection(ID, number)
    assert (error.reason, field_of(error)) == ("DOCUMENT_NUMBER_FORMAT", "document.number")


def test_id_card_with_bad_check_character_is_a_checksum_error():
    error = rejection(ID, wrong_check(VALID_ID, VALID_ID[-1]))
    assert (error.reason, field_of(error)) == ("DOCUMENT_CHECKSUM", "document.number")


@pytest.mark.parametrize("first17", ["11010519900230001", "11010519901301001", "11010519890229001"])
def test_id_card_with_impossible_date_is_a_birth_date_error(first17):
    error = rejection(ID, id_card(first17))
    assert (error.reason, field_of(error)) == ("DOCUMENT_BIRTH_DATE", "document.number")


def test_id_card_born_in_the_future_is_a_birth_date_error():
    tomorrow = TODAY + timedelta(days=1)
    error = rejection(ID, id_card(f"110105{tomorrow:%Y%m%d}001"))
    assert (error.reason, field_of(error)) == ("DOCUMENT_BIRTH_DATE", "document.number")


def test_future_birth_date_is_judged_against_the_real_day_by_default():
    number = id_card(f"110105{date.today().year + 1}0101001")
    with pytest.raises(InvalidArgument) as caught:
        parse_document(ID, number)
    assert caught.value.reason == "DOCUMENT_BIRTH_DATE"


@pytest.mark.parametrize("region", ["999999", "110199", "990105"])
def test_id_card_with_unknown_region_is_a_region_error(region):
    error = rejection(ID, id_card(f"{region}19900307001"))
    assert (error.reason, field_of(error)) == ("DOCUMENT_REGION", "document.number")


# (region, birth date): codes assigned after the holder's birth, or abolished before it —
# a number keeps the code of the county that assigned it, whenever that was.
@pytest.mark.parametrize(("region", "born"), [
    ("420114", "19850412"),  # 蔡甸区, created 1992, numbers issued to people born before
    ("110118", "19700101"),  # 密云区, 2015
    ("110103", "20150101"),  # 崇文区, merged into 东城区 in 2010; old numbers remain
    ("420203", "19600101"),  # 石灰窑区 1983-2000, then 西塞山区
    ("810000", "19900101"),  # 香港特别行政区, listed from 1997
])
def test_id_card_accepts_a_county_code_that_existed_at_any_time(region, born):
    number = id_card(f"{region}{born}001")
    doc = parse_document(ID, number, today=TODAY)
    # stdnum's own check wants the county to have existed in the birth year, and refuses each.
    assert (doc.region_code(), ric.is_valid(number)) == (region, False)


def test_id_card_still_checks_check_character_and_date_on_an_old_county():
    with pytest.raises(InvalidArgument) as caught:
        number = id_card("42011419850412001")
        parse_document(ID, wrong_check(number, number[-1]), today=TODAY)
    assert caught.value.reason == "DOCUMENT_CHECKSUM"
    with pytest.raises(InvalidArgument) as caught:
        parse_document(ID, id_card("42011419850230001"), today=TODAY)
    assert caught.value.reason == "DOCUMENT_BIRTH_DATE"


# --- passport -----------------------------------------------------------------

@pytest.mark.parametrize("number", ["E1234567", "k-123 456", "12345", "AB1234567890CDEFG"])
def test_passport_of_letters_and_digits_is_valid(number):
    assert parse(PASSPORT, number, "DEU").kind is PASSPORT


def test_passport_keeps_its_country_and_has_no_birth_date():
    doc = parse(PASSPORT, "c01x00t47", "deu")
    assert (doc.number, doc.country_code, doc.birth_date, doc.region_code()) == (
        "C01X00T47", "DEU", None, None)


def test_passport_alpha_2_country_is_converted_to_alpha_3():
    assert parse(PASSPORT, "123456789", "gb").country_code == "GBR"


@pytest.mark.parametrize("country_code", ["", "   "])
def test_passport_without_country_is_refused(country_code):
    error = rejection(PASSPORT, "123456789", country_code)
    assert (error.reason, field_of(error)) == ("DOCUMENT_COUNTRY", "document.country_code")


@pytest.mark.parametrize("country_code", ["XXX", "ZZ", "GERMANY", "D", "1"])
def test_passport_with_unknown_country_is_refused(country_code):
    error = rejection(PASSPORT, "123456789", country_code)
    assert (error.reason, field_of(error)) == ("DOCUMENT_COUNTRY", "document.country_code")


@pytest.mark.parametrize("number", ["1234", "ABCDEFGH", "A" * 17 + "1", "E123456_7", "E1234567É"])
def test_passport_of_bad_shape_is_a_format_error(number):
    error = rejection(PASSPORT, number, "FRA")
    assert (error.reason, field_of(error)) == ("DOCUMENT_NUMBER_FORMAT", "document.number")


# --- Hong Kong / Macao and Taiwan permits ---------------------------------------

@pytest.mark.parametrize(("number", "country"), [
    ("H12345678", "HKG"), ("h1234567890", "HKG"), ("M12345678", "MAC"), ("M 1234 5678 90", "MAC"),
])
def test_hk_macao_permit_country_comes_from_its_prefix(number, country):
    assert parse(HK_MACAO, number).country_code == country


@pytest.mark.parametrize(("number", "country_code"), [("H12345678", "HK"), ("M12345678", "MAC")])
def test_hk_macao_permit_accepts_an_agreeing_country(number, country_code):
    assert parse(HK_MACAO, number, country_code).number == number


@pytest.mark.parametrize(("number", "country_code"), [("H12345678", "MAC"), ("M12345678", "HKG"),
                                                      ("H12345678", "CHN")])
def test_hk_macao_permit_refuses_a_disagreeing_country(number, country_code):
    error = rejection(HK_MACAO, number, country_code)
    assert (error.reason, field_of(error)) == ("DOCUMENT_COUNTRY", "document.country_code")


@pytest.mark.parametrize("number", ["C12345678", "H1234567", "H123456789", "H12345678901",
                                    "12345678"])
def test_hk_macao_permit_of_bad_shape_is_a_format_error(number):
    assert rejection(HK_MACAO, number).reason == "DOCUMENT_NUMBER_FORMAT"


@pytest.mark.parametrize(("number", "normal"), [
    ("12345678", "12345678"), ("1234567890", "1234567890"), ("1234567890b", "1234567890B"),
    ("１２３４５６７８", "12345678"),
])
def test_taiwan_permit_formats_are_valid(number, normal):
    doc = parse(TAIWAN, number)
    assert (doc.country_code, doc.number) == ("TWN", normal)


def test_taiwan_permit_refuses_another_country():
    assert rejection(TAIWAN, "12345678", "CHN").reason == "DOCUMENT_COUNTRY"


@pytest.mark.parametrize("number", ["1234567", "123456789", "1234567890AB", "A1234567",
                                    "12345678X"])
def test_taiwan_permit_of_bad_shape_is_a_format_error(number):
    assert rejection(TAIWAN, number).reason == "DOCUMENT_NUMBER_FORMAT"


# --- foreigner permanent resident ID ----------------------------------------------

def test_foreigner_card_of_2023_gives_nationality_and_birth_date():
    doc = parse(FOREIGNER, FRENCH_2023)
    assert (doc.country_code, doc.birth_date, doc.region_code()) == ("FRA", date(1985, 3, 15), None)


def test_foreigner_card_of_2023_with_check_x_accepts_lower_case():
    number = next(n for n in (foreigner_2023(f"91125019850315{s:03}") for s in range(200))
                  if n.endswith("X"))
    assert parse(FOREIGNER, number.lower()).number == number


def test_foreigner_card_of_2023_accepts_an_agreeing_country():
    assert parse(FOREIGNER, FRENCH_2023, "FR").country_code == "FRA"


def test_foreigner_card_of_2023_refuses_a_disagreeing_country():
    error = rejection(FOREIGNER, FRENCH_2023, "DEU")
    assert (error.reason, field_of(error)) == ("DOCUMENT_COUNTRY", "document.country_code")


def test_foreigner_card_of_2023_with_bad_check_character_is_a_checksum_error():
    error = rejection(FOREIGNER, wrong_check(FRENCH_2023, FRENCH_2023[-1]))
    assert (error.reason, field_of(error)) == ("DOCUMENT_CHECKSUM", "document.number")


def test_foreigner_card_of_2023_with_unknown_nationality_is_a_country_error():
    error = rejection(FOREIGNER, foreigner_2023("91199919850315001"))
    assert (error.reason, field_of(error)) == ("DOCUMENT_COUNTRY", "document.number")


@pytest.mark.parametrize("province", ["10", "16", "24", "47", "55", "70", "83", "99"])
def test_foreigner_card_of_2023_with_unknown_province_is_a_region_error(province):
    error = rejection(FOREIGNER, foreigner_2023(f"9{province}25019850315001"))
    assert (error.reason, field_of(error)) == ("DOCUMENT_REGION", "document.number")


@pytest.mark.parametrize("birth", ["19850230", "19851301", "20250602", "20990101"])
def test_foreigner_card_of_2023_with_bad_birth_date_is_a_birth_date_error(birth):
    error = rejection(FOREIGNER, foreigner_2023(f"911250{birth}001"))
    assert (error.reason, field_of(error)) == ("DOCUMENT_BIRTH_DATE", "document.number")


def test_foreigner_card_of_2004_takes_nationality_from_its_letters():
    doc = parse(FOREIGNER, "usa-310803150012")
    assert (doc.number, doc.country_code, doc.birth_date) == (USA_2004, "USA", None)


@pytest.mark.parametrize("yymmdd", ["000229", "250601", "250602", "960229"])
def test_foreigner_card_of_2004_accepts_a_past_date_in_either_century(yymmdd):
    assert parse(FOREIGNER, f"GBR11{yymmdd}0015").country_code == "GBR"


def test_foreigner_card_of_2004_does_not_check_its_last_digit():
    assert parse(FOREIGNER, USA_2004[:-1] + "9").number == USA_2004[:-1] + "9"


def test_foreigner_card_of_2004_with_unknown_nationality_is_a_country_error():
    error = rejection(FOREIGNER, "XYZ310803150012")
    assert (error.reason, field_of(error)) == ("DOCUMENT_COUNTRY", "document.number")


def test_foreigner_card_of_2004_refuses_a_disagreeing_country():
    error = rejection(FOREIGNER, USA_2004, "CAN")
    assert (error.reason, field_of(error)) == ("DOCUMENT_COUNTRY", "document.country_code")


def test_foreigner_card_of_2004_with_unknown_province_is_a_region_error():
    assert rejection(FOREIGNER, "USA900803150012").reason == "DOCUMENT_REGION"


@pytest.mark.parametrize("yymmdd", ["800230", "801301", "970229", "800000"])
def test_foreigner_card_of_2004_with_bad_birth_date_is_a_birth_date_error(yymmdd):
    assert rejection(FOREIGNER, f"USA31{yymmdd}0012").reason == "DOCUMENT_BIRTH_DATE"


@pytest.mark.parametrize("number", ["812501985031500X", "9112501985031500", "US3108031500120",
                                    "USA3108031500", "USA31080315001A"])
def test_foreigner_card_of_neither_generation_is_a_format_error(number):
    assert rejection(FOREIGNER, number).reason == "DOCUMENT_NUMBER_FORMAT"


# --- every kind ---------------------------------------------------------------

@pytest.mark.parametrize("kind", list(DocumentKind))
@pytest.mark.parametrize("number", ["", "   ", " - ", None])
def test_missing_number_is_required(kind, number):
    error = rejection(kind, number, "FRA")
    assert (error.reason, field_of(error), error.violations[0].description) == (
        "DOCUMENT_NUMBER_FORMAT", "document.number", "is required")


@pytest.mark.parametrize("kind", ["RESIDENT_ID_CARD", 1, None])
def test_kind_outside_the_enum_is_refused(kind):
    error = rejection(kind, KNOWN_ID)
    assert (error.reason, field_of(error)) == ("DOCUMENT_KIND", "document.kind")


def test_overlong_input_is_a_format_error():
    assert rejection(PASSPORT, "1" * 65, "FRA").reason == "DOCUMENT_NUMBER_FORMAT"


@pytest.mark.parametrize(("kind", "number", "country_code"), [
    (ID, KNOWN_ID[:-1], ""),
    (ID, "1101051949A231002X", ""),
    (ID, wrong_check(VALID_ID, VALID_ID[-1]), ""),
    (ID, id_card("11010519900230001"), ""),
    (ID, id_card("99999919900307001"), ""),
    (ID, KNOWN_ID, "USA"),
    (PASSPORT, "E1234567", ""),
    (PASSPORT, "E1234567", "XXX"),
    (PASSPORT, "EABCDEFG", "FRA"),
    (HK_MACAO, "H12345678", "MAC"),
    (TAIWAN, "1234567", ""),
    (FOREIGNER, wrong_check(FRENCH_2023, FRENCH_2023[-1]), ""),
    (FOREIGNER, foreigner_2023("91199919850315001"), ""),
    (FOREIGNER, "XYZ310803150012", ""),
    (FOREIGNER, USA_2004, "CAN"),
])
def test_error_never_reveals_the_number(kind, number, country_code):
    error = rejection(kind, number, country_code)
    shown = [str(error), error.message, *(v.description for v in error.violations)]
    for fragment in (number, number.upper(), number[-8:], number[:8]):
        assert all(fragment not in text for text in shown)


# --- lookup key, masking --------------------------------------------------------

def test_lookup_key_is_the_same_for_every_spelling():
    spellings = (KNOWN_ID, "110105 1949-1231-002x", "１１０１０５１９４９１２３１００２ｘ")
    keys = {parse(ID, s).lookup_key() for s in spellings}
    assert keys == {b"RESIDENT_ID_CARD|CHN|11010519491231002X"}


def test_lookup_key_differs_across_kinds_with_the_same_number():
    assert parse(TAIWAN, "12345678").lookup_key() != parse(PASSPORT, "12345678", "TWN").lookup_key()


def test_lookup_key_differs_across_passport_countries():
    french, german = (parse(PASSPORT, "E1234567", c).lookup_key() for c in ("FRA", "DEU"))
    assert french != german


@pytest.mark.parametrize(("kind", "number", "country_code", "masked"), [
    (ID, KNOWN_ID, "", "110105********002X"),
    (PASSPORT, "E12345678", "FRA", "E1*****78"),
    (PASSPORT, "12345", "FRA", "****5"),
    (PASSPORT, "123456", "FRA", "12**56"),
    (HK_MACAO, "H12345678", "", "H1*****78"),
    (TAIWAN, "12345678", "", "12****78"),
    (FOREIGNER, FRENCH_2023, "", "91" + "*" * 14 + FRENCH_2023[-2:]),
    (FOREIGNER, USA_2004, "", "US***********12"),
])
def test_masked_number_hides_the_middle(kind, number, country_code, masked):
    assert parse(kind, number, country_code).masked_number() == masked


def test_repr_of_a_document_hides_the_number_and_birth_date():
    text = repr(parse(ID, KNOWN_ID))
    assert KNOWN_ID not in text and "1949" not in text


# --- names ----------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "normal"), [
    ("张三", "张三"),
    ("  欧阳 小明  ", "欧阳 小明"),
    ("JOHN \u3000  SMITH", "JOHN SMITH"),
    ("ＪＯＨＮ　ＳＭＩＴＨ", "JOHN SMITH"),
    ("阿依古丽·买买提", "阿依古丽·买买提"),
    ("X", "X"),
    ("A" * 64, "A" * 64),
    ("Agent 007", "Agent 007"),
])
def test_normalise_name_accepts_and_tidies(raw, normal):
    assert normalise_name(raw) == normal


@pytest.mark.parametrize("raw", ["", "   ", "A" * 65, "张\n三", "张\t三", "张\x00三", "张\u202e三",
                                 "12345", "１２３", "12 34", "张*三", "-"])
def test_normalise_name_refuses_bad_names(raw):
    with pytest.raises(InvalidArgument) as caught:
        normalise_name(raw)
    assert (caught.value.reason, field_of(caught.value)) == ("NAME_INVALID", "name")


@pytest.mark.parametrize("raw", ["张小*三", "JOHN\nSMITH", "J" * 65, "13800138000"])
def test_name_error_never_reveals_the_name(raw):
    with pytest.raises(InvalidArgument) as caught:
        normalise_name(raw)
    shown = [str(caught.value), caught.value.message, caught.value.violations[0].description]
    for fragment in (raw, raw[:2], raw[-2:]):
        assert all(fragment not in text for text in shown)


@pytest.mark.parametrize(("name", "masked"), [
    ("张", "*"),
    ("张三", "张*"),
    ("张小三", "张*三"),
    ("欧阳小明", "欧**明"),
    ("阿依古丽·买买提", "阿******提"),
    ("JOHN SMITH", "J*** S****"),
    ("MARY ANN LEE", "M*** A** L**"),
    ("A B", "A *"),
    ("J A SMITH", "J * S****"),
])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("name", ["张三", "AB", "A B", "欧阳小明", "JO SMITH", "Li Na"])
def test_masked_name_never_equals_a_name_of_two_or_more_characters(name):
    assert mask_name(name) != name


# --- age --------------------------------------------------------------------------

@pytest.mark.parametrize(("born", "day", "age"), [
    (date(2000, 6, 1), date(2000, 6, 1), 0),
    (date(2007, 6, 1), date(2025, 5, 31), 17),
    (date(2007, 6, 1), date(2025, 6, 1), 18),
    (date(2007, 12, 31), date(2025, 1, 1), 17),
    (date(2008, 2, 29), date(2025, 2, 28), 16),
    (date(2008, 2, 29), date(2025, 3, 1), 17),
    (date(2008, 2, 29), date(2028, 2, 29), 20),
])
def test_age_on_counts_full_years(born, day, age):
    assert age_on(born, day) == age


def test_age_on_refuses_a_day_before_birth():
    with pytest.raises(InvalidArgument) as caught:
        age_on(date(2020, 1, 2), date(2020, 1, 1))
    assert field_of(caught.value) == "birth_date"


def test_minor_age_is_eighteen():
    assert MINOR_AGE == 18


@pytest.mark.parametrize(("day", "minor"), [(date(2025, 5, 31), True), (date(2025, 6, 1), False)])
def test_is_minor_until_the_eighteenth_birthday(day, minor):
    assert is_minor(date(2007, 6, 1), day) is minor


@pytest.mark.parametrize(("day", "minor"), [(date(2026, 2, 28), True), (date(2026, 3, 1), False)])
def test_is_minor_born_on_29_february_until_1_march(day, minor):
    assert is_minor(date(2008, 2, 29), day) is minor
