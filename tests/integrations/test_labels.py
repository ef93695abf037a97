"""Shipping label (PDF and ZPL) and packing slip documents."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from reportlab.graphics.barcode import code128

from integrations.carriers.labels import label_barcode, label_pdf, label_zpl, packing_slip_pdf
from integrations.carriers.protocol import Address

TRACKING = "PP4486319275466109"
FROM = Address(name="OMS Austin DC", line1="100 Congress Ave", city="Austin", region="TX",
               postal_code="78701")  # fmt: skip
TO = Address(name="Ann Lee", line1="1 Main St", line2="Apt 4", city="New York", region="NY",
             postal_code="10001")  # fmt: skip
START = {103: "A", 104: "B", 105: "C"}
STOP = 106


def _decode_code128(values: list[int]) -> str:
    """Symbol values (start ... checksum, stop) back to text, checking the checksum."""
    start, *data, check, stop = values
    assert stop == STOP
    assert check == (start + sum(i * v for i, v in enumerate(data, 1))) % 103
    subset, text = START[start], ""
    for v in data:
        if subset == "C" and v < 100:
            text += f"{v:02d}"
        elif (subset != "C" and v < 64) or (subset == "B" and v < 96):
            text += chr(v + 32)
        elif v in (99, 100, 101):
            subset = {99: "C", 100: "B", 101: "A"}[v]
        else:
            raise AssertionError(f"unexpected symbol {v} in subset {subset}")
    return text


def _symbols_drawn(pdf: bytes) -> list[int]:
    """Read the barcode back from the bars drawn on the PDF page."""
    content = PdfReader(io.BytesIO(pdf)).pages[0].get_contents()
    assert content is not None
    ops = content.get_data().decode("latin-1")
    bars = [(float(x), float(w)) for x, w in re.findall(r"([\d.]+) 0 ([\d.]+) [\d.]+ re f", ops)]
    # Code 128: 3 bars per symbol, 4 in the stop symbol; 11 modules per symbol, 13 for stop.
    symbols = (len(bars) - 4) // 3
    module = (bars[-1][0] + bars[-1][1] - bars[0][0]) / (11 * symbols + 13)
    widths: list[int] = []
    for (x, w), (next_x, _) in zip(bars, [*bars[1:], (0.0, 0.0)], strict=True):
        widths.append(round(w / module))
        if next_x:
            widths.append(round((next_x - x - w) / module))
    patterns = {
        pattern: value for value, pattern in code128._patterns.items() if isinstance(value, int)
    }

    def pattern(chunk: list[int]) -> str:
        return "".join(("ABCD" if i % 2 == 0 else "abcd")[n - 1] for i, n in enumerate(chunk))

    values = [patterns[pattern(widths[i : i + 6])] for i in range(0, 6 * symbols, 6)]
    return [*values, patterns[pattern(widths[6 * symbols :])]]


def _label() -> bytes:
    return label_pdf(
        carrier="ParcelPoint",
        service="standard",
        tracking_number=TRACKING,
        ship_from=FROM,
        ship_to=TO,
        weight_grams=1250,
        reference="order-web-1001",
        created_at=datetime(2025, 3, 3, 9, tzinfo=UTC),
    )


def test_label_pdf_is_a_4x6_page_with_addresses_and_tracking() -> None:
    reader = PdfReader(io.BytesIO(_label()))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (288, 432)
    text = page.extract_text()
    for expected in (TRACKING, "Ann Lee", "Apt 4", "New York, NY 10001", "OMS Austin DC",
                     "STANDARD", "1.25 KG", "order-web-1001", "PARCELPOINT"):  # fmt: skip
        assert expected in text


def test_barcode_symbol_encodes_the_tracking_number() -> None:
    barcode = label_barcode(TRACKING)
    assert barcode.value == TRACKING
    barcode.validate()
    barcode.encode()
    assert _decode_code128(list(barcode.encoded)) == TRACKING


@pytest.mark.parametrize("tracking", [TRACKING, "SW123456785US", "1Z999AA10123456784"])
def test_bars_drawn_on_the_label_decode_to_the_tracking_number(tracking: str) -> None:
    pdf = label_pdf(
        carrier="SwiftShip",
        service="express",
        tracking_number=tracking,
        ship_from=FROM,
        ship_to=TO,
        weight_grams=800,
        reference="r",
        created_at=datetime(2025, 3, 3, tzinfo=UTC),
    )
    assert _decode_code128(_symbols_drawn(pdf)) == tracking


def test_zpl_label() -> None:
    zpl = label_zpl(
        carrier="ParcelPoint",
        service="overnight",
        tracking_number=TRACKING,
        ship_from=FROM,
        ship_to=TO.model_copy(update={"line2": "^XZ~JA evil"}),
        weight_grams=500,
        reference="web-7",
    )
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert re.search(rf"\^BCN,\d+,Y,N,N,A\^FD{TRACKING}\^FS", zpl)
    assert "^FDANN LEE" in zpl.upper() and "OVERNIGHT" in zpl
    # Customer text cannot end the label early or inject commands.
    assert zpl.count("^XZ") == 1 and "~JA" not in zpl


def test_packing_slip() -> None:
    pdf = packing_slip_pdf(
        "shp_order-web-1001_1",
        "web-1001",
        TO.model_dump(),
        [{"sku": "TSHIRT-M", "name": "T-shirt <M> & co", "quantity": 2},
         {"sku": "MUG-1", "name": "Mug", "quantity": 1}],
    )  # fmt: skip
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (612, 792)
    text = page.extract_text()
    for expected in ("web-1001", "shp_order-web-1001_1", "TSHIRT-M", "T-shirt <M> & co", "MUG-1",
                     "Ann Lee", "Total units\n3"):  # fmt: skip
        assert expected in text
