"""The market day's site map as a person sees it: each output (SVG, PNG, PDF) is decoded and read back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from market_mcp.drawing import (
    PALETTE,
    Feature,
    MapScene,
    RosterRow,
    Stall,
    Unassigned,
    category_colours,
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
