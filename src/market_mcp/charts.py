"""Small PNG charts for hosts that cannot show an MCP Apps view: the picture travels with the result as an image.

Drawn with Pillow (fpdf2's own dependency) and its built-in scalable font, so no system font is needed; palette-
quantised, a chart of a dozen bars is a few kilobytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

WIDTH = 640
ROW = 26
TOP = 40
BOTTOM = 12
LABEL = 250  # the label column: market name and day
BAR = 260  # the bar's full length: capacity

INK = (32, 33, 36)
MUTED = (95, 99, 104)
TRACK = (232, 234, 237)
FILL = (26, 115, 232)
FULL = (24, 128, 56)  # full: every space taken
LOW = (217, 48, 37)  # nearly empty: under a quarter


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    total: int


def colour(value: int, total: int) -> tuple[int, int, int]:
    if total and value >= total:
        return FULL
    if total and value / total < 0.25:
        return LOW
    return FILL


def _fitted(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """The text on one line (a stored name may hold line breaks), cut with … to fit the width."""
    text = " ".join(text.split())
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def fill_bars(title: str, bars: Sequence[Bar]) -> bytes:
    """A title and one horizontal bar per row (value of total, and the percentage) as PNG bytes."""
    font = ImageFont.load_default(size=13)
    bold = ImageFont.load_default(size=16)
    height = TOP + ROW * max(len(bars), 1) + BOTTOM
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((12, 10), title, fill=INK, font=bold)
    if not bars:
        draw.text((12, TOP + 4), "No market dates are scheduled.", fill=MUTED, font=font)
    for row, bar in enumerate(bars):
        y = TOP + row * ROW
        draw.text((12, y + 5), _fitted(draw, bar.label, font, LABEL - 20), fill=INK, font=font)
        x = LABEL
        draw.rounded_rectangle((x, y + 4, x + BAR, y + ROW - 6), radius=4, fill=TRACK)
        share = min(bar.value / bar.total, 1.0) if bar.total else 0.0
        if share > 0:
            draw.rounded_rectangle(
                (x, y + 4, x + max(int(BAR * share), 8), y + ROW - 6), radius=4, fill=colour(bar.value, bar.total)
            )
        percent = f"{bar.value}/{bar.total}  {round(share * 100)}%" if bar.total else f"{bar.value}/0"
        draw.text((x + BAR + 10, y + 5), percent, fill=MUTED, font=font)
    buffer = io.BytesIO()
    image.quantize(colors=32).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
