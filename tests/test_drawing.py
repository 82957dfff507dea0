"""The market day's site map as a person sees it: each output (SVG, PNG, PDF) is decoded and read back."""

from __future__ import annotations

import io
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import replace

from PIL import Image
from pypdf import PdfReader

from market_mcp.drawing import (
    PALETTE,
    UNCATEGORISED,
    UNPAID,
    Feature,
    MapScene,
    RosterRow,
    Stall,
    Unassigned,
    category_colours,
    png,
    sheet_pdf,
    svg,
)

SVG = "{http://www.w3.org/2000/svg}"
SCRIPT = '<script>alert(1)</script> & "Sons"'
EMOJI = "Crumb 🍞 Bakehouse"
LONG = "The Very Long Named Organic Heritage Orchard and Cider Company of the Upper Vale"  # 80 characters
CATEGORIES = ("bakery", "produce", "dairy", "flowers", "coffee", "crafts")


def market(rows: str = "ABCD", per_row: int = 15) -> MapScene:
    """Rows A–D of 15 3×3 m stalls in two facing pairs (A faces B across a path, C faces D), most of them held."""
    stalls = []
    number = 0
    for r, row in enumerate(rows):
        pair, inner = divmod(r, 2)
        y = 3.0 + pair * 11.0 + inner * 6.0  # 3 m of path between the stalls of a pair, 2 m between pairs
        for i in range(per_row):
            number += 1
            code = f"{row}{i + 1}"
            held = number % 4 != 0 or code in ("A2", "A3", "B6")  # 45 of 60 held
            vendor = f"Vendor {code}" if held else None
            if code == "A2":
                vendor = SCRIPT
            elif code == "A3":
                vendor = EMOJI
            elif code == "B6":
                vendor = LONG
            stalls.append(
                Stall(
                    code=code,
                    x=2.0 + i * 3.0,
                    y=y,
                    width=3.0,
                    depth=3.0,
                    facing="S" if inner == 0 else "N",
                    attributes=("power",) if i % 5 == 0 else (("water", "food_safe") if i % 7 == 0 else ()),
                    vendor=vendor,
                    category=CATEGORIES[number % 6] if held else None,
                    unpaid=held and number % 5 == 0,
                    booking_id=100 + number if held else None,
                )
            )
    features = (
        Feature("entrance", "Main gate", 0.0, 6.0, 2.0, 3.0),
        Feature("path", "Centre aisle", 2.0, 6.0, 45.0, 3.0),
        Feature("toilet", "Toilets", 48.0, 1.0, 3.0, 3.0),
        Feature("info", "Info", 48.0, 12.0, 3.0, 3.0),
    )
    unassigned = (
        Unassigned(901, "Late Larder", "produce", unpaid=True),
        Unassigned(902, "Pip & Pickle", "crafts", unpaid=False),
        Unassigned(903, "Māori Kai Co", None, unpaid=True),
    )
    return MapScene("Riverside Farmers Market", "Saturday 12 December 2026", tuple(stalls), features, unassigned)


def roster(scene: MapScene) -> list[RosterRow]:
    rows = [
        RosterRow(
            stall=s.code,
            vendor=s.vendor,
            contact=f"Contact {s.code}",
            phone=f"021 555 {s.booking_id:04d}",
            category=s.category or "",
            payment="owes $45.00" if s.unpaid else "paid",
            needs=", ".join(s.attributes),
        )
        for s in reversed(scene.stalls)
        if s.vendor is not None
    ]
    rows += [
        RosterRow(
            None,
            u.vendor,
            "Someone",
            f"022 444 {u.booking_id}",
            u.category or "",
            "owes $30.00" if u.unpaid else "paid",
            "",
        )
        for u in scene.unassigned
    ]
    return rows


def held(scene: MapScene) -> list[Stall]:
    return [s for s in scene.stalls if s.vendor is not None]


def texts(element: ET.Element, role: str | None = None) -> list[str]:
    return [t.text for t in element.iter(f"{SVG}text") if role is None or t.get("class") == role]


def stall_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-code"): g for g in root.iter(f"{SVG}g") if g.get("class") == "stall"}


# ---------------------------------------------------------------- the scene


def test_the_sample_market_is_what_the_tests_say_it_is() -> None:
    scene = market()
    assert len(scene.stalls) == 60
    assert len(held(scene)) == 45
    assert {s.category for s in held(scene)} == set(CATEGORIES)
    assert sum(s.unpaid for s in scene.stalls) == 9
    assert len(LONG) == 80


def test_category_colours_are_the_sorted_categories_on_the_palette_in_turn() -> None:
    assert category_colours(market()) == {c: PALETTE[i] for i, c in enumerate(sorted(CATEGORIES))}


# ---------------------------------------------------------------- SVG


def test_the_svg_parses_as_one_svg_root_with_a_size_and_a_view_box() -> None:
    root = ET.fromstring(svg(market()))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert 1000 <= int(root.get("width")) <= 1200


def test_each_stall_is_one_group_with_its_code_and_its_holder() -> None:
    scene = market()
    groups = stall_groups(ET.fromstring(svg(scene)))
    assert list(groups) == [s.code for s in scene.stalls]
    for stall in scene.stalls:
        group = groups[stall.code]
        assert len(group.findall(f"{SVG}rect")) >= 1
        if stall.vendor is None:
            assert "data-booking-id" not in group.attrib and "data-vendor" not in group.attrib
        else:
            assert group.get("data-booking-id") == str(stall.booking_id)
            assert group.get("data-vendor") == stall.vendor


def test_each_stall_shows_its_code_and_says_who_holds_it_in_its_title() -> None:
    scene = market()
    groups = stall_groups(ET.fromstring(svg(scene)))
    assert groups["A1"].find(f"{SVG}title").text == "A1: Vendor A1 (produce); power"
    assert groups["A5"].find(f"{SVG}title").text == "A5: Vendor A5 (crafts), unpaid"
    assert groups["A4"].find(f"{SVG}title").text == "A4: empty"
    for stall in scene.stalls:
        assert stall.code in [t.text for t in groups[stall.code].iter(f"{SVG}text")]


def test_vendor_text_is_escaped_and_no_script_is_live() -> None:
    out = svg(market())
    assert "<script" not in out
    assert 'data-vendor="&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Sons&quot;"' in out
    assert '<title>A2: &lt;script&gt;alert(1)&lt;/script&gt; &amp; "Sons" (dairy)</title>' in out
    assert stall_groups(ET.fromstring(out))["A2"].get("data-vendor") == SCRIPT
    assert not list(ET.fromstring(out).iter(f"{SVG}script"))


def test_control_characters_and_lone_surrogates_never_break_the_svg() -> None:
    stall = Stall("A1", 0, 0, 3, 3, "N", vendor="Bad\x00\x1b\x85 Name\ud800\u202e", category="x\x07", booking_id=1)
    root = ET.fromstring(svg(MapScene("T\x0b", "S", (stall,))))
    assert stall_groups(root)["A1"].get("data-vendor") == "Bad Name"


def test_every_held_stall_names_its_vendor_cut_to_fit_with_an_ellipsis() -> None:
    scene = market()
    groups = stall_groups(ET.fromstring(svg(scene)))
    for stall in held(scene):
        shown = " ".join(texts(groups[stall.code], "vendor"))
        if shown.endswith("…"):
            start = shown.removesuffix("…").replace(" ", "")  # a long word may break across lines
            assert stall.vendor.replace(" ", "").startswith(start) and len(start) > 3, (stall.code, shown)
        else:
            assert shown.replace(" ", "") == stall.vendor.replace(" ", ""), (stall.code, shown)
    long_name = " ".join(texts(groups["B6"], "vendor"))
    assert long_name.endswith("…") and LONG.startswith(long_name[:-1]) and len(long_name) < 30
    assert texts(groups["A3"], "vendor") == ["Crumb 🍞", "Bakehouse"]  # a browser draws emoji


def test_a_held_stall_is_filled_with_its_category_colour_and_an_empty_one_is_white_and_dashed() -> None:
    scene = market()
    colours = category_colours(scene)
    groups = stall_groups(ET.fromstring(svg(scene)))
    for stall in scene.stalls:
        rect = groups[stall.code].find(f"{SVG}rect")
        if stall.vendor is None:
            assert (rect.get("fill"), rect.get("stroke-dasharray")) == ("#FFFFFF", "4 3")
        else:
            assert rect.get("fill") == colours[stall.category]
            assert rect.get("stroke-dasharray") is None


def test_an_unpaid_stall_has_a_red_outline_and_a_dollar_badge() -> None:
    scene = market()
    groups = stall_groups(ET.fromstring(svg(scene)))
    for stall in scene.stalls:
        group = groups[stall.code]
        outlines = [(r.get("stroke"), r.get("stroke-width")) for r in group.iter(f"{SVG}rect") if r.get("stroke")]
        mark = (group.get("data-unpaid"), outlines, texts(group, "badge"))
        if stall.unpaid:
            assert mark == ("true", [(UNPAID, "1"), (UNPAID, "3")], ["$"])
        else:
            assert mark == (None, [("#444444" if stall.vendor else "#888888", "1")], [])


def test_the_legend_lists_exactly_the_categories_present_and_explains_the_marks() -> None:
    scene = market()
    root = ET.fromstring(svg(scene))
    legend = [g.get("data-category") for g in root.iter(f"{SVG}g") if g.get("class") == "legend-category"]
    assert legend == sorted(CATEGORIES)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for label in ("Empty stall", "Unpaid: holder owes money", "Power", "Water", "Food safe", "Entrance", "WC"):
        assert label in texts
    assert "Covered (roof)" not in texts  # no stall is covered


def test_a_held_stall_without_a_category_is_grey_and_the_legend_says_no_category() -> None:
    stalls = (
        Stall("A1", 0, 0, 3, 3, "N", vendor="Plain", category=None, booking_id=1),
        Stall("A2", 3, 0, 3, 3, "N", vendor="Blank", category=" ", booking_id=2),
        Stall("A3", 6, 0, 3, 3, "N", vendor="Baker", category="bakery", booking_id=3),
    )
    scene = MapScene("T", "S", stalls)
    assert category_colours(scene) == {"bakery": PALETTE[0]}
    root = ET.fromstring(svg(scene))
    legend = [g.get("data-category") for g in root.iter(f"{SVG}g") if g.get("class") == "legend-category"]
    assert legend == ["bakery", ""] and "No category" in texts(root)
    fills = {code: g.find(f"{SVG}rect").get("fill") for code, g in stall_groups(root).items()}
    assert fills == {"A1": UNCATEGORISED, "A2": UNCATEGORISED, "A3": PALETTE[0]}


def test_the_bookings_not_yet_placed_are_listed_with_the_unpaid_marked() -> None:
    root = ET.fromstring(svg(market()))
    assert "Not yet placed (3)" in texts(root)
    items = {g.get("data-booking-id"): texts(g) for g in root.iter(f"{SVG}g") if g.get("class") == "unassigned"}
    assert items == {"901": ["Late Larder", "$ owed"], "902": ["Pip & Pickle"], "903": ["Māori Kai Co", "$ owed"]}


def test_the_title_and_subtitle_are_at_the_top() -> None:
    texts = [t.text for t in ET.fromstring(svg(market())).iter(f"{SVG}text")]
    assert texts[:2] == ["Riverside Farmers Market", "Saturday 12 December 2026"]


# ---------------------------------------------------------------- PNG


def rects(scene: MapScene) -> dict[str, tuple[int, int, int, int]]:
    """Each stall's rectangle in the PNG: the SVG's, as both are drawn from one layout at one size."""
    out = {}
    for code, group in stall_groups(ET.fromstring(svg(scene))).items():
        rect = group.find(f"{SVG}rect")
        out[code] = tuple(round(float(rect.get(k))) for k in ("x", "y", "width", "height"))
    return out


def inside(image: Image.Image, rect: tuple[int, int, int, int]) -> str:
    """The colour that fills most of a rectangle's inside, as "#RRGGBB"."""
    x, y, w, h = rect
    count, colour = max(image.crop((x + 3, y + 3, x + w - 3, y + h - 3)).getcolors(w * h))
    return "#{:02X}{:02X}{:02X}".format(*colour)


def test_the_png_is_a_small_image_as_wide_as_the_svg() -> None:
    data = png(market())
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size[0] == 1200 and 400 <= image.size[1] <= 1600
    assert len(data) < 60_000


def test_each_stall_in_the_png_is_filled_with_its_category_colour_or_white() -> None:
    scene = market()
    colours = category_colours(scene)
    image = Image.open(io.BytesIO(png(scene))).convert("RGB")
    at = rects(scene)
    for stall in scene.stalls:
        assert inside(image, at[stall.code]) == (colours[stall.category] if stall.vendor else "#FFFFFF"), stall.code


def test_an_unpaid_stall_in_the_png_is_outlined_in_red() -> None:
    scene = market()
    image = Image.open(io.BytesIO(png(scene))).convert("RGB")
    red = tuple(int(UNPAID[i : i + 2], 16) for i in (1, 3, 5))
    at = rects(scene)
    for stall in scene.stalls:
        x, y, w, h = at[stall.code]
        assert (image.getpixel((x + 2, y + h // 2)) == red) == stall.unpaid, stall.code
        assert (image.getpixel((x + w - 2, y + h // 2)) == red) == stall.unpaid, stall.code


# ---------------------------------------------------------------- PDF


def sheet(scene: MapScene | None = None, rows: list[RosterRow] | None = None) -> PdfReader:
    scene = scene or market()
    rows = roster(scene) if rows is None else rows
    return PdfReader(io.BytesIO(sheet_pdf(scene, rows, printed="Printed 3 Dec 2026 14:05")))


def page_text(reader: PdfReader, first: int = 0) -> str:
    return "\n".join(page.extract_text() for page in reader.pages[first:])


def test_the_sheet_is_a4_the_map_on_a_landscape_page_then_the_roster_on_portrait_pages() -> None:
    reader = sheet()
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages]
    assert sizes == [(842, 595), (595, 842), (595, 842)]


def test_every_page_has_the_title_subtitle_printed_date_and_its_number() -> None:
    reader = sheet()
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        for part in ("Riverside Farmers Market", "Saturday 12 December 2026", "Printed 3 Dec 2026 14:05"):
            assert part in text
        assert f"Page {number} of {len(reader.pages)}" in text


def test_the_sheet_names_every_vendor_as_its_font_can_write_them() -> None:
    scene = market()
    text = page_text(sheet(scene), 1).replace("\n", " ")  # a long name wraps in its cell
    for stall in held(scene):
        if stall.vendor not in (EMOJI,):
            assert stall.vendor in text, stall.vendor
    assert "Crumb Bakehouse" in text  # the emoji left out
    assert "Late Larder" in text and "Pip & Pickle" in text and "Maori Kai Co" in text  # Māori without its macron


def test_the_map_page_shows_the_stalls_the_legend_and_who_is_not_yet_placed() -> None:
    text = sheet().pages[0].extract_text()
    for stall in market().stalls:
        assert re.search(rf"\b{stall.code}\b", text), stall.code
    for label in ("Categories", "bakery", "produce", "Empty stall", "Unpaid: holder owes money", "Not yet placed (3)"):
        assert label in text
    assert "Late Larder" in text and "$ owed" in text


def test_the_roster_has_every_phone_number_and_marks_who_owes() -> None:
    scene = market()
    text = page_text(sheet(scene), 1)
    for row in roster(scene):
        assert row.phone in text
    assert text.count("UNPAID owes $45.00") == 9 and text.count("UNPAID owes $30.00") == 2
    assert "11 still owe money" in text


def test_the_roster_is_in_natural_stall_order_with_those_not_placed_last() -> None:
    scene = market()
    text = page_text(sheet(scene), 1)
    codes = re.findall(r"^([A-D]\d+|not)\b", text, flags=re.MULTILINE)
    letters = {"A": 0, "B": 1, "C": 2, "D": 3}
    placed = sorted((s.code for s in held(scene)), key=lambda c: (letters[c[0]], int(c[1:])))
    assert codes == [*placed, "not", "not", "not"]
    assert codes.index("A10") > codes.index("A9")


def test_a_vendor_that_is_not_latin_1_never_breaks_the_sheet() -> None:
    stall = Stall("A1", 0, 0, 3, 3, "N", vendor="Ōtaki 🐝 Honey – “Raw” €5 中文", category="蜂蜜", booking_id=1)
    scene = MapScene("Marché ☀", "Dimanche", (stall,))
    row = RosterRow("A1", stall.vendor, "Zoë 🙂", "021", "蜂蜜", "paid", "")
    text = page_text(sheet(scene, [row]))
    assert 'Otaki Honey - "Raw" EUR 5 ??' in text
    assert "Zoë" in text


# ---------------------------------------------------------------- edge cases


def test_a_plan_with_no_stalls_says_so_in_every_drawing() -> None:
    scene = MapScene("Riverside Farmers Market", "Saturday 12 December 2026", ())
    root = ET.fromstring(svg(scene))
    assert "No site plan" in texts(root) and not stall_groups(root)
    image = Image.open(io.BytesIO(png(scene)))
    assert image.size[0] == 1200
    assert "No site plan" in sheet(scene, []).pages[0].extract_text()
    assert "No bookings for this day." in sheet(scene, []).pages[1].extract_text()


def test_a_single_stall_is_drawn_large_but_not_the_size_of_the_page() -> None:
    scene = MapScene("Tiny", "Today", (Stall("A1", 0, 0, 3, 3, "S", vendor="Solo", category="bakery", booking_id=1),))
    root = ET.fromstring(svg(scene))
    assert list(stall_groups(root)) == ["A1"]
    assert rects(scene)["A1"][2:] == (180, 180)
    assert Image.open(io.BytesIO(png(scene))).size[0] == 1200
    assert "Solo" in sheet(scene).pages[0].extract_text()


def test_three_hundred_stalls_on_a_two_hundred_metre_plan_stay_small_and_quick() -> None:
    scene = market(rows="ABCDEFGHIJ", per_row=30)
    wide = MapScene(scene.title, scene.subtitle, tuple(replace(s, x=s.x * 2.2) for s in scene.stalls), scene.features)
    assert len(wide.stalls) == 300
    started = time.perf_counter()
    data = png(wide)
    assert len(data) < 100_000
    assert time.perf_counter() - started < 5
    assert len(stall_groups(ET.fromstring(svg(wide)))) == 300
    assert len(sheet(wide).pages) >= 2


def test_a_long_narrow_plan_is_printed_on_a_portrait_page() -> None:
    stalls = tuple(Stall(f"A{i + 1}", 0, i * 3.0, 10, 3, "E", vendor=f"V{i}", booking_id=i) for i in range(60))
    reader = sheet(MapScene("Lane", "Sunday", stalls), [])
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [595, 842]
    assert "A60" in reader.pages[0].extract_text()
