"""Printable documents: 4x6 inch shipping labels (PDF and ZPL II) and letter packing slips."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER, inch
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from integrations.carriers.protocol import Address

LABEL_SIZE = (4 * inch, 6 * inch)
MARGIN = 14.0
BARCODE_WIDTH = LABEL_SIZE[0] - 2 * MARGIN - 8
# Narrowest bar we print: about 0.35 mm, within what thermal printers and scanners handle.
MIN_BAR_WIDTH = 1.0
SANDBOX_NOTICE = "SANDBOX LABEL - NOT VALID FOR POSTAGE"


def label_barcode(tracking_number: str, bar_height: float = 64.0) -> Code128:
    """The Code 128 symbol printed on the label, as wide as the label allows."""
    probe = Code128(tracking_number, barWidth=1.0, barHeight=bar_height, humanReadable=False)
    bar_width = max(MIN_BAR_WIDTH, min(1.6, BARCODE_WIDTH / probe.width))
    return Code128(tracking_number, barWidth=bar_width, barHeight=bar_height, humanReadable=False)


def _address_lines(address: Address) -> list[str]:
    city = " ".join(p for p in (f"{address.city},", address.region, address.postal_code) if p)
    return [line for line in (address.name, address.line1, address.line2, city, address.country)
            if line]  # fmt: skip


def label_pdf(
    *,
    carrier: str,
    service: str,
    tracking_number: str,
    ship_from: Address,
    ship_to: Address,
    weight_grams: int,
    reference: str,
    created_at: datetime,
) -> bytes:
    """A 4x6 inch PDF label with both addresses and a Code 128 barcode of the tracking number."""
    buffer = io.BytesIO()
    width, height = LABEL_SIZE
    pdf = Canvas(buffer, pagesize=LABEL_SIZE)
    pdf.setTitle(f"{carrier} label {tracking_number}")
    top = height - MARGIN

    pdf.setFont("Helvetica-Bold", 20)
    pdf.drawString(MARGIN, top - 20, carrier.upper())
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawRightString(width - MARGIN, top - 18, service.upper())
    pdf.setLineWidth(2)
    pdf.line(MARGIN, top - 30, width - MARGIN, top - 30)

    pdf.setFont("Helvetica", 7)
    pdf.drawString(MARGIN, top - 42, "FROM:")
    for i, line in enumerate(_address_lines(ship_from)):
        pdf.drawString(MARGIN + 30, top - 42 - i * 9, line)

    y = top - 110
    pdf.setFont("Helvetica-Bold", 9)
    pdf.drawString(MARGIN, y, "SHIP TO:")
    for i, line in enumerate(_address_lines(ship_to)):
        font = "Helvetica-Bold" if i == 0 else "Helvetica"
        # Long names shrink rather than run off the label.
        size = 13.0 if i == 0 else 12.0
        while size > 7 and pdf.stringWidth(line, font, size) > width - 2 * MARGIN - 16:
            size -= 0.5
        pdf.setFont(font, size)
        pdf.drawString(MARGIN + 16, y - 18 - i * 15, line)

    y = 178
    pdf.setLineWidth(1)
    pdf.line(MARGIN, y + 14, width - MARGIN, y + 14)
    pdf.setFont("Helvetica", 8)
    pdf.drawString(MARGIN, y, f"WEIGHT: {weight_grams / 1000:.2f} KG")
    pdf.drawRightString(width - MARGIN, y, f"SHIP DATE: {created_at:%Y-%m-%d}")
    pdf.drawString(MARGIN, y - 11, f"REF: {reference}")

    barcode = label_barcode(tracking_number)
    barcode.drawOn(pdf, (width - barcode.width) / 2, 62)
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawCentredString(width / 2, 46, f"TRACKING # {tracking_number}")
    pdf.setFont("Helvetica", 6)
    pdf.drawCentredString(width / 2, MARGIN, SANDBOX_NOTICE)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _zpl_text(value: str) -> str:
    # ^ and ~ start ZPL commands; a customer's address must never inject one.
    return value.replace("^", " ").replace("~", " ")


def label_zpl(
    *,
    carrier: str,
    service: str,
    tracking_number: str,
    ship_from: Address,
    ship_to: Address,
    weight_grams: int,
    reference: str,
) -> str:
    """The same label in ZPL II for 203 dpi thermal printers (812 x 1218 dots)."""
    cmds = ["^XA", "^CI28", "^PW812", "^LL1218",
            f"^FO40,40^A0N,50,50^FD{_zpl_text(carrier.upper())}^FS",
            f"^FO560,45^A0N,40,40^FD{_zpl_text(service.upper())}^FS",
            "^FO40,110^GB732,4,4^FS"]  # fmt: skip
    for i, line in enumerate(_address_lines(ship_from)):
        cmds.append(f"^FO40,{130 + i * 28}^A0N,22,22^FD{_zpl_text(line)}^FS")
    cmds.append("^FO40,300^A0N,28,28^FDSHIP TO:^FS")
    for i, line in enumerate(_address_lines(ship_to)):
        cmds.append(f"^FO70,{345 + i * 48}^A0N,40,40^FD{_zpl_text(line)}^FS")
    cmds += [
        "^FO40,620^GB732,2,2^FS",
        f"^FO40,640^A0N,26,26^FDWEIGHT: {weight_grams / 1000:.2f} KG^FS",
        f"^FO40,675^A0N,26,26^FDREF: {_zpl_text(reference)}^FS",
        # Code 128, automatic subset selection, human-readable line below the bars.
        f"^FO60,760^BY3^BCN,240,Y,N,N,A^FD{_zpl_text(tracking_number)}^FS",
        f"^FO40,1160^A0N,22,22^FD{SANDBOX_NOTICE}^FS",
        "^XZ",
    ]
    return "\n".join(cmds) + "\n"


def packing_slip_pdf(
    shipment_id: str,
    order_reference: str,
    ship_to: Address | Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
) -> bytes:
    """A letter-size packing slip: who it goes to and a table of SKU, name and quantity."""
    address = ship_to if isinstance(ship_to, Address) else Address.model_validate(dict(ship_to))
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=LETTER, title=f"Packing slip {shipment_id}", topMargin=0.75 * inch
    )
    rows: list[list[Any]] = [["SKU", "Item", "Qty"]]
    rows += [[str(line["sku"]), Paragraph(escape(str(line.get("name", ""))), styles["BodyText"]),
              str(line["quantity"])] for line in lines]  # fmt: skip
    rows.append(["", "Total units", str(sum(int(line["quantity"]) for line in lines))])
    table = Table(rows, colWidths=[1.6 * inch, 4.1 * inch, 0.8 * inch], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("GRID", (0, 0), (-1, -2), 0.5, colors.grey),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    story = [
        Paragraph("Packing slip", styles["Title"]),
        # Paragraph reads mini-HTML: escape customer text so "A&B <Ltd>" prints as typed.
        Paragraph(f"Order: {escape(order_reference)}", styles["Heading3"]),
        Paragraph(f"Shipment: {escape(shipment_id)}", styles["Normal"]),
        Spacer(1, 12),
        Paragraph(
            "Ship to:<br/>" + "<br/>".join(map(escape, _address_lines(address))),
            styles["Normal"],
        ),
        Spacer(1, 18),
        table,
    ]
    doc.build(story)
    return buffer.getvalue()
