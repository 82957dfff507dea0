"""PDF documents (invoices and receipts) laid out with fpdf2, from plain values: what they say is
services.invoices'; this module only puts it on an A4 page.

The PDF's built-in Helvetica is used, not an embedded font, so a document is a few kilobytes and renders in a few
milliseconds; Helvetica covers Latin-1, so other characters are written as their nearest Latin-1 letters
(Māori → Maori, € → EUR, curly quotes → straight ones).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from fpdf import FPDF

_SUBSTITUTES = str.maketrans(
    {
        "€": "EUR ",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "•": "-",
        "\u00a0": " ",
        "\u202f": " ",
    }
)


def latin(text: str) -> str:
    """Text Helvetica can draw: Latin-1 as is, accented letters beyond it without their accents, else "?"."""
    text = " ".join(text.translate(_SUBSTITUTES).split())  # one line: a name never breaks the layout
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


@dataclass
class Document:
    title: str  # Tax invoice, Invoice, Receipt
    number: str  # INV-0007
    issued: date
    issuer: list[str]  # the organisation: legal name, trading name, tax number
    billed_to: list[str]  # the vendor
    facts: list[tuple[str, str]]  # label: value, under the number (order, market, status…)
    columns: tuple[str, str]  # the table's headings: what, amount
    rows: list[tuple[str, str]]
    totals: list[tuple[str, str]]  # label, amount; the last is the one to read (amount due)
    sections: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # e.g. Payments
    notes: list[str] = field(default_factory=list)


MARGIN = 18
WIDTH = 210 - 2 * MARGIN  # A4
AMOUNT = 40  # the amount column's width


def render(doc: Document) -> bytes:
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.set_title(latin(f"{doc.title} {doc.number}"))
    pdf.set_author(latin(doc.issuer[0]) if doc.issuer else "")
    pdf.set_creator("market-mcp")
    pdf.set_creation_date(datetime.combine(doc.issued, time(), tzinfo=UTC))  # the same document, the same bytes
    pdf.add_page()

    pdf.set_font("helvetica", "B", 18)
    pdf.cell(WIDTH / 2, 9, latin(doc.title))
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(WIDTH / 2, 9, latin(doc.number), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    pdf.cell(WIDTH, 5, latin(f"Date: {doc.issued:%d %B %Y}".replace(" 0", " ", 1)), align="R")
    pdf.ln(9)

    top = pdf.get_y()
    _block(pdf, "From", doc.issuer, x=MARGIN)
    left_bottom = pdf.get_y()
    pdf.set_y(top)
    _block(pdf, "To", doc.billed_to, x=MARGIN + WIDTH / 2)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 4)

    pdf.set_font("helvetica", "", 10)
    for label, value in doc.facts:
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(30, 5, latin(label))
        pdf.set_font("helvetica", "", 10)
        pdf.cell(WIDTH - 30, 5, latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    _table(pdf, doc.columns, doc.rows)
    pdf.ln(2)
    for i, (label, amount) in enumerate(doc.totals):
        last = i == len(doc.totals) - 1
        pdf.set_font("helvetica", "B" if last else "", 11 if last else 10)
        pdf.cell(WIDTH - AMOUNT, 6, latin(label), align="R")
        pdf.cell(AMOUNT, 6, latin(amount), align="R", new_x="LMARGIN", new_y="NEXT")

    for heading, rows in doc.sections:
        pdf.ln(6)
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(WIDTH, 6, latin(heading), new_x="LMARGIN", new_y="NEXT")
        _table(pdf, None, rows)

    if doc.notes:
        pdf.ln(6)
        pdf.set_font("helvetica", "", 9)
        for note in doc.notes:
            pdf.multi_cell(WIDTH, 4.5, latin(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _block(pdf: FPDF, heading: str, lines: list[str], *, x: float) -> None:
    pdf.set_x(x)
    pdf.set_font("helvetica", "B", 9)
    pdf.cell(WIDTH / 2, 5, heading.upper(), new_x="LEFT", new_y="NEXT")
    for i, line in enumerate(lines):
        pdf.set_x(x)
        pdf.set_font("helvetica", "B" if i == 0 else "", 10)
        pdf.cell(WIDTH / 2 - 4, 5, latin(line)[:70], new_x="LEFT", new_y="NEXT")


def _table(pdf: FPDF, columns: tuple[str, str] | None, rows: list[tuple[str, str]]) -> None:
    if columns is not None:
        pdf.set_font("helvetica", "B", 10)
        pdf.set_fill_color(235, 235, 235)
        pdf.cell(WIDTH - AMOUNT, 7, latin(columns[0]), fill=True)
        pdf.cell(AMOUNT, 7, latin(columns[1]), align="R", fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    for what, amount in rows:
        pdf.cell(WIDTH - AMOUNT, 6, latin(what)[:95], border="B")
        pdf.cell(AMOUNT, 6, latin(amount), align="R", border="B", new_x="LMARGIN", new_y="NEXT")
