"""A market day's site map, drawn three ways from one scene: SVG for the browser, PNG for a message, an A4 PDF
sheet (map and roster) for the clipboard at bump-in.

Pure functions of a `MapScene` the caller builds from the store. One layout step (`_layout`) decides where every
rectangle, line and piece of text goes, in drawing units (a pixel in the SVG and PNG, a point in the PDF); the three
painters only paint it. Text is fitted by the painter that draws it, with its own font's measure, so a name is cut
("…") where that font needs, never overflowing its stall.

Vendor text is untrusted: the SVG escapes it; the PNG's and the PDF's fonts (Pillow's built-in font, the PDF's
Helvetica) draw ASCII and Latin-1, so other letters are written without their accents and emoji are left out.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from xml.sax.saxutils import escape

from fpdf import FPDF
from fpdf.fonts import CORE_FONTS_CHARWIDTHS
from PIL import Image, ImageDraw, ImageFont

from market_mcp.documents import latin


@dataclass(frozen=True)
class Stall:
    code: str  # "A12"
    x: float  # top-left corner on the plan, metres; x grows right, y grows down
    y: float
    width: float  # metres
    depth: float
    facing: str  # "N", "S", "E" or "W": the side customers walk up to, drawn as the stall's front
    attributes: tuple[str, ...] = ()  # any of "power", "water", "covered", "corner", "food_safe"
    vendor: str | None = None  # business name of the booking holding it that day (untrusted)
    category: str | None = None  # None or "": uncategorised
    unpaid: bool = False  # the holder still owes money for the booking
    booking_id: int | None = None


@dataclass(frozen=True)
class Feature:
    kind: str  # "entrance", "exit", "toilet", "path", "power", "water", "info", "parking", "other"
    label: str
    x: float
    y: float
    width: float
    depth: float


@dataclass(frozen=True)
class Unassigned:
    booking_id: int
    vendor: str
    category: str | None
    unpaid: bool


@dataclass(frozen=True)
class MapScene:
    title: str  # "Riverside Farmers Market"
    subtitle: str  # "Saturday 12 December 2026"
    stalls: tuple[Stall, ...]
    features: tuple[Feature, ...] = ()
    unassigned: tuple[Unassigned, ...] = ()


@dataclass(frozen=True)
class RosterRow:
    stall: str | None  # None: not yet assigned
    vendor: str
    contact: str
    phone: str
    category: str
    payment: str  # already worded by the caller: "paid" or "owes $45.00"
    needs: str  # "power, food_safe" or ""
    unpaid: bool | None = None  # None: read from payment (it starts "owes")


# Paul Tol's "light" scheme: told apart with any colour vision, and black text reads on every one of them.
PALETTE = ("#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00")
UNCATEGORISED = "#CCCCCC"
EMPTY = "#FFFFFF"
UNPAID = "#D00000"
INK = "#000000"
GREY = "#666666"
PLAN = "#F4F4F4"  # the ground under the plan: 4 levels or more from white (see _png_palette)

ATTRIBUTES = {"power": "P", "water": "W", "covered": "R", "corner": "C", "food_safe": "F"}
ATTRIBUTE_NAMES = {
    "power": "power",
    "water": "water",
    "covered": "covered (roof)",
    "corner": "corner",
    "food_safe": "food safe",
}

# kind: fill, outline, text colour, label when the feature has none
FEATURES = {
    "path": ("#D9D9D9", None, "#555555", "Path"),
    "entrance": ("#2E7D32", None, "#FFFFFF", "Entrance"),
    "exit": ("#555555", None, "#FFFFFF", "Exit"),
    "toilet": ("#CFE2F3", "#1F5F99", "#1F5F99", "WC"),
    "power": ("#FFF3B0", "#9A7D00", "#5C4B00", "Power"),
    "water": ("#D0ECFF", "#1F77B4", "#0B4F80", "Water"),
    "info": ("#E6D5F5", "#6A3D9A", "#4B2A6E", "Info"),
    "parking": ("#EEEEEE", "#999999", "#555555", "Parking"),
    "other": ("#F4F4F4", "#999999", "#555555", "Other"),
}

WIDTH = 1200  # the SVG's and PNG's width, pixels
SCREEN_HEIGHT = 1600  # the SVG's and PNG's height, at most (a long list not yet placed may add to it)
MAX_SCALE = 60  # units per metre: a single stall is drawn large, not the size of the page
UNASSIGNED_SHOWN = 40  # in the SVG and PNG; the PDF shows what fits its page (the roster lists them all)


def category_colours(scene: MapScene) -> dict[str, str]:
    """The colour of each category held on the plan that day: sorted categories onto the palette, in turn."""
    present = sorted({_category(s) for s in scene.stalls if s.vendor is not None} - {None})
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(present)}  # type: ignore[misc]


def _category(stall: Stall) -> str | None:
    return stall.category.strip() if stall.category and stall.category.strip() else None


# ---------------------------------------------------------------- the layout: what goes where


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float
    fill: str | None
    stroke: str | None = None
    stroke_width: float = 1.0
    dashed: bool = False


@dataclass(frozen=True)
class _Line:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: str
    width: float


@dataclass(frozen=True)
class _Text:
    x: float
    y: float  # the middle of the text block, vertically
    text: str
    size: float
    colour: str = INK
    anchor: str = "start"  # start, middle or end, as in SVG
    bold: bool = False
    max_width: float = math.inf
    max_lines: int = 1
    role: str = ""  # the SVG class, for the browser: code, vendor, marks, badge


_Shape = _Box | _Line | _Text


@dataclass(frozen=True)
class _Style:
    line: float  # a legend line's height
    text: float  # the legend's text size
    smallest: float  # the smallest text on the plan (a vendor's name in a small stall)


SCREEN = _Style(line=18, text=11, smallest=7.5)  # pixels, seen on a phone or a laptop
PRINT = _Style(line=13, text=8.5, smallest=6)  # points: 6 pt reads on paper


@dataclass
class _Group:
    kind: str  # the SVG class: stall, unassigned, feature, legend-category, …
    data: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    shapes: list[_Shape] = field(default_factory=list)


@dataclass
class _Drawing:
    width: float
    height: float
    groups: list[_Group]
    scale: float  # units per metre: which page orientation shows the plan larger


def _layout(
    scene: MapScene, *, width: float, max_height: float, legend_width: float, header: bool, style: _Style
) -> _Drawing:
    """Where everything goes, in a canvas `width` wide and at most about `max_height` high: the title, the plan
    scaled to fit, and the legend beside the plan or, when that shows the plan larger, in columns under it."""
    margin, gap = 16.0, 20.0
    groups: list[_Group] = []
    top = margin
    if header:
        groups.append(
            _Group(
                "heading",
                shapes=[
                    _Text(margin, margin + 11, scene.title, 22, bold=True, max_width=width - 2 * margin),
                    _Text(margin, margin + 38, scene.subtitle, 14, GREY, max_width=width - 2 * margin),
                ],
            )
        )
        top = margin + 60
    bounds = _bounds(scene)
    room = max_height - top - margin
    columns = max(1, int((width - 2 * margin + gap) // (legend_width + gap)))

    # Beside: the legend in one column at the right, the bookings not yet placed as many as fit under it.
    beside = _legend(scene, style, legend_width, unassigned_room=room, beside=True)
    beside_width = width - 2 * margin - legend_width - gap
    beside_scale = _scale(bounds, beside_width, room)
    # Under: the legend in columns across the canvas, under the plan.
    under = _legend(scene, style, legend_width, unassigned_room=room / 2, beside=False)
    under_height = _flow(under, columns, legend_width, gap, margin, 0)[1]
    under_scale = _scale(bounds, width - 2 * margin, room - under_height - gap)

    if bounds is not None and under_scale > beside_scale * 1.1:
        map_bottom = _plan(scene, groups, bounds, under_scale, x=margin, y=top, style=style)
        placed, bottom = _flow(under, columns, legend_width, gap, margin, map_bottom + gap)
        groups.extend(placed)
        return _Drawing(width, bottom + margin, groups, under_scale)
    if bounds is None:
        map_bottom = _no_plan(groups, x=margin, y=top, width=beside_width, height=min(200.0, room))
    else:
        map_bottom = _plan(scene, groups, bounds, beside_scale, x=margin, y=top, style=style)
    placed, bottom = _flow(beside, 1, legend_width, gap, width - margin - legend_width, top)
    groups.extend(placed)
    return _Drawing(width, max(map_bottom, bottom) + margin, groups, beside_scale)


def _bounds(scene: MapScene) -> tuple[float, float, float, float] | None:
    """The plan's left, top, width and depth in metres, with half a metre around; None without stalls."""
    if not scene.stalls:
        return None
    pad = 0.5
    things = [(s.x, s.y, s.width, s.depth) for s in scene.stalls]
    things += [(f.x, f.y, f.width, f.depth) for f in scene.features]
    left = min(t[0] for t in things) - pad
    top = min(t[1] for t in things) - pad
    return left, top, max(t[0] + t[2] for t in things) + pad - left, max(t[1] + t[3] for t in things) + pad - top


def _scale(bounds: tuple[float, float, float, float] | None, width: float, height: float) -> float:
    if bounds is None:
        return 0.0
    return max(0.1, min(width / bounds[2], height / bounds[3], MAX_SCALE))


def _no_plan(groups: list[_Group], *, x: float, y: float, width: float, height: float) -> float:
    groups.append(
        _Group(
            "no-plan",
            shapes=[
                _Box(x, y, width, height, PLAN, "#999999", 1, dashed=True),
                _Text(x + width / 2, y + height / 2 - 10, "No site plan", 18, GREY, "middle", bold=True),
                _Text(x + width / 2, y + height / 2 + 14, "No stalls are laid out for this day.", 12, GREY, "middle"),
            ],
        )
    )
    return y + height


def _plan(
    scene: MapScene,
    groups: list[_Group],
    bounds: tuple[float, float, float, float],
    scale: float,
    *,
    x: float,
    y: float,
    style: _Style,
) -> float:
    """The plan at a scale (units per metre); returns its bottom edge."""
    left, top, plan_width, plan_height = bounds

    def box(px: float, py: float, pw: float, ph: float) -> tuple[float, float, float, float]:
        return x + (px - left) * scale, y + (py - top) * scale, pw * scale, ph * scale

    groups.append(_Group("plan", shapes=[_Box(*box(left, top, plan_width, plan_height), PLAN, "#BBBBBB")]))
    for feature in scene.features:
        fill, outline, ink, default = FEATURES.get(feature.kind, FEATURES["other"])
        fx, fy, fw, fh = box(feature.x, feature.y, feature.width, feature.depth)
        label = feature.label.strip() or default
        size = _clamp(min(fw, fh) * 0.45, style.smallest, 12)
        size = max(style.smallest, min(size, size * (fw - 4) / max(1, _helvetica_width(label, size, bold=True))))
        groups.append(
            _Group(
                "feature",
                {"kind": feature.kind},
                f"{label} ({feature.kind})",
                [
                    _Box(fx, fy, fw, fh, fill, outline),
                    _Text(
                        fx + fw / 2,
                        fy + fh / 2,
                        label,
                        size,
                        ink,
                        "middle",
                        bold=feature.kind in ("entrance", "exit"),
                        max_width=fw - 4,
                    ),
                ],
            )
        )
    colours = category_colours(scene)
    for stall in scene.stalls:
        groups.append(_stall(stall, colours, style, box(stall.x, stall.y, stall.width, stall.depth)))
    return y + plan_height * scale


def _stall(stall: Stall, colours: dict[str, str], style: _Style, at: tuple[float, float, float, float]) -> _Group:
    x, y, w, h = at
    occupied = stall.vendor is not None
    category = _category(stall)
    data = {"code": stall.code}
    title = f"{stall.code}: "
    if occupied:
        fill = colours[category] if category else UNCATEGORISED
        rect = _Box(x, y, w, h, fill, UNPAID if stall.unpaid else "#444444", 1)
        if stall.booking_id is not None:
            data["booking-id"] = str(stall.booking_id)
        data["vendor"] = stall.vendor or ""
        title += f"{stall.vendor} ({category or 'no category'})" + (", unpaid" if stall.unpaid else "")
    else:
        rect = _Box(x, y, w, h, EMPTY, "#888888", 1, dashed=True)
        title += "empty"
    if stall.unpaid and occupied:
        data["unpaid"] = "true"
    marks = [ATTRIBUTES[a] for a in ATTRIBUTES if a in stall.attributes]
    if stall.attributes:
        title += "; " + ", ".join(stall.attributes)
    side = min(w, h)
    shapes: list[_Shape] = [rect]
    if stall.unpaid and occupied:  # inside the edge, so it never reads as the neighbour's
        red = _clamp(side * 0.08, 1.5, 3)
        shapes.append(_Box(x + red / 2 + 0.5, y + red / 2 + 0.5, w - red - 1, h - red - 1, None, UNPAID, red))
    front = {"N": (x, y, x + w, y), "S": (x, y + h, x + w, y + h), "W": (x, y, x, y + h), "E": (x + w, y, x + w, y + h)}
    if stall.facing.upper() in front:
        shapes.append(_Line(*front[stall.facing.upper()], "#222222", _clamp(side * 0.08, 2, 3.5)))

    code_size = _clamp(side * 0.2, style.smallest + 0.5, 13)
    vendor_size = _clamp(side * 0.16, style.smallest, 11)
    mark_size = _clamp(side * 0.14, style.smallest - 0.5, 9)
    inset = _clamp(side * 0.08, 2, 4)
    # The code is never cut: in a stall too narrow for it, it is drawn smaller.
    code_size = max(
        5.0, min(code_size, code_size * (w - 2 * inset) / (_helvetica_width(stall.code, code_size, bold=True) * 1.1))
    )
    code_w = _helvetica_width(stall.code, code_size, bold=True) * 1.1  # the PNG's font is a little wider
    shapes.append(_Text(x + inset, y + inset + code_size / 2, stall.code, code_size, bold=True, role="code"))
    bottom = y + h - inset  # of the room left for the vendor's name
    if marks and h >= 2 * inset + code_size + mark_size + 1:
        marks_text = " ".join(marks)
        shapes.append(
            _Text(x + inset, bottom - mark_size / 2, marks_text, mark_size, "#222222", max_width=w / 2, role="marks")
        )
        bottom -= mark_size
    if stall.unpaid and occupied and side >= 24:  # in a smaller stall, the red outline says it alone
        badge = "$ owed" if w >= 90 else "$"
        badge_size = _clamp(code_size, style.smallest, 11)
        pad = 3 if side >= 40 else 1.5
        badge_w, badge_h = _helvetica_width(badge, badge_size, bold=True) + 2 * pad, badge_size + 2 * pad - 2
        bx = x + w - inset - badge_w
        if w - 2 * inset - code_w - 2 >= badge_w:  # beside the code
            by = y + inset + code_size / 2 - badge_h / 2
        else:  # at the bottom, right, beside the marks
            by = y + h - inset - badge_h
            bottom = min(bottom, by)
        shapes.append(_Box(bx, by, badge_w, badge_h, UNPAID))
        shapes.append(
            _Text(bx + badge_w / 2, by + badge_h / 2, badge, badge_size, "#FFFFFF", "middle", bold=True, role="badge")
        )
    top = y + inset + code_size + 2
    if occupied and bottom - 2 - top >= vendor_size:  # else no room: the title and the roster name it
        bottom -= 2
        lines = max(1, min(3, int((bottom - top) // (vendor_size * 1.2))))
        vendor = stall.vendor or ""
        shapes.append(
            _Text(
                x + w / 2,
                (top + bottom) / 2,
                vendor,
                vendor_size,
                anchor="middle",
                max_width=w - 2 * inset,
                max_lines=lines,
                role="vendor",
            )
        )
    return _Group("stall", data, title, shapes)


@dataclass(frozen=True)
class _Block:
    """A piece of the legend, placed whole: a heading, an entry, the box of bookings not yet placed."""

    height: float
    paint: Callable[[float, float], list[_Group]]  # at x, y
    starts: bool = False  # starts a section (a heading and its entries), kept together where it can be


def _legend(scene: MapScene, style: _Style, width: float, *, unassigned_room: float, beside: bool) -> list[_Block]:
    """The legend (only what the plan shows), then the bookings not yet placed: as many as fit in
    unassigned_room (less the legend's height when it is one column beside the plan), then "… and N more"."""
    line, size, swatch = style.line, style.text, style.line * 0.8
    blocks: list[_Block] = []

    def entry(kind: str, label: str, marks: Callable[[float, float], list[_Shape]], data: dict[str, str] | None = None):
        def paint(x: float, y: float) -> list[_Group]:
            text = _Text(x + swatch + 8, y + line / 2, label, size, max_width=width - swatch - 8)
            return [_Group(kind, data or {}, label, [*marks(x, y), text])]

        blocks.append(_Block(line, paint))

    def heading(text: str) -> None:
        def paint(x: float, y: float) -> list[_Group]:
            return [
                _Group(
                    "legend-heading", shapes=[_Text(x, y + 4 + line / 2, text, size + 1, bold=True, max_width=width)]
                )
            ]

        blocks.append(_Block(line + 4, paint, starts=True))

    def sample(fill: str, stroke: str | None = "#444444", stroke_width: float = 1, dashed: bool = False):
        return lambda x, y: [_Box(x, y + 2, swatch, line - 4, fill, stroke, stroke_width, dashed)]

    def letter(text: str, colour: str = "#222222"):
        return lambda x, y: [_Text(x + swatch / 2, y + line / 2, text, size, colour, "middle", bold=True)]

    colours = category_colours(scene)
    occupied = [s for s in scene.stalls if s.vendor is not None]
    if occupied:
        heading("Categories")
        for category, colour in colours.items():
            entry("legend-category", category, sample(colour), {"category": category})
        if any(_category(s) is None for s in occupied):
            entry("legend-category", "No category", sample(UNCATEGORISED), {"category": ""})
    if scene.stalls:
        heading("Stalls")
        entry("legend-empty", "Empty stall", sample(EMPTY, "#888888", 1, dashed=True))
        unpaid = sample("#FFFFFF", UNPAID, 2.5)
        entry("legend-unpaid", "Unpaid: holder owes money", lambda x, y: unpaid(x, y) + letter("$", UNPAID)(x, y))
        front = sample("#FFFFFF", None)
        entry(
            "legend-front",
            "Thick edge: the stall's front",
            lambda x, y: [*front(x, y), _Line(x, y + 3, x + swatch, y + 3, "#222222", 3.5)],
        )
        for attribute in ATTRIBUTES:
            if any(attribute in s.attributes for s in scene.stalls):
                label = ATTRIBUTE_NAMES[attribute].capitalize()
                entry("legend-mark", label, letter(ATTRIBUTES[attribute]), {"attribute": attribute})
    kinds = sorted({f.kind if f.kind in FEATURES else "other" for f in scene.features})
    if kinds:
        heading("Features")
        for kind in kinds:
            fill, outline, _, default = FEATURES[kind]
            entry("legend-feature", default, sample(fill, outline), {"kind": kind})
    if scene.unassigned:
        if beside:  # under the legend, in its column
            unassigned_room -= sum(b.height for b in blocks)
        blocks.append(_unassigned(scene.unassigned, style, width, room=unassigned_room))
    return blocks


def _unassigned(items: Sequence[Unassigned], style: _Style, width: float, *, room: float) -> _Block:
    line, size = style.line, style.text
    shown = min(len(items), UNASSIGNED_SHOWN, max(3, int((room - 2 * line - 18) // line)))
    if shown < len(items):
        shown -= 1  # a line for "and N more"
    height = 6 + 4 + line * (1 + shown + (shown < len(items))) + 4

    def paint(x: float, y: float) -> list[_Group]:
        y += 6
        groups = [_Group("unassigned-box", shapes=[_Box(x, y, width, height - 6, "#FFFFFF", "#888888")])]
        y += 4
        heading = _Text(
            x + 6, y + line / 2, f"Not yet placed ({len(items)})", size + 1, bold=True, max_width=width - 12
        )
        groups.append(_Group("unassigned-heading", shapes=[heading]))
        y += line
        for item in items[:shown]:
            owed = "$ owed" if item.unpaid else ""
            owed_width = _helvetica_width(owed, size - 1, bold=True) + 6 if owed else 0
            shapes: list[_Shape] = [
                _Text(x + 6, y + line / 2, item.vendor, size, max_width=width - 12 - owed_width, role="vendor")
            ]
            if owed:
                shapes.append(
                    _Text(x + width - 6, y + line / 2, owed, size - 1, UNPAID, "end", bold=True, role="badge")
                )
            category = (item.category or "").strip() or "no category"
            title = f"{item.vendor} ({category}){', unpaid' if item.unpaid else ''}, not yet placed"
            groups.append(_Group("unassigned", {"booking-id": str(item.booking_id)}, title, shapes))
            y += line
        if shown < len(items):
            more = _Text(x + 6, y + line / 2, f"… and {len(items) - shown} more", size, GREY)
            groups.append(_Group("unassigned-more", shapes=[more]))
        return groups

    return _Block(height, paint, starts=True)


def _flow(
    blocks: list[_Block], columns: int, width: float, gap: float, x: float, y: float
) -> tuple[list[_Group], float]:
    """The blocks in up to `columns` columns from x, y, a section not split unless it is taller than a column;
    returns their groups and bottom edge."""
    sections: list[list[_Block]] = []
    for block in blocks:
        if block.starts or not sections:
            sections.append([])
        sections[-1].append(block)
    heights = [sum(b.height for b in section) for section in sections]
    target = max([sum(heights) / columns, *heights]) if heights else 0
    groups: list[_Group] = []
    column, at, bottom = 0, y, y
    for section, height in zip(sections, heights, strict=True):
        if at > y and at - y + height > target + 1 and column < columns - 1:
            column, at = column + 1, y
        for block in section:
            groups.extend(block.paint(x + column * (width + gap), at))
            at += block.height
        bottom = max(bottom, at)
    return groups, bottom


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _helvetica_width(text: str, size: float, *, bold: bool = False) -> float:
    widths = CORE_FONTS_CHARWIDTHS["helveticaB" if bold else "helvetica"]
    return sum(widths.get(c, 1000 if ord(c) > 0x2000 else 556) for c in text) * size / 1000


# ---------------------------------------------------------------- text: cleaned, fitted


_CONTROLS = (
    {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF)}
    | {chr(c) for c in range(0xD800, 0xE000)}  # a lone surrogate, from JSON's "\ud800"
    | set("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def _clean(text: str) -> str:
    """One line, without control or text-direction characters (XML refuses the one, the other reorders a map)."""
    return " ".join("".join(" " if c in _CONTROLS else c for c in text).split())


def _plain(text: str) -> str:
    """Without emoji and other pictographs: the PNG's and PDF's fonts have no glyph for them."""
    kept = "".join(c for c in _clean(text) if not _pictograph(c))
    return " ".join(kept.split()) or ("?" if text.strip() else "")


def _pictograph(char: str) -> bool:
    category = unicodedata.category(char)
    return category in ("So", "Cf", "Mn", "Co") or (category == "Sk" and ord(char) > 0x2000)  # skin tones


def _fit(text: str, max_width: float, max_lines: int, measure: Callable[[str], float], ellipsis: str) -> list[str]:
    """The text in at most max_lines lines of max_width, broken between words, the last cut with an ellipsis."""
    if measure(text) <= max_width:
        return [text] if text else []
    words, lines = text.split(" "), []
    while words and len(lines) < max_lines - 1:
        line = words.pop(0)
        while words and measure(f"{line} {words[0]}") <= max_width:
            line += " " + words.pop(0)
        if measure(line) > max_width:  # one word wider than the line: cut it here, carry on with the rest
            cut = _cut(line, max_width, measure, "")
            words.insert(0, line[len(cut) :])
            line = cut
        if not line:
            break
        lines.append(line)
    rest = " ".join(words)
    if rest:
        last = rest if measure(rest) <= max_width else _cut(rest, max_width, measure, ellipsis)
        if last:
            lines.append(last)
        elif lines:
            lines[-1] = _cut(lines[-1], max_width, measure, ellipsis)
    return lines


def _cut(text: str, max_width: float, measure: Callable[[str], float], ellipsis: str) -> str:
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if measure(text[:middle].rstrip() + ellipsis) <= max_width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ellipsis if low else ""


def _lines(text: _Text, measure: Callable[[str], float], ellipsis: str) -> list[tuple[float, str]]:
    """The fitted lines of a text, each with its baseline."""
    lines = _fit(text.text, text.max_width, text.max_lines, measure, ellipsis)
    height = text.size * 1.2
    first = text.y - height * (len(lines) - 1) / 2 + text.size * 0.35
    return [(first + i * height, line) for i, line in enumerate(lines)]


# ---------------------------------------------------------------- SVG


def _screen(scene: MapScene) -> _Drawing:
    """The SVG's and the PNG's layout: one, so the PNG's pixels are where the SVG's rectangles say."""
    return _layout(scene, width=WIDTH, max_height=SCREEN_HEIGHT, legend_width=280, header=True, style=SCREEN)


def svg(scene: MapScene) -> str:
    """The map as an SVG document: each stall a `<g class="stall" data-code>` (with `data-booking-id`,
    `data-vendor` and `data-unpaid` when held) around its `<rect>`, each booking not yet placed a
    `<g class="unassigned" data-booking-id>`; every vendor's text escaped."""
    drawing = _screen(scene)
    width, height = round(drawing.width), math.ceil(drawing.height)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="Helvetica, Arial, sans-serif" role="img">',
        f"<title>{escape(_clean(f'{scene.title}: {scene.subtitle}'))}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>',
    ]
    for group in drawing.groups:
        attributes = "".join(f' data-{k}="{_attribute(v)}"' for k, v in group.data.items())
        out.append(f'<g class="{group.kind}"{attributes}>')
        if group.title:
            out.append(f"<title>{escape(_clean(group.title))}</title>")
        out.extend(_svg_shape(shape) for shape in group.shapes)
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_shape(shape: _Shape) -> str:
    if isinstance(shape, _Box):
        paint = f' fill="{shape.fill or "none"}"'
        if shape.stroke:
            paint += f' stroke="{shape.stroke}" stroke-width="{_n(shape.stroke_width)}"'
            if shape.dashed:
                paint += ' stroke-dasharray="4 3"'
        return f'<rect x="{_n(shape.x)}" y="{_n(shape.y)}" width="{_n(shape.w)}" height="{_n(shape.h)}"{paint}/>'
    if isinstance(shape, _Line):
        return (
            f'<line x1="{_n(shape.x1)}" y1="{_n(shape.y1)}" x2="{_n(shape.x2)}" y2="{_n(shape.y2)}" '
            f'stroke="{shape.colour}" stroke-width="{_n(shape.width)}"/>'
        )
    bold = shape.bold

    def measure(text: str) -> float:
        return _helvetica_width(text, shape.size, bold=bold)

    weight = ' font-weight="bold"' if bold else ""
    anchor = f' text-anchor="{shape.anchor}"' if shape.anchor != "start" else ""
    role = f' class="{shape.role}"' if shape.role else ""
    out = []
    for y, line in _lines(replace(shape, text=_clean(shape.text)), measure, "…"):
        # Fitted with Helvetica's widths (Arial's are the same); where the browser has neither, its font may be
        # wider, so a line that nearly fills its room is held to the width Helvetica would give it.
        width = measure(line)
        length = f' textLength="{_n(width)}" lengthAdjust="spacingAndGlyphs"' if width > 0.7 * shape.max_width else ""
        out.append(
            f'<text{role} x="{_n(shape.x)}" y="{_n(y)}" font-size="{_n(shape.size)}" fill="{shape.colour}"'
            f"{weight}{anchor}{length}>{escape(line)}</text>"
        )
    return "".join(out)


def _attribute(value: str) -> str:
    return escape(_clean(value), {'"': "&quot;"})


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


# ---------------------------------------------------------------- PNG


def png(scene: MapScene) -> bytes:
    """The map as a PNG, as wide as the SVG and drawn from the same layout (pixel for pixel where the SVG's
    rectangles are), in a palette of the colours it uses: a few tens of kilobytes."""
    drawing = _screen(scene)
    image = Image.new("RGB", (round(drawing.width), math.ceil(drawing.height)), "#FFFFFF")
    draw = ImageDraw.Draw(image)
    for group in drawing.groups:
        for shape in group.shapes:
            _png_shape(draw, shape)
    out = io.BytesIO()
    image.quantize(palette=_png_palette(drawing), dither=Image.Dither.NONE).save(out, "PNG", optimize=True)
    return out.getvalue()


def _png_shape(draw: ImageDraw.ImageDraw, shape: _Shape) -> None:
    if isinstance(shape, _Box):
        x0, y0, x1, y1 = round(shape.x), round(shape.y), round(shape.x + shape.w), round(shape.y + shape.h)
        if shape.fill:
            draw.rectangle((x0, y0, x1, y1), fill=shape.fill)
        if shape.stroke and shape.dashed:
            for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x0, y1), (x1, y1)), ((x0, y0), (x0, y1))):
                _png_dashes(draw, a, b, shape.stroke)
        elif shape.stroke:
            inner = max(1, round(shape.stroke_width))
            grow = inner // 2  # centred on the edge, as SVG and PDF stroke it
            draw.rectangle((x0 - grow, y0 - grow, x1 + grow, y1 + grow), outline=shape.stroke, width=inner)
        return
    if isinstance(shape, _Line):
        draw.line(
            (round(shape.x1), round(shape.y1), round(shape.x2), round(shape.y2)),
            fill=shape.colour,
            width=round(shape.width),
        )
        return
    font = _png_font(shape.size)
    for y, line in _lines(replace(shape, text=_png_text(shape.text)), font.getlength, "…"):
        if isinstance(font, ImageFont.FreeTypeFont):
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[shape.anchor]
            draw.text((shape.x, y), line, font=font, fill=shape.colour, anchor=anchor)
            if shape.bold and shape.size >= 10:  # the built-in font has no bold: drawn twice, a little apart
                draw.text((shape.x + 0.7, y), line, font=font, fill=shape.colour, anchor=anchor)
        else:  # Pillow without FreeType: its small bitmap font, which knows no anchors
            x = shape.x - {"start": 0, "middle": font.getlength(line) / 2, "end": font.getlength(line)}[shape.anchor]
            draw.text((x, y - 8), line, font=font, fill=shape.colour)


def _png_dashes(draw: ImageDraw.ImageDraw, a: tuple[int, int], b: tuple[int, int], colour: str) -> None:
    length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
    for start in range(0, length, 7):
        end = min(start + 4, length)
        t0, t1 = start / length, end / length
        draw.line(
            (
                a[0] + (b[0] - a[0]) * t0,
                a[1] + (b[1] - a[1]) * t0,
                a[0] + (b[0] - a[0]) * t1,
                a[1] + (b[1] - a[1]) * t1,
            ),
            fill=colour,
        )


@cache
def _png_font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own scalable font (Pillow ≥ 10.1, with FreeType): no font file from the system is needed."""
    try:
        return ImageFont.load_default(size=round(size * 2) / 2)
    except TypeError:  # Pillow before 10.1
        return ImageFont.load_default()


@cache
def _png_has(char: str) -> bool:
    font = _png_font(20)
    return char == " " or bytes(font.getmask(char)) != bytes(font.getmask("\U0010fffd"))


def _png_text(text: str) -> str:
    """Text the built-in font draws (ASCII and a little punctuation): accented letters without their accents."""
    out = []
    for char in _plain(text):
        if not _png_has(char):
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            char = base if base and all(_png_has(c) for c in base) else "?"
        out.append(char)
    return "".join(out)


def _png_palette(drawing: _Drawing) -> Image.Image:
    """Every colour drawn, and the blends antialiased text makes with them, so that each fill keeps its exact
    colour. Pillow maps a colour to the palette entry nearest the corner of its 4×4×4 cell, so a blend nearer that
    corner than the colour itself would take its place: such a blend is left out."""
    fills, inks = {"#FFFFFF"}, set()
    for group in drawing.groups:
        for shape in group.shapes:
            if isinstance(shape, _Box):
                fills |= {c for c in (shape.fill, shape.stroke) if c}
            elif isinstance(shape, _Line):
                fills.add(shape.colour)
            else:
                inks.add(shape.colour)
    exact = [_rgb(c) for c in sorted(fills | inks)]
    blends = [(v, v, v) for v in range(0, 256, 17)]
    for fill in sorted(fills):
        for ink in sorted(inks):
            for t in (0.25, 0.5, 0.75):
                blends.append(tuple(round(f + (i - f) * t) for f, i in zip(_rgb(fill), _rgb(ink), strict=True)))

    def distance(a: tuple[int, ...], b: tuple[int, ...]) -> int:
        return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))

    corners = [(colour, tuple(v & ~3 for v in colour)) for colour in exact]
    safe = [b for b in blends if all(distance(b, corner) > distance(c, corner) for c, corner in corners)]
    unique = list(dict.fromkeys(exact + safe))[:256]
    unique += [unique[0]] * (256 - len(unique))
    palette = Image.new("P", (1, 1))
    palette.putpalette([v for colour in unique for v in colour])
    return palette


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


# ---------------------------------------------------------------- PDF


A4 = (595.28, 841.89)  # points
PAGE_MARGIN = 28.0
HEADER = 40.0  # the band at the top of each page: title, subtitle, printed
FOOTER = 24.0
ROSTER_COLUMNS = (
    ("Stall", 34),
    ("Vendor", 118),
    ("Contact", 84),
    ("Phone", 72),
    ("Category", 62),
    ("Payment", 92),
    ("Needs", 77),
)  # 539 pt: A4's width inside the margins


class _Sheet(FPDF):
    def __init__(self, scene: MapScene, printed: str) -> None:
        super().__init__(orientation="P", unit="pt", format="A4")
        self.heading = (latin(_plain(scene.title)), latin(_plain(scene.subtitle)), latin(_plain(printed)))
        self.set_margins(PAGE_MARGIN, PAGE_MARGIN + HEADER, PAGE_MARGIN)
        self.set_auto_page_break(False)
        self.alias_nb_pages()

    def header(self) -> None:
        title, subtitle, printed = self.heading
        width = self.w - 2 * PAGE_MARGIN
        self.set_text_color(0, 0, 0)
        self.set_font("helvetica", "B", 14)
        self._line(title, PAGE_MARGIN, PAGE_MARGIN + 10, width * 0.7)
        self.set_font("helvetica", "", 10)
        self._line(subtitle, PAGE_MARGIN, PAGE_MARGIN + 25, width * 0.7)
        self.set_font("helvetica", "", 8)
        self._line(printed, self.w - PAGE_MARGIN, PAGE_MARGIN + 10, width * 0.28, right=True)
        self.set_draw_color(180, 180, 180)
        self.set_line_width(0.5)
        self.line(PAGE_MARGIN, PAGE_MARGIN + 31, self.w - PAGE_MARGIN, PAGE_MARGIN + 31)

    def footer(self) -> None:
        self.set_font("helvetica", "", 8)
        self.set_text_color(100, 100, 100)
        self.set_xy(self.w - PAGE_MARGIN - 100, self.h - PAGE_MARGIN - 2)
        self.cell(100, 10, f"Page {self.page_no()} of {{nb}}", align="R")  # a cell: fpdf2 fills in {nb} only there
        self._line(f"{self.heading[0]} - {self.heading[1]}", PAGE_MARGIN, self.h - PAGE_MARGIN + 6, self.w * 0.6)

    def _line(self, text: str, x: float, baseline: float, width: float, *, right: bool = False) -> None:
        for line in _fit(text, width, 1, self.get_string_width, "..."):
            self.text(x - self.get_string_width(line) if right else x, baseline, line)


def sheet_pdf(scene: MapScene, roster: Sequence[RosterRow], *, printed: str) -> bytes:
    """The market-day sheet, A4: the map and its legend on page 1 (landscape or portrait, whichever shows the
    plan larger), then the roster by stall code (A2 before A10), those not yet placed last, unpaid rows marked."""
    orientation, drawing, (room_w, room_h) = _sheet_map(scene)
    pdf = _Sheet(scene, printed)
    pdf.set_title(latin(_plain(f"{scene.title} - {scene.subtitle}")))
    pdf.set_creator("market-mcp")
    pdf.add_page(orientation=orientation)
    fit = min(1.0, room_w / drawing.width, room_h / drawing.height)  # a legend taller than the page: all smaller
    for group in drawing.groups:
        for shape in group.shapes:
            _pdf_shape(pdf, _moved(shape, fit, PAGE_MARGIN - 16 * fit, PAGE_MARGIN + HEADER - 16 * fit))
    _roster(pdf, roster)
    return bytes(pdf.output())


def _sheet_map(scene: MapScene) -> tuple[str, _Drawing, tuple[float, float]]:
    """The map's orientation, layout and room (with the layout's margins) on page 1: landscape, unless portrait
    shows the plan larger."""
    layouts = []
    for orientation, (page_w, page_h) in (("L", (A4[1], A4[0])), ("P", A4)):
        room = (page_w - 2 * PAGE_MARGIN + 32, page_h - 2 * PAGE_MARGIN - HEADER - FOOTER + 32)
        drawing = _layout(scene, width=room[0], max_height=room[1], legend_width=170, header=False, style=PRINT)
        layouts.append((drawing.scale, orientation == "L", orientation, drawing, room))
    return max(layouts, key=lambda t: t[:2])[2:]


def _moved(shape: _Shape, k: float, dx: float, dy: float) -> _Shape:
    """The shape scaled by k, then moved by dx, dy."""
    if isinstance(shape, _Box):
        return replace(
            shape,
            x=shape.x * k + dx,
            y=shape.y * k + dy,
            w=shape.w * k,
            h=shape.h * k,
            stroke_width=shape.stroke_width * k,
        )
    if isinstance(shape, _Line):
        return replace(
            shape,
            x1=shape.x1 * k + dx,
            y1=shape.y1 * k + dy,
            x2=shape.x2 * k + dx,
            y2=shape.y2 * k + dy,
            width=shape.width * k,
        )
    return replace(shape, x=shape.x * k + dx, y=shape.y * k + dy, size=shape.size * k, max_width=shape.max_width * k)


def _pdf_shape(pdf: FPDF, shape: _Shape) -> None:
    if isinstance(shape, _Box):
        style = ""
        if shape.fill:
            pdf.set_fill_color(*_rgb(shape.fill))
            style += "F"
        if shape.stroke:
            pdf.set_draw_color(*_rgb(shape.stroke))
            pdf.set_line_width(shape.stroke_width * 0.8)
            if shape.dashed:
                pdf.set_dash_pattern(dash=3, gap=2)
            style = "D" + style
        if style:
            pdf.rect(shape.x, shape.y, shape.w, shape.h, style=style)
        pdf.set_dash_pattern()
        return
    if isinstance(shape, _Line):
        pdf.set_draw_color(*_rgb(shape.colour))
        pdf.set_line_width(shape.width * 0.8)
        pdf.line(shape.x1, shape.y1, shape.x2, shape.y2)
        return
    pdf.set_font("helvetica", "B" if shape.bold else "", shape.size)
    pdf.set_text_color(*_rgb(shape.colour))
    for y, line in _lines(replace(shape, text=latin(_plain(shape.text))), pdf.get_string_width, "..."):
        width = pdf.get_string_width(line)
        x = shape.x - {"start": 0, "middle": width / 2, "end": width}[shape.anchor]
        pdf.text(x, y, line)


def _stall_order(row: RosterRow) -> tuple:
    if not (row.stall or "").strip():
        return (1, (), row.vendor.casefold())
    parts = re.split(r"(\d+)", row.stall.strip().upper())
    return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p), row.vendor.casefold())


def _is_unpaid(row: RosterRow) -> bool:
    if row.unpaid is not None:
        return row.unpaid
    return row.payment.strip().lower().startswith(("owe", "unpaid"))


def _roster(pdf: _Sheet, roster: Sequence[RosterRow]) -> None:
    pdf.add_page(orientation="P")
    rows = sorted(roster, key=_stall_order)
    owing = sum(1 for row in rows if _is_unpaid(row))
    y = PAGE_MARGIN + HEADER
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("helvetica", "B", 12)
    pdf.text(PAGE_MARGIN, y + 8, f"Roster ({len(rows)} booking{'' if len(rows) == 1 else 's'})")
    pdf.set_font("helvetica", "", 9)
    owe = "owes" if owing == 1 else "owe"
    note = f"{owing} still {owe} money: shaded red, marked UNPAID." if owing else "Everyone has paid."
    pdf.text(PAGE_MARGIN + 160, y + 8, note)
    y += 18
    row_h, bottom = 15.0, pdf.h - PAGE_MARGIN - FOOTER

    def headings(y: float) -> float:
        pdf.set_fill_color(230, 230, 230)
        pdf.rect(PAGE_MARGIN, y, sum(w for _, w in ROSTER_COLUMNS), row_h, style="F")
        pdf.set_font("helvetica", "B", 9)
        pdf.set_text_color(0, 0, 0)
        x = PAGE_MARGIN
        for name, width in ROSTER_COLUMNS:
            pdf.text(x + 3, y + 10.5, name)
            x += width
        return y + row_h

    y = headings(y)
    if not rows:
        pdf.set_font("helvetica", "I", 9)
        pdf.text(PAGE_MARGIN + 3, y + 10.5, "No bookings for this day.")
    table_width = sum(w for _, w in ROSTER_COLUMNS)
    for row in rows:
        unpaid = _is_unpaid(row)
        payment = f"UNPAID {row.payment}" if unpaid and "unpaid" not in row.payment.lower() else row.payment
        cells = (
            (row.stall or "").strip() or "not placed",
            row.vendor,
            row.contact,
            row.phone,
            row.category,
            payment,
            row.needs,
        )
        styles = ["B" if (row.stall or "").strip() else "I", "", "", "", "", "B" if unpaid else "", ""]
        fitted = []
        for (_, width), text, style in zip(ROSTER_COLUMNS, cells, styles, strict=True):
            pdf.set_font("helvetica", style, 8.5)
            most = 6 if len(fitted) == 1 else 3  # the vendor's name in full, nearly always
            fitted.append(_fit(latin(_plain(text)), width - 5, most, pdf.get_string_width, "..."))
        height = row_h + 10 * (max(len(lines) for lines in fitted) - 1)  # a long name wraps, whole
        if y + height > bottom:
            pdf.add_page(orientation="P")
            y = headings(PAGE_MARGIN + HEADER)
        if unpaid:
            pdf.set_fill_color(253, 222, 222)
            pdf.rect(PAGE_MARGIN, y, table_width, height, style="F")
        pdf.set_draw_color(210, 210, 210)
        pdf.set_line_width(0.4)
        pdf.line(PAGE_MARGIN, y + height, PAGE_MARGIN + table_width, y + height)
        x = PAGE_MARGIN
        for i, ((_, width), lines, style) in enumerate(zip(ROSTER_COLUMNS, fitted, styles, strict=True)):
            pdf.set_font("helvetica", style, 8.5)
            pdf.set_text_color(*(_rgb(UNPAID) if unpaid and i == 5 else (0, 0, 0)))
            for n, line in enumerate(lines):
                pdf.text(x + 3, y + 10.5 + 10 * n, line)
            x += width
        y += height
