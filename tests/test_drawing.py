"""The market day's site map as a person sees it: each output (SVG, PNG, PDF) is decoded and read back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from market_mcp.drawing import (
    PALETTE,
    UNPAID,
    Feature,
    MapScene,
    RosterRow,
    Stall,
    Unassigned,
    category_colours,
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
            held = number % 4 != 0  # 45 of 60 held
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


def test_every_held_stall_names_its_vendor_cut_to_fit_with_an_ellipsis() -> None:
    scene = market()
    groups = stall_groups(ET.fromstring(svg(scene)))
    for stall in held(scene):
        shown = " ".join(texts(groups[stall.code], "vendor"))
        if shown.endswith("…"):
            start = shown.removesuffix("…").replace(" ", "")  # a long word may break across lines
            assert stall.vendor.replace(" ", "").startswith(start) and len(start) > 3, (stall.code, shown)
        else:
            assert shown == stall.vendor
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
        rect = group.find(f"{SVG}rect")
        mark = (group.get("data-unpaid"), rect.get("stroke"), rect.get("stroke-width"), texts(group, "badge"))
        assert mark == (("true", UNPAID, "3", ["$"]) if stall.unpaid else (None, mark[1], "1", []))
        assert stall.unpaid or mark[1] != UNPAID


def test_the_legend_lists_exactly_the_categories_present_and_explains_the_marks() -> None:
    scene = market()
    root = ET.fromstring(svg(scene))
    legend = [g.get("data-category") for g in root.iter(f"{SVG}g") if g.get("class") == "legend-category"]
    assert legend == sorted(CATEGORIES)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for label in ("Empty stall", "Unpaid: holder owes money", "Power", "Water", "Food safe", "Entrance", "WC"):
        assert label in texts
    assert "Covered (roof)" not in texts  # no stall is covered


def test_the_bookings_not_yet_placed_are_listed_with_the_unpaid_marked() -> None:
    root = ET.fromstring(svg(market()))
    assert "Not yet placed (3)" in texts(root)
    items = {g.get("data-booking-id"): texts(g) for g in root.iter(f"{SVG}g") if g.get("class") == "unassigned"}
    assert items == {"901": ["Late Larder", "$ owed"], "902": ["Pip & Pickle"], "903": ["Māori Kai Co", "$ owed"]}


def test_the_title_and_subtitle_are_at_the_top() -> None:
    texts = [t.text for t in ET.fromstring(svg(market())).iter(f"{SVG}text")]
    assert texts[:2] == ["Riverside Farmers Market", "Saturday 12 December 2026"]
