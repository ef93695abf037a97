"""The merchant's catalogue: what a SKU is, and reading SKU and stock-count CSV files.

Pure: the services check what needs the database (unknown SKUs and locations, reserved
units) and write. Every problem of a file is reported at once, each with its CSV line number
(the header is line 1, as a spreadsheet numbers rows), so a merchant fixes the file in one go.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator

from domain.errors import InvalidInput
from domain.models import Strict

# Consistent with order lines (1-64 characters), narrowed to what is safe in a URL path:
# printable ASCII without spaces or slashes.
SKU_PATTERN = r"^[\x21-\x2e\x30-\x7e]{1,64}$"
SkuCode = Annotated[str, Field(pattern=SKU_PATTERN, description="1-64 printable ASCII, no '/'")]
MAX_IMPORT_ROWS = 10_000
MAX_IMPORT_BYTES = 5 * 1024 * 1024

ISO_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA
    ZM ZW""".split()
)
_HS_CODE = re.compile(r"^\d[\d.]*$")


class SkuFields(Strict):
    """A SKU as the merchant describes it (the `PUT /v1/skus/{sku}` body)."""

    name: str = Field(min_length=1, max_length=200)
    price: Decimal = Field(ge=0, le=Decimal("1000000"), decimal_places=2)
    weight_grams: int = Field(gt=0, le=1_000_000)
    barcode: str | None = Field(default=None, pattern=r"^[\x21-\x7e]{1,64}$")
    hs_code: str | None = Field(default=None, max_length=16, description="6-10 digits; dots ok")
    origin_country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    length_mm: int | None = Field(default=None, gt=0, le=100_000)
    width_mm: int | None = Field(default=None, gt=0, le=100_000)
    height_mm: int | None = Field(default=None, gt=0, le=100_000)

    @field_validator("hs_code")
    @classmethod
    def _hs_code(cls, value: str | None) -> str | None:
        """Stored as its digits: `6109.10` and `610910` are the same heading."""
        if value is None:
            return None
        digits = value.replace(".", "")
        if not _HS_CODE.match(value) or not 6 <= len(digits) <= 10:
            raise ValueError("an HS code is 6 to 10 digits (dots allowed)")
        return digits

    @field_validator("origin_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        if code not in ISO_COUNTRIES:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
        return code


SKU_COLUMNS = ("sku", *SkuFields.model_fields)
REQUIRED_SKU_COLUMNS = ("sku", "name", "price", "weight_grams")
COUNT_COLUMNS = ("sku", "location_id", "on_hand")


@dataclass(frozen=True)
class RowProblem:
    """Why one line of a file cannot be taken (line 1 is the header)."""

    line: int
    field: str
    message: str
    sku: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The problem as the API shows it."""
        return {"line": self.line, "sku": self.sku, "field": self.field, "message": self.message}


class ImportRejected(InvalidInput):
    """A file with bad rows: nothing of it was written; `problems` names every bad row."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.field))
        lines = sorted({p.line for p in self.problems})
        head = "; ".join(f"line {p.line} {p.field}: {p.message}" for p in self.problems[:5])
        super().__init__(f"{len(lines)} bad line(s), nothing was imported: {head}", "body")


class ImportTooLarge(InvalidInput):
    """A file over the row limit (the API answers 413)."""

    code = "payload_too_large"


@dataclass(frozen=True)
class SkuRow:
    """One valid SKU line: its fields, and the columns the file has (only those are set)."""

    line: int
    sku: str
    fields: SkuFields


@dataclass(frozen=True)
class CountRow:
    """One valid line of a cycle count: units counted of a SKU at a location."""

    line: int
    sku: str
    location_id: str
    on_hand: int


def decode(body: bytes) -> str:
    """The text of an uploaded file (UTF-8, an Excel byte-order mark allowed)."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ImportRejected([RowProblem(1, "body", f"not UTF-8 text (byte {err.start})")]) from err


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) of every non-blank record."""
    if "\x00" in text:
        raise ImportRejected([RowProblem(1, "body", "the file contains NUL characters")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as err:
        raise ImportRejected([RowProblem(reader.line_num, "body", f"not CSV: {err}")]) from err


def _header(
    records: Iterator[tuple[int, list[str]]], known: Sequence[str], required: Sequence[str]
) -> list[str]:
    first = next(records, None)
    if first is None:
        raise ImportRejected([RowProblem(1, "body", "the file is empty: no header row")])
    columns = [cell.strip().lower() for cell in first[1]]
    problems = [
        RowProblem(1, name or "(blank)", f"unknown column; expected some of {', '.join(known)}")
        for name in columns
        if name not in known
    ]
    problems += [
        RowProblem(1, name, "this column appears more than once")
        for name in sorted({c for c in columns if columns.count(c) > 1})
    ]
    problems += [
        RowProblem(1, name, "required column missing") for name in required if name not in columns
    ]
    if problems:
        raise ImportRejected(problems)
    return columns


def _cells(
    line: int, columns: list[str], cells: list[str], problems: list[RowProblem]
) -> dict[str, str] | None:
    """Column -> trimmed cell; None (with a problem) when the row has the wrong shape."""
    if len(cells) != len(columns):
        message = f"has {len(cells)} cells, the header has {len(columns)}"
        problems.append(RowProblem(line, "row", message))
        return None
    return {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}


def _too_many(rows: int) -> None:
    if rows > MAX_IMPORT_ROWS:
        raise ImportTooLarge(f"the file has more than {MAX_IMPORT_ROWS} rows; split it")


def _errors(err: ValidationError, line: int, sku: str | None) -> list[RowProblem]:
    return [
        RowProblem(
            line,
            ".".join(str(p) for p in e["loc"]) or "row",
            str(e["msg"]).removeprefix("Value error, "),
            sku,
        )
        for e in err.errors()
    ]


def parse_skus(text: str) -> tuple[list[str], list[SkuRow]]:
    """The columns and rows of a SKU file, or `ImportRejected` with every bad row.

    A blank cell of an optional column leaves that field unset; duplicate SKUs are bad rows.
    """
    records = _records(text)
    columns = _header(records, SKU_COLUMNS, REQUIRED_SKU_COLUMNS)
    problems: list[RowProblem] = []
    rows: list[SkuRow] = []
    first_line: dict[str, int] = {}
    for count, (line, cells) in enumerate(records, start=1):
        _too_many(count)
        values = _cells(line, columns, cells, problems)
        if values is None:
            continue
        sku = values.pop("sku")
        if not re.match(SKU_PATTERN, sku):
            problems.append(RowProblem(line, "sku", "1-64 printable characters, no spaces or /"))
            continue
        if sku in first_line:
            message = f"duplicate SKU: also on line {first_line[sku]}"
            problems.append(RowProblem(line, "sku", message, sku))
            continue
        first_line[sku] = line
        try:
            fields = SkuFields.model_validate({k: v for k, v in values.items() if v != ""})
        except ValidationError as err:
            problems += _errors(err, line, sku)
            continue
        rows.append(SkuRow(line, sku, fields))
    if problems:
        raise ImportRejected(problems)
    return columns, rows


def parse_counts(text: str) -> tuple[list[CountRow], list[RowProblem]]:
    """The good rows of a cycle count file (`sku,location_id,on_hand`) and the problems of the
    others, for the caller to add what the database says before refusing the file; a bad
    header or a file that is not CSV raises `ImportRejected` at once."""
    records = _records(text)
    columns = _header(records, COUNT_COLUMNS, COUNT_COLUMNS)
    problems: list[RowProblem] = []
    rows: list[CountRow] = []
    first_line: dict[tuple[str, str], int] = {}
    for count, (line, cells) in enumerate(records, start=1):
        _too_many(count)
        values = _cells(line, columns, cells, problems)
        if values is None:
            continue
        sku, location_id, raw = values["sku"], values["location_id"], values["on_hand"]
        bad = [(name, "required") for name in COUNT_COLUMNS if not values[name]]
        if raw and not re.fullmatch(r"[+-]?\d{1,9}", raw):
            bad.append(("on_hand", f"{raw!r} is not a whole number of units"))
        elif raw and int(raw) < 0:
            bad.append(("on_hand", "a count cannot be negative"))
        key = (sku, location_id)
        if not bad and key in first_line:
            bad.append(("sku", f"{sku} at {location_id} is also counted on line {first_line[key]}"))
        if bad:
            problems += [RowProblem(line, name, message, sku or None) for name, message in bad]
            continue
        first_line[key] = line
        rows.append(CountRow(line, sku, location_id, int(raw)))
    return rows, problems
