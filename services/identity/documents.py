"""Identity documents and names: parsing, validation, lookup keys, federation references, masking and age."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

import pycountry
from stdnum.cn import ric
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_11_2

from services.areas import has_existed, history, is_province_prefix
from services.runtime.errors import InvalidArgument
from services.runtime.sealing import LookupHasher

MINOR_AGE = 18
FEDERATION_REFERENCE_BYTES = 16
# The purpose the federation key is bound to: with it, the key can never yield a lookup hash.
FEDERATION_PURPOSE = "federation.person"

# Anything longer is garbage or an attack; refuse before NFKC does any work on it.
_MAX_RAW_LENGTH = 64
_MAX_NAME_LENGTH = 64
_MASK = "*"


_ID_CARD = re.compile(r"[0-9]{17}[0-9X]")
_PASSPORT = re.compile(r"(?=[A-Z]*[0-9])[A-Z0-9]{5,17}")
_HK_MACAO = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
_TAIWAN = re.compile(r"[0-9]{8}|[0-9]{10}[A-Z]?")
_FOREIGNER_2023 = re.compile(r"9[0-9]{16}[0-9X]")
_FOREIGNER_2004 = re.compile(r"[A-Z]{3}[0-9]{12}")


class DocumentKind(enum.IntEnum):
    """Numbered as healthcode.identity.v1.DocumentKind; the number is also what the database stores."""

    RESIDENT_ID_CARD = 1
    PASSPORT = 2
    HK_MACAO_PERMIT = 3
    TAIWAN_PERMIT = 4
    FOREIGN_PERMANENT_RESIDENT_ID = 5


@dataclass(frozen=True)
class Document:
    kind: DocumentKind
    # Personal data: kept out of repr so a logged Document does not leak it.
    number: str = field(repr=False)
    country_code: str
    birth_date: date | None = field(default=None, repr=False)

    def lookup_key(self) -> bytes:
        return f"{self.kind.name}|{self.country_code}|{self.number}".encode()

    def masked_number(self) -> str:
        n = self.number
        if len(n) < 6:
            return _MASK * (len(n) - 1) + n[-1:]
        if self.kind is DocumentKind.RESIDENT_ID_CARD:
            return n[:6] + _MASK * (len(n) - 10) + n[-4:]
        return n[:2] + _MASK * (len(n) - 4) + n[-2:]

    def region_code(self) -> str | None:
        return self.number[:6] if self.kind is DocumentKind.RESIDENT_ID_CARD else None


def _invalid(field_path: str, description: str, reason: str) -> InvalidArgument:
    return InvalidArgument.for_field(field_path, description, reason=reason)


def _number_error(description: str, reason: str = "DOCUMENT_NUMBER_FORMAT") -> InvalidArgument:
    return _invalid("document.number", description, reason)


def _normalise_number(number: str) -> str:
    if not number or not number.strip():
        return ""
    if len(number) > _MAX_RAW_LENGTH:
        raise _number_error("is too long")
    # NFKC first: Chinese keyboards produce full-width digits, letters, hyphens and spaces.
    text = unicodedata.normalize("NFKC", number)
    return "".join(text.split()).replace("-", "").upper()


def _country_from_input(country_code: str) -> str:
    """Resolve an ISO 3166-1 alpha-2 or alpha-3 code to alpha-3; "" when absent."""
    code = unicodedata.normalize("NFKC", country_code or "").strip().upper()
    if not code:
        return ""
    country = None
    if re.fullmatch(r"[A-Z]{3}", code):
        country = pycountry.countries.get(alpha_3=code)
    elif re.fullmatch(r"[A-Z]{2}", code):
        country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise _invalid("document.country_code", "is not an ISO 3166-1 country code",
                       "DOCUMENT_COUNTRY")
    return country.alpha_3


def _require_country(given: str, derived: str) -> str:
    if given and given != derived:
        raise _invalid("document.country_code", "does not match the country of the document",
                       "DOCUMENT_COUNTRY")
    return derived


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _check_birth_date(born: date | None, today: date) -> date:
    if born is None:
        raise _number_error("birth date part is not a real date", "DOCUMENT_BIRTH_DATE")
    if born > today:
        raise _number_error("birth date part is in the future", "DOCUMENT_BIRTH_DATE")
    return born


def _check_province(code: str) -> None:
    if not is_province_prefix(code):
        raise _number_error("province code is unknown", "DOCUMENT_REGION")


def _parse_id_card(number: str, country: str, today: date) -> Document:
    # stdnum's validate() tests the checksum before date and region, so each step
    # is done here in order to give the caller a distinct reason.
    if len(number) != 18:
        raise _number_error("must be 18 characters")
    if not _ID_CARD.fullmatch(number):
        raise _number_error("must be 17 digits followed by a digit or X")
    if number[-1] != ric.calc_check_digit(number):
        raise _number_error("check character does not match", "DOCUMENT_CHECKSUM")
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        born = None
    _check_birth_date(born, today)
    # The code of the county that assigned the number, which may have been created after the
    # holder's birth (numbers were first issued in 1985) or merged away since: any code GB/T 2260
    # has ever had passes, one it never had does not. (stdnum's get_birth_place wants the county
    # to have existed in the birth year, which refuses real numbers.)
    if not has_existed(number[:6]):
        raise _number_error("region code has never existed", "DOCUMENT_REGION")
    return Document(DocumentKind.RESIDENT_ID_CARD, number, _require_country(country, "CHN"), born)


def _parse_passport(number: str, country: str, today: date) -> Document:
    if not country:
        raise _invalid("document.country_code", "is required for a passport", "DOCUMENT_COUNTRY")
    # ICAO 9303 allows 9 characters in the MRZ, but some countries issue longer numbers.
    if not _PASSPORT.fullmatch(number):
        raise _number_error("must be 5 to 17 letters and digits, with at least one digit")
    return Document(DocumentKind.PASSPORT, number, country)


def _parse_hk_macao(number: str, country: str, today: date) -> Document:
    if not _HK_MACAO.fullmatch(number):
        raise _number_error("must be H or M followed by 8 or 10 digits")
    derived = "HKG" if number[0] == "H" else "MAC"
    return Document(DocumentKind.HK_MACAO_PERMIT, number, _require_country(country, derived))


def _parse_taiwan(number: str, country: str, today: date) -> Document:
    # 8 digits on the card issued since 2015; 10 digits and an optional letter before.
    if not _TAIWAN.fullmatch(number):
        raise _number_error("must be 8 digits, or 10 digits and an optional letter")
    return Document(DocumentKind.TAIWAN_PERMIT, number, _require_country(country, "TWN"))


def _parse_foreigner(number: str, country: str, today: date) -> Document:
    if _FOREIGNER_2023.fullmatch(number):
        return _parse_foreigner_2023(number, country, today)
    if _FOREIGNER_2004.fullmatch(number):
        return _parse_foreigner_2004(number, country, today)
    raise _number_error("must be 18 characters starting with 9, or 3 letters and 12 digits")


def _parse_foreigner_2023(number: str, country: str, today: date) -> Document:
    # Layout: 9, province (2), ISO 3166-1 numeric nationality (3), YYYYMMDD, sequence (3),
    # ISO 7064 MOD 11-2 check character.
    if number[-1] != mod_11_2.calc_check_digit(number[:-1]):
        raise _number_error("check character does not match", "DOCUMENT_CHECKSUM")
    born = _check_birth_date(
        _real_date(int(number[6:10]), int(number[10:12]), int(number[12:14])), today)
    _check_province(number[1:3])
    nationality = pycountry.countries.get(numeric=number[3:6])
    if nationality is None:
        raise _number_error("nationality code is unknown", "DOCUMENT_COUNTRY")
    derived = _require_country(country, nationality.alpha_3)
    return Document(DocumentKind.FOREIGN_PERMANENT_RESIDENT_ID, number, derived, born)


def _parse_foreigner_2004(number: str, country: str, today: date) -> Document:
    # Layout: alpha-3 nationality, province (2), YYMMDD, sequence (3), check digit (1).
    # No rule for the check digit is published, so it is deliberately not verified.
    yy, month, day = int(number[5:7]), int(number[7:9]), int(number[9:11])
    candidates = (_real_date(century + yy, month, day) for century in (2000, 1900))
    born = next((d for d in candidates if d is not None and d <= today), None)
    if born is None:
        raise _number_error("birth date part is not a real past date", "DOCUMENT_BIRTH_DATE")
    _check_province(number[3:5])
    if pycountry.countries.get(alpha_3=number[:3]) is None:
        raise _number_error("nationality code is unknown", "DOCUMENT_COUNTRY")
    derived = _require_country(country, number[:3])
    # The century is a guess, so the birth date is not reported as known.
    return Document(DocumentKind.FOREIGN_PERMANENT_RESIDENT_ID, number, derived)


_PARSERS = {
    DocumentKind.RESIDENT_ID_CARD: _parse_id_card,
    DocumentKind.PASSPORT: _parse_passport,
    DocumentKind.HK_MACAO_PERMIT: _parse_hk_macao,
    DocumentKind.TAIWAN_PERMIT: _parse_taiwan,
    DocumentKind.FOREIGN_PERMANENT_RESIDENT_ID: _parse_foreigner,
}


def federation_reference(document: Document, federation_hasher: LookupHasher) -> bytes:
    """The person reference provinces exchange in red/yellow lists and a code carries: the first
    16 bytes of HMAC-SHA256 under the federation key (bound to FEDERATION_PURPOSE, as LookupHasher
    binds it) of "<DocumentKind name>:<country code>:<normalised number>", e.g.
    "RESIDENT_ID_CARD:CHN:11010519491231002X".

    Every province holding the federation's key computes the same reference from a document;
    nobody without it can tell which document a reference stands for.
    """
    identity = f"{document.kind.name}:{document.country_code}:{document.number}"
    return federation_hasher.digest(identity.encode())[:FEDERATION_REFERENCE_BYTES]


def load_reference_data() -> None:
    """Reads the country and region tables now, at start-up, not from disk inside a first request."""
    pycountry.countries.get(alpha_3="CHN")
    history()


def parse_document(kind: DocumentKind, number: str, country_code: str = "", *,
                   today: date | None = None) -> Document:
    """Normalise and validate a document; `today` bounds birth dates (tests pin it)."""
    if not isinstance(kind, DocumentKind):
        raise _invalid("document.kind", "is not a supported document kind", "DOCUMENT_KIND")
    normalised = _normalise_number(number)
    if not normalised:
        raise _number_error("is required")
    country = _country_from_input(country_code)
    return _PARSERS[kind](normalised, country, today or date.today())


def normalise_name(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "")
    # Checked before collapsing whitespace, which would silently hide tabs and newlines.
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise _invalid("name", "contains control characters", "NAME_INVALID")
    text = " ".join(text.split())
    if not 1 <= len(text) <= _MAX_NAME_LENGTH:
        raise _invalid("name", f"must be 1 to {_MAX_NAME_LENGTH} characters", "NAME_INVALID")
    if _MASK in text:
        raise _invalid("name", "must not contain *", "NAME_INVALID")
    if not any(unicodedata.category(c).startswith("L") for c in text):
        raise _invalid("name", "must contain at least one letter", "NAME_INVALID")
    return text


def mask_name(name: str) -> str:
    text = " ".join(unicodedata.normalize("NFKC", name or "").split())
    if " " not in text:
        if len(text) <= 1:
            return _MASK * len(text)
        if len(text) == 2:
            return text[0] + _MASK
        return text[0] + _MASK * (len(text) - 2) + text[-1]
    words = text.split(" ")
    # A one-letter word after the first is hidden too, or "A B" would come back unmasked.
    return " ".join(
        w[0] + _MASK * (len(w) - 1) if len(w) > 1 or i == 0 else _MASK
        for i, w in enumerate(words))


def age_on(birth_date: date, day: date) -> int:
    """Full years on `day`; someone born on 29 February turns a year older on 1 March."""
    if day < birth_date:
        raise _invalid("birth_date", "is after the day the age is wanted for",
                       "BIRTH_DATE_INVALID")
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_minor(birth_date: date, day: date) -> bool:
    return age_on(birth_date, day) < MINOR_AGE
