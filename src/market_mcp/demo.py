"""Demo data: a believable season for a Melbourne market organiser, written straight to the tables.

`populate_demo` fills an existing, empty organisation with four markets, a season of market
dates around today, ~48 stallholders, their applications, orders and bookings, a waitlist on
full dates, credits with their ledger, notes and a sent-email history. Everything random comes
from `random.Random(2026)` and every date is relative to today in the organisation's timezone,
so the demo always has a recent past to report on and upcoming dates to manage.

What the demo shows (so a person trying the assistant has something to ask about):
- pending applications submitted today and yesterday, one waiting 9 days, two waitlisted, two rejected;
- past dates closed with attendance (a couple of no-shows), one date cancelled for a storm with weather credits;
- upcoming dates with confirmed, pending and payment-pending orders; two dates completely full: the makers
  market's (a stallholder cancelled a few hours ago, the first waitlisted vendor holds a 48-hour offer)
  and the night market's (every space confirmed, two vendors waiting);
- credits from every source, some spent on orders through the ledger, one expired.

Choices where DOMAIN.md is silent: an order's total is the sum of all its bookings, cancelled ones
included (the money was charged; a cancellation with credit back gives a credit, not a smaller order);
a credit that expired with money left gets an `expire` ledger row at its expiry, so its remaining is 0.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from market_mcp.db.tables import (
    Application,
    ApplicationAnswer,
    ApplicationScore,
    Booking,
    Credit,
    CreditTransaction,
    DocumentKind,
    Email,
    Market,
    MarketDate,
    Order,
    Organization,
    Payment,
    Season,
    SiteFeature,
    Stall,
    StandingBooking,
    Vendor,
    VendorDocument,
    VendorNote,
    WaitlistEntry,
)
from market_mcp.services.deadlines import deadline

DEMO_SLUG = "demo"
DEMO_AUTHOR = "Demo admin"
SEED = 2026

WEEKS_BACK = 8
WEEKS_AHEAD = 16
MONTHLY_WEEKS_BACK = 13  # a monthly market needs a longer look back to have a few past dates
UPCOMING_BOOKED_WEEKLY = 4  # how many upcoming dates already have orders
UPCOMING_BOOKED_MONTHLY = 2
OFFER_HOURS = 48


@dataclass(frozen=True)
class _MarketSpec:
    key: str
    name: str
    slug: str
    region: str
    market_type: str
    weekday: int  # Python weekday: Monday 0 … Sunday 6
    nth: int | None  # monthly: the nth weekday of each month; None: weekly
    opens: time
    closes: time
    fee_cents: int
    capacity: int
    status: str
    waitlist_auto_notify: bool
    power_fee_cents: int
    location: str
    reference: str
    description: str
    metadata: dict[str, object]
    created_days_ago: int
    # Payment terms (services/deadlines.py): due N days after approval, or N days before the first date.
    payment_due_days: int | None = None
    payment_due_days_before: int | None = None
    payment_reminders: tuple[int, ...] = ()


MARKETS: tuple[_MarketSpec, ...] = (
    _MarketSpec(
        key="F",
        name="Northcote Farmers Market",
        slug="northcote-farmers-market",
        region="Inner North",
        market_type="Farmers",
        weekday=5,
        nth=None,
        opens=time(8, 0),
        closes=time(13, 0),
        fee_cents=6500,
        capacity=30,
        status="published",
        waitlist_auto_notify=False,
        power_fee_cents=0,
        location="Westgarth Street Reserve, Northcote VIC 3070",
        reference="NFM",
        description=(
            "A grower-run Saturday morning market: seasonal fruit and veg, free-range meat, cheese, "
            "sourdough and coffee, sold by the people who grow and make it. Stallholders must grow or "
            "make what they sell within 250 km of Melbourne."
        ),
        metadata={
            "council_permit": "DAR-MKT-2291",
            "accreditation": "Victorian Farmers' Markets Association",
            "bump_in": "06:30",
            "site_map": "https://example.com/maps/northcote-farmers.pdf",
        },
        created_days_ago=820,
        payment_due_days=7,
        payment_due_days_before=2,
        payment_reminders=(1, -2),
    ),
    _MarketSpec(
        key="M",
        name="Williamstown Bayside Makers Market",
        slug="williamstown-makers-market",
        region="Bayside West",
        market_type="Artisan",
        weekday=6,
        nth=None,
        opens=time(9, 0),
        closes=time(15, 0),
        fee_cents=7500,
        capacity=20,
        status="published",
        waitlist_auto_notify=True,
        power_fee_cents=0,
        location="Commonwealth Reserve, Nelson Place, Williamstown VIC 3016",
        reference="WBM",
        description=(
            "Handmade on the foreshore every Sunday: ceramics, jewellery, textiles, plants and "
            "small-batch pantry goods from local makers, with the bay as the backdrop. "
            "A boutique market of twenty curated stalls."
        ),
        metadata={
            "council_permit": "HBCC-EVT-0417",
            "gazebo_weights_kg": 10,
            "bump_in": "07:30",
            "wind_policy": "Gazebos down when gusts exceed 50 km/h",
        },
        created_days_ago=610,
    ),
    _MarketSpec(
        key="N",
        name="Footscray Friday Night Market",
        slug="footscray-night-market",
        region="Inner West",
        market_type="Night",
        weekday=4,
        nth=None,
        opens=time(17, 0),
        closes=time(22, 0),
        fee_cents=9000,
        capacity=20,
        status="published",
        waitlist_auto_notify=False,
        power_fee_cents=1500,
        location="Riverside lawn, Moreland Street, Footscray VIC 3011",
        reference="FNM",
        description=(
            "Street food from every corner of the west, live music and late-night shopping by the "
            "Maribyrnong. Food and coffee stalls pay a $15 power fee for a 15 A outlet."
        ),
        metadata={
            "council_permit": "MRB-NM-0088",
            "power": "15 A outlets on the river row",
            "liquor_licence": "LL-32219",
            "bump_in": "15:30",
        },
        created_days_ago=540,
    ),
    _MarketSpec(
        key="T",
        name="Eltham Twilight Market",
        slug="eltham-twilight-market",
        region="Outer North East",
        market_type="Twilight",
        weekday=3,
        nth=3,
        opens=time(16, 30),
        closes=time(21, 0),
        fee_cents=4500,
        capacity=60,
        status="unpublished",
        waitlist_auto_notify=False,
        power_fee_cents=1500,
        location="Eltham Town Square, Main Road, Eltham VIC 3095",
        reference="ETM",
        description=(
            "A monthly twilight market on the third Thursday: makers, growers and food trucks under "
            "festoon lights, with a Christmas edition in December. Hidden from the public listing "
            "while we recruit stallholders for the summer season."
        ),
        metadata={
            "council_permit": "NIL-TW-1203",
            "christmas_edition": True,
            "publish_when_confirmed": 30,
        },
        created_days_ago=150,
    ),
)

# business name, contact, category, markets approved at (keys above), days since they signed up
VENDORS: tuple[tuple[str, str, str, str, int], ...] = (
    ("Mountain Ash Orchard", "Greta Lindqvist", "Produce", "FT", 690),
    ("Merri Creek Greens", "Tuan Nguyen", "Produce", "F", 540),
    ("Yarra Valley Heirloom Tomatoes", "Carla Russo", "Produce", "FT", 470),
    ("Gippsland Spud Co.", "Darren Kelly", "Produce", "F", 610),
    ("Harcourt Apple Shed", "Fiona McAllister", "Produce", "F", 380),
    ("Little Loaf Sourdough", "Sam Whitford", "Bakery", "FM", 720),
    ("Crumb & Co Bakehouse", "Priya Raman", "Bakery", "FN", 410),
    ("Brunswick Bagel Bakers", "Eli Goldberg", "Bakery", "FM", 300),
    ("Otway Free Range Pork", "Mick Dunstan", "Meat", "FN", 650),
    ("Strathbogie Lamb", "Jo Fitzgerald", "Meat", "F", 430),
    ("Red Gum Creamery", "Anneke de Vries", "Dairy", "FT", 560),
    ("Western Plains Goat Cheese", "Lachlan Brooks", "Dairy", "FM", 350),
    ("Bean Bicycle Coffee", "Marco Bianchi", "Coffee", "FM", 700),
    ("Three Wattles Espresso", "Hannah Cho", "Coffee", "NT", 330),
    ("Northside Cold Brew", "Jesse Tran", "Coffee", "MN", 260),
    ("Nonna Pina's Pasta", "Giuseppina Costa", "Food", "FN", 580),
    ("Mama Lin's Dumplings", "Lin Zhao", "Food", "NT", 500),
    ("Taqueria Verde", "Diego Morales", "Food", "NM", 420),
    ("Spice Route Curries", "Anjali Mehta", "Food", "N", 390),
    ("Smokey Joe's BBQ", "Joe Papadopoulos", "Food", "N", 450),
    ("Bao Down Bao Buns", "Kevin Lam", "Food", "NT", 280),
    ("The Gozleme Stop", "Ayse Yilmaz", "Food", "NF", 620),
    ("Churro Bros", "Mateo Alvarez", "Food", "NM", 240),
    ("Honey Box Apiary", "Ruth Kowalski", "Food", "FM", 510),
    ("Wild Fig Preserves", "Rosie Hartmann", "Food", "FM", 360),
    ("Saltbush Kitchen Dukkah", "Wayne Atkinson", "Food", "MT", 72),
    ("Driftwood & Twine", "Tessa Morgan", "Craft", "MN", 590),
    ("Clay Folk Ceramics", "Ingrid Sorensen", "Craft", "MT", 480),
    ("Bayside Candle Co.", "Olivia Grant", "Craft", "MN", 440),
    ("Knot & Weave Macrame", "Lucy Tran", "Craft", "MN", 310),
    ("Old Gum Woodturning", "Bruce Hendricks", "Craft", "MF", 660),
    ("Paper Wren Stationery", "Mei Watanabe", "Craft", "MN", 270),
    ("Silver Gull Jewellery", "Chloe Adams", "Jewellery", "MN", 600),
    ("Opal & Ember", "Nadia Haddad", "Jewellery", "MT", 340),
    ("Seaglass Studio", "Emily Marsh", "Jewellery", "MN", 230),
    ("Succulent Society", "Ben Okafor", "Plants", "FM", 400),
    ("The Fern Room", "Harriet Blake", "Plants", "MN", 290),
    ("Native Roots Nursery", "Corey Walsh", "Plants", "F", 520),
    ("Petal & Stem Flowers", "Sophie Laurent", "Flowers", "FM", 460),
    ("Wattle Lane Blooms", "Kate O'Brien", "Flowers", "FT", 370),
    ("Threadbare Vintage", "Zoe Papas", "Clothing", "NM", 320),
    ("Little Wombat Kids Wear", "Georgia Reid", "Clothing", "MN", 76),
    ("Salt Water Linen", "Amara Okoye", "Clothing", "MN", 250),
    # New faces: their only applications are still open (see OPEN_APPLICATIONS).
    ("Sweet Pea Cupcakes", "Jasmine Patel", "Bakery", "", 0),
    ("Kombucha Collective", "Ravi Sharma", "Food", "", 1),
    ("Hand-Poured Soap Co.", "Ellie Barnes", "Craft", "", 0),
    ("Roaming Pizza Oven", "Luca Ferraro", "Food", "", 4),
    ("Barefoot Leather Goods", "Noah Fraser", "Clothing", "", 21),
)

TRUSTED = frozenset({"Little Loaf Sourdough", "Bean Bicycle Coffee", "Nonna Pina's Pasta", "Silver Gull Jewellery"})
STARTER_CREDITS = {"Saltbush Kitchen Dukkah": 2000, "Little Wombat Kids Wear": 2500}

# business name, market key, status, days ago submitted (0 = today), message, decision message
OPEN_APPLICATIONS: tuple[tuple[str, str, str, int, str, str], ...] = (
    (
        "Sweet Pea Cupcakes",
        "N",
        "pending",
        0,
        "Hi! I bake cupcakes and mini pavlovas from my registered home kitchen in Yarraville. "
        "Friday nights would be perfect for dessert. I have my Class 3 registration and PLI certificate ready to send.",
        "",
    ),
    (
        "Hand-Poured Soap Co.",
        "M",
        "pending",
        0,
        "We make cold-process soaps and beeswax wraps in Altona. All plastic-free packaging. "
        "We'd love to join the Sunday makers market, any spot is fine, we bring our own 3x3 gazebo.",
        "",
    ),
    (
        "Kombucha Collective",
        "F",
        "pending",
        1,
        "Small-batch kombucha brewed in Preston with fruit from local growers (some from your own stallholders!). "
        "We pour tastings and sell 750 ml glass bottles with a deposit-return scheme.",
        "",
    ),
    (
        "Merri Creek Greens",
        "T",
        "pending",
        1,
        "We already trade at Northcote on Saturdays and would like to try the Eltham twilight market "
        "with salad bags, microgreens and bunches of herbs.",
        "",
    ),
    (
        "Roaming Pizza Oven",
        "N",
        "pending",
        4,
        "Wood-fired pizza from a converted 1970s caravan. Self-contained with a gas-assisted oven, "
        "needs one 15 A outlet. Happy to take a spot on the river row.",
        "",
    ),
    (
        "Native Roots Nursery",
        "M",
        "pending",
        9,
        "Indigenous tubestock and native grasses for coastal gardens, propagated in Diamond Creek. "
        "Would love a Sunday spot at Williamstown in spring.",
        "",
    ),
    (
        "Barefoot Leather Goods",
        "M",
        "waitlisted",
        21,
        "Hand-stitched leather wallets, belts and bags made in my Seddon studio from Australian hides.",
        "Thanks Noah, we love your work. Leather goods are full for this season, so we've put you on "
        "our waitlist and will be in touch as soon as a spot opens.",
    ),
    (
        "Three Wattles Espresso",
        "M",
        "waitlisted",
        30,
        "We'd like to add a Sunday coffee cart at Williamstown alongside our night market stall.",
        "We already have two coffee stalls on Sundays. You're on the waitlist and first in line "
        "if either of them steps back.",
    ),
    (
        "Smokey Joe's BBQ",
        "F",
        "rejected",
        40,
        "Could we bring the smoker to Northcote on Saturdays? Brisket rolls from 8am.",
        "Thanks Joe. Northcote is a growers' market and hot food is limited to producers cooking "
        "their own produce, so we can't offer a spot. See you on Friday nights!",
    ),
    (
        "Salt Water Linen",
        "F",
        "rejected",
        15,
        "We'd love to bring our linen clothing to the Saturday farmers market.",
        "Thanks Amara. Northcote only takes growers and food producers, so clothing isn't a fit there. "
        "Williamstown and Footscray are the right markets for your range.",
    ),
)

# What two markets ask applicants (set_application_questions), the open applicants' answers to them, and the
# jury's first scores (business, market key, score, note).
QUESTIONS: dict[str, list[dict[str, Any]]] = {
    "F": [
        {"key": "grow_own", "text": "Do you grow or make everything you sell?", "kind": "yes_no", "required": True},
        {"key": "products", "text": "What will you sell?", "kind": "text", "required": True},
        {"key": "km_from_melbourne", "text": "How far from Melbourne is your farm or kitchen (km)?", "kind": "number"},
    ],
    "M": [
        {"key": "products", "text": "What will you sell, and what price range?", "kind": "text", "required": True},
        {"key": "needs_power", "text": "Do you need power?", "kind": "yes_no", "required": True},
        {"key": "stall_size", "text": "Which stall size?", "kind": "choice", "choices": ["3x3", "3x6"]},
    ],
}
OPEN_ANSWERS: dict[tuple[str, str], dict[str, str]] = {
    ("Hand-Poured Soap Co.", "M"): {
        "products": "Cold-process soaps $8-12, beeswax wraps $15-25.",
        "needs_power": "no",
        "stall_size": "3x3",
    },
    ("Native Roots Nursery", "M"): {
        "products": "Tubestock $4, grasses $6, advanced plants to $35.",
        "needs_power": "no",
    },
    ("Barefoot Leather Goods", "M"): {
        "products": "Wallets $60, belts $90, bags $180-420.",
        "needs_power": "yes",
        "stall_size": "3x3",
    },
    ("Three Wattles Espresso", "M"): {
        "products": "Espresso coffee $4.50-6.",
        "needs_power": "yes",
        "stall_size": "3x6",
    },
    ("Kombucha Collective", "F"): {
        "grow_own": "yes",
        "products": "Kombucha in 750 ml bottles, $9, and tastings.",
        "km_from_melbourne": "12",
    },
    ("Smokey Joe's BBQ", "F"): {
        "grow_own": "no",
        "products": "Brisket rolls and pulled pork.",
        "km_from_melbourne": "30",
    },
    ("Salt Water Linen", "F"): {"grow_own": "yes", "products": "Linen shirts and dresses.", "km_from_melbourne": "8"},
}
JURY = (
    ("Hand-Poured Soap Co.", "M", 8, "Plastic-free range suits the Sunday crowd; no other soap stall."),
    ("Native Roots Nursery", "M", 6, "Good range, but plants sell slowly in winter."),
    ("Kombucha Collective", "F", 7, "Local fruit from our own growers: a good fit."),
)

APPLICATION_MESSAGES: dict[str, tuple[str, ...]] = {
    "Produce": (
        "We're a family farm and grow everything we sell. We bring our own gazebo, scales and eftpos.",
        "Seasonal fruit and veg picked the day before market. We can trade every week from spring to autumn.",
    ),
    "Bakery": (
        "Naturally leavened bread and pastries baked overnight. Registered Class 2 premises, PLI attached.",
        "Small bakery looking for a regular weekend spot. We sell out most weeks, so we'd love a second market.",
    ),
    "Meat": (
        "Pasture-raised meat from our own farm, butchered locally and sold from a refrigerated trailer.",
        "We'd bring a chilled van and sell vacuum-packed cuts; council food registration attached.",
    ),
    "Dairy": (
        "Farmhouse cheese made from our own herd's milk. We sample on the day and bring a chilled display.",
        "Small-batch cheeses and yoghurt, made on farm. Happy to trade fortnightly or weekly.",
    ),
    "Coffee": (
        "Specialty coffee cart with our own roast. Self-contained, needs one 15 A outlet.",
        "We run a two-group espresso machine from a cart and can bring oat and dairy milk.",
    ),
    "Food": (
        "Cooked-to-order street food from a self-contained trailer, Streatrader registered.",
        "Family recipes, made fresh on the day. We have all our council registrations and PLI.",
    ),
    "Craft": (
        "Handmade in my home studio, every piece one of a kind. I bring my own 3x3 gazebo and weights.",
        "Small-batch homewares made locally. I've traded at several makers markets around Melbourne.",
    ),
    "Jewellery": (
        "Handmade sterling silver jewellery, each piece made at my bench. Photos of my stall attached.",
        "Jewellery made from recycled metals and found materials. I'd love a regular Sunday spot.",
    ),
    "Plants": (
        "Potted plants propagated in our own nursery, all in recycled pots.",
        "Indoor plants and cuttings, grown at home. We bring trestles and a gazebo.",
    ),
    "Flowers": (
        "Seasonal flowers grown on our flower farm, sold as bunches and market buckets.",
        "Locally grown cut flowers and dried arrangements, picked the day before.",
    ),
    "Clothing": (
        "Clothing designed and sewn in Melbourne in small runs. I bring a rack, mirror and change screen.",
        "Curated vintage and upcycled clothing. Everything is washed, mended and priced to move.",
    ),
}

NOTES: tuple[tuple[str, int, str], ...] = (
    (
        "Little Loaf Sourdough",
        200,
        "Prefers a corner site near the car park; delivers bread to three other stalls before opening.",
    ),
    (
        "Smokey Joe's BBQ",
        95,
        "Smoker needs 3 m clearance from the gazebo line. Fire extinguisher checked and tagged in March.",
    ),
    ("Otway Free Range Pork", 40, "Refrigerated trailer is 4.8 m long: give them an end space on the river row."),
    ("Churro Bros", 25, "Left the site late twice (after 22:45). Reminded them of bump-out times; no further action."),
    (
        "Barefoot Leather Goods",
        18,
        "Lovely work, saw them at the Seddon makers day. First to offer if a leather spot opens.",
    ),
    ("Clay Folk Ceramics", 9, "Asked about a double site for the Christmas edition at Eltham."),
)

# business, at least this many cents, notes: each is partly spent by the vendor's latest order
MANUAL_CREDITS: tuple[tuple[str, int, str], ...] = (
    ("Bean Bicycle Coffee", 12000, "Goodwill credit: power outage on the north row cut trading short."),
    ("Nonna Pina's Pasta", 9000, "Refund as credit: charged twice for one booking (card payment retried)."),
)

CANCEL_REASON_STORM = "Severe storm warning"
NO_SHOWS = 2
STORM_STALLS = 4  # stalls booked on the storm-cancelled twilight date (each gets a weather credit)


@dataclass(eq=False)
class _Day:
    market: int
    day: date
    starts_at: datetime
    ends_at: datetime
    status: str = "scheduled"
    row: MarketDate | None = None


@dataclass(eq=False)
class _Order:
    vendor: int
    market: int
    days: list[_Day]
    status: str = "complete"
    created_at: datetime | None = None
    approved_at: datetime | None = None
    paid_at: datetime | None = None
    paid: int = 0
    credit_applied: int = 0
    uses: list[tuple[_Credit, int]] = field(default_factory=list)
    row: Order | None = None


@dataclass(eq=False)
class _Booking:
    order: _Order
    day: _Day
    amount: int
    status: str = "confirmed"
    space: str | None = None
    attended: bool | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    row: Booking | None = None


@dataclass(eq=False)
class _Credit:
    vendor: int
    amount: int
    source: str
    created_at: datetime
    expires_at: datetime | None
    notes: str
    application: Application | None = None
    booking: _Booking | None = None
    remaining: int = 0
    row: Credit | None = None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _email(business: str, contact: str, index: int) -> str:
    first, *rest = contact.split()
    last = re.sub(r"[^a-z]", "", "".join(rest).lower())
    first = re.sub(r"[^a-z]", "", first.lower())
    if index % 3 == 2:
        return f"{first}.{last}@example.net"
    return f"{first}@{_slug(business)}.example.com"


def _space_labels(capacity: int) -> list[str]:
    rows = "ABCDEFGHJK"
    return [f"{rows[i // 20]}{i % 20 + 1}" for i in range(capacity)]


def _site(org_id: int, market_id: int, spec: _MarketSpec) -> list[Stall | SiteFeature]:
    """Rows of 20 3x3 m stalls (as _space_labels names them) facing in pairs across 4 m aisles, power along row A
    where the market charges for it, and an entrance and toilets at the end."""
    made: list[Stall | SiteFeature] = []
    for i, code in enumerate(_space_labels(spec.capacity)):
        row, k = divmod(i, 20)
        power = ["power"] if row == 0 and spec.power_fee_cents else []
        corner = ["corner"] if k == 0 or k == 19 or i == spec.capacity - 1 else []
        made.append(
            Stall(
                organization_id=org_id,
                market_id=market_id,
                code=code,
                row_label=code[0],
                x=3.0 * k,
                y=7.0 * row,
                width=3.0,
                depth=3.0,
                facing="SN"[row % 2],
                attributes=power + corner,
            )
        )
    rows = (spec.capacity + 19) // 20
    bottom = 7.0 * rows
    made.append(SiteFeature(organization_id=org_id, market_id=market_id, kind="entrance", label="Entrance",
                            x=0, y=bottom, width=4, depth=2))  # fmt: skip
    made.append(SiteFeature(organization_id=org_id, market_id=market_id, kind="toilet", label="Toilets",
                            x=54, y=bottom, width=6, depth=3))  # fmt: skip
    return made


# Compliance (services/compliance.py): insurance for everyone, a food licence for those who sell food; a vendor's
# place in VENDORS decides their documents, so the demo always has some missing, expired and expiring soon.
DOCUMENT_KINDS = (("Public liability insurance", True, ()), ("Food licence", False, ("Bakery", "Coffee", "Food")))
DEMO_CERTIFICATE = b"%PDF-1.4\n% Certificate of currency: public liability $20,000,000 (demo)\n%%EOF\n"


def _document_kinds(org_id: int, now: datetime) -> list[DocumentKind]:
    return [
        DocumentKind(
            organization_id=org_id,
            name=name,
            required_for_all=everyone,
            required_for_categories=list(categories),
            required_for_market_ids=[],
            created_at=now - timedelta(days=200),
        )
        for name, everyone, categories in DOCUMENT_KINDS
    ]


def _documents(
    kinds: list[DocumentKind], vendors: list[Vendor], today: date, now: datetime, deciding: set[int]
) -> list[VendorDocument]:
    """Each vendor's documents: one in eight without each kind, one in eleven expired by now, one in six within 30
    days of expiry; the first vendor's insurance has its certificate's file. Vendors with an application or an
    order waiting on the organiser (`deciding`) hold every document they need, valid all season, so the demo's
    decisions go through."""
    rows = []
    for vi, vendor in enumerate(vendors):
        settled = vendor.id in deciding
        for k, (kind, (_, everyone, categories)) in enumerate(zip(kinds, DOCUMENT_KINDS, strict=True)):
            if not (everyone or vendor.category in categories) or ((vi + 3 * k) % 8 == 5 and not settled):
                continue
            if settled:
                expires = today + timedelta(days=300 + 7 * vi)
            elif vi % 11 == 7:
                expires = today - timedelta(days=4 + vi % 9)
            elif vi % 6 == 2:
                expires = today + timedelta(days=6 + vi % 20)
            else:
                expires = today + timedelta(days=90 + 7 * vi)
            certificate = DEMO_CERTIFICATE if vi == 0 and k == 0 else None
            rows.append(
                VendorDocument(
                    organization_id=kind.organization_id,
                    vendor_id=vendor.id,  # type: ignore[arg-type]
                    kind_id=kind.id,  # type: ignore[arg-type]
                    number=f"{'PL' if k == 0 else 'FL'}-{4100 + vi * 7}",
                    issuer="Harbour Mutual Insurance" if k == 0 else "City of Yarra",
                    expires_on=expires if k == 0 or vi % 2 else None,  # some councils' licences do not expire
                    content=certificate,
                    filename="certificate-of-currency.pdf" if certificate else None,
                    content_type="application/pdf" if certificate else None,
                    size=len(certificate) if certificate else None,
                    created_at=now - timedelta(days=60 + vi),
                )
            )
    return rows


def _questions_and_answers(
    org_id: int, markets: list[Market], applications: list[Application], vendor_rows: list[Vendor], latest: datetime
) -> list[ApplicationAnswer | ApplicationScore]:
    """QUESTIONS on their markets, OPEN_ANSWERS as the applications' answers and JURY's scores, signed DEMO_AUTHOR."""
    market_by_key = {spec.key: markets[i] for i, spec in enumerate(MARKETS)}
    for key, questions in QUESTIONS.items():
        market_by_key[key].application_questions = [
            {"choices": [], "required": False, **question} for question in questions
        ]
    vendor_ids = {v.business_name: v.id for v in vendor_rows}
    application = {(a.vendor_id, a.market_id): a for a in applications}

    def of(business: str, key: str) -> Application:
        return application[(vendor_ids[business], market_by_key[key].id)]

    rows: list[ApplicationAnswer | ApplicationScore] = []
    for (business, key), answers in OPEN_ANSWERS.items():
        for position, question in enumerate(QUESTIONS[key]):
            if question["key"] in answers:
                value = answers[question["key"]]
                rows.append(
                    ApplicationAnswer(
                        organization_id=org_id,
                        application_id=of(business, key).id,  # type: ignore[arg-type]
                        position=position,
                        key=question["key"],
                        question=question["text"],
                        kind=question["kind"],
                        value=value,
                        folded=value.casefold(),
                    )
                )
    for business, key, score, note in JURY:
        rows.append(
            ApplicationScore(
                organization_id=org_id,
                application_id=of(business, key).id,  # type: ignore[arg-type]
                author=DEMO_AUTHOR,
                score=score,
                note=note,
                scored_at=min(latest, of(business, key).submitted_at + timedelta(days=1)),
            )
        )
    return rows


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def _weekly(start: date, end: date, weekday: int) -> list[date]:
    first = start + timedelta(days=(weekday - start.weekday()) % 7)
    return [first + timedelta(weeks=i) for i in range((end - first).days // 7 + 1)]


def _monthly(start: date, end: date, weekday: int, nth: int) -> list[date]:
    days = []
    year, month = start.year, start.month
    while date(year, month, 1) <= end:
        first = date(year, month, 1)
        day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
        if start <= day <= end:
            days.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


async def _number_documents(
    session: AsyncSession, org_id: int, order_rows: list[Order], payment_rows: list[Payment]
) -> None:
    """Invoice numbers for the approved orders, in the order they were approved, and receipt numbers for the
    payments, in the order they came in, after any the organisation has issued (services.numbering)."""
    org = await session.get(Organization, org_id)
    assert org is not None
    approved = sorted((r for r in order_rows if r.approved_at is not None), key=lambda r: (r.approved_at, r.id))
    for number, row in enumerate(approved, start=org.invoices_issued + 1):
        row.invoice_number = number
    for number, payment in enumerate(sorted(payment_rows, key=lambda p: p.created_at), start=org.receipts_issued + 1):
        payment.receipt_number = number
    org.invoices_issued += len(approved)
    org.receipts_issued += len(payment_rows)
    session.add_all([org, *approved])


async def populate_demo(session: AsyncSession, organization_id: int) -> dict[str, int]:
    """Fill an existing, empty organisation with a season of realistic demo data; returns counts per kind."""
    org = await session.get(Organization, organization_id)
    tz = ZoneInfo(org.timezone if org is not None and org.timezone else "Australia/Melbourne")
    rng = random.Random(SEED)
    now = datetime.now(UTC).replace(microsecond=0)
    today = datetime.now(tz).date()
    latest = now - timedelta(minutes=10)  # nothing in the past is stamped later than this

    def local(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)

    def ago(days: float = 0, hours: float = 0) -> datetime:
        return (now - timedelta(days=days, hours=hours)).replace(microsecond=0)

    def past(moment: datetime) -> datetime:
        return min(moment, latest)

    org_id = organization_id

    # -- markets -------------------------------------------------------------------------------
    markets = [
        Market(
            organization_id=org_id,
            name=spec.name,
            slug=spec.slug,
            region=spec.region,
            market_type=spec.market_type,
            status=spec.status,
            booking_enabled=True,
            waitlist_auto_notify=spec.waitlist_auto_notify,
            default_fee_cents=spec.fee_cents,
            capacity=spec.capacity,
            location=spec.location,
            description=spec.description,
            reference=spec.reference,
            metadata_=dict(spec.metadata),
            payment_due_days=spec.payment_due_days,
            payment_due_days_before=spec.payment_due_days_before,
            payment_reminders=sorted(spec.payment_reminders, reverse=True) or None,
            stall_types=[{"name": "standard", "fee_cents": spec.fee_cents}],
            add_ons=[{"name": "power", "fee_cents": spec.power_fee_cents}] if spec.power_fee_cents else None,
            created_at=ago(spec.created_days_ago),
            updated_at=ago(rng.randint(3, 40)),
        )
        for spec in MARKETS
    ]
    market_index = {spec.key: i for i, spec in enumerate(MARKETS)}
    session.add_all(markets)
    await session.flush()
    for market, spec in zip(markets, MARKETS, strict=True):  # the site: the spaces' rows, laid out
        session.add_all(_site(org_id, market.id, spec))  # type: ignore[arg-type]

    # -- market dates --------------------------------------------------------------------------
    days_by_market: list[list[_Day]] = []
    for mi, spec in enumerate(MARKETS):
        if spec.nth is None:
            dates = _weekly(today - timedelta(weeks=WEEKS_BACK), today + timedelta(weeks=WEEKS_AHEAD), spec.weekday)
        else:
            start = today - timedelta(weeks=MONTHLY_WEEKS_BACK)
            dates = _monthly(start, today + timedelta(weeks=WEEKS_AHEAD), spec.weekday, spec.nth)
        days_by_market.append([_Day(mi, d, local(d, spec.opens), local(d, spec.closes)) for d in dates])

    def upcoming(mi: int, *, from_day: date) -> list[_Day]:
        return [d for d in days_by_market[mi] if d.day >= from_day]

    storm = [d for d in days_by_market[market_index["T"]] if d.day < today][-1]
    makers_full = upcoming(market_index["M"], from_day=today + timedelta(days=3))[0]
    night_full = upcoming(market_index["N"], from_day=today + timedelta(days=1))[0]
    full_days = (makers_full, night_full)

    date_rows: list[MarketDate] = []
    for mi, days in enumerate(days_by_market):
        spec = MARKETS[mi]
        for d in days:
            row = MarketDate(
                organization_id=org_id,
                market_id=markets[mi].id,  # type: ignore[arg-type]
                scheduled_at=d.day,
                starts_at=d.starts_at,
                ends_at=d.ends_at,
                capacity=spec.capacity,
                created_at=ago(rng.randint(100, 130))
                if d.day < today + timedelta(weeks=4)
                else ago(rng.randint(5, 30)),
            )
            row.updated_at = row.created_at
            if d is storm:
                d.status = row.status = "cancelled"
                row.cancelled_at = past(local(d.day - timedelta(days=1), time(15, 40)))
                row.cancel_reason = CANCEL_REASON_STORM
                row.updated_at = row.cancelled_at
            elif d.day < today:
                d.status = row.status = "closed"
                row.closed_at = past(d.ends_at + timedelta(minutes=rng.randint(40, 180)))
                row.updated_at = row.closed_at
            d.row = row
            date_rows.append(row)
    session.add_all(date_rows)
    await session.flush()

    # -- vendors -------------------------------------------------------------------------------
    # When the open applications came in: "what's pending today?" must have answers.
    open_submitted: dict[tuple[str, str], datetime] = {}
    for business, key, _status, days_ago, _message, _decision in OPEN_APPLICATIONS:
        if days_ago == 0:
            midnight = local(today, time(0, 0))
            submitted = midnight + timedelta(seconds=int((now - midnight).total_seconds() * rng.uniform(0.35, 0.9)))
        else:
            submitted = local(today - timedelta(days=days_ago), time(rng.randint(8, 20), rng.randint(0, 59)))
        open_submitted[(business, key)] = past(submitted).replace(microsecond=0)

    vendor_rows: list[Vendor] = []
    for vi, (business, contact, category, keys, days_ago) in enumerate(VENDORS):
        if keys:
            created = ago(days_ago, hours=rng.randint(1, 9))
        else:  # a new face: signed up when they first applied
            first_applied = min(at for (name, _key), at in open_submitted.items() if name == business)
            created = first_applied - timedelta(minutes=rng.randint(4, 25))
        vendor_rows.append(
            Vendor(
                organization_id=org_id,
                business_name=business,
                contact_name=contact,
                email=_email(business, contact, vi),
                phone=f"04{rng.randint(0, 99):02d} {rng.randint(100, 999)} {rng.randint(100, 999)}",
                category=category,
                trusted=business in TRUSTED,
                created_at=created,
                updated_at=created + timedelta(days=rng.randint(0, 30)) if days_ago > 30 else created,
            )
        )
    vendor_by_name = {v.business_name: i for i, v in enumerate(vendor_rows)}
    assert len({v.email.lower() for v in vendor_rows}) == len(vendor_rows)
    # Insert in sign-up order so ids read naturally (older vendors have lower ids).
    session.add_all(sorted(vendor_rows, key=lambda v: v.created_at))
    await session.flush()

    # -- applications --------------------------------------------------------------------------
    applications: list[Application] = []
    approved_at: dict[tuple[int, int], datetime] = {}  # (vendor, market) -> decided
    starter_apps: dict[int, Application] = {}
    for vi, (business, _contact, category, keys, _days) in enumerate(VENDORS):
        vendor = vendor_rows[vi]
        for n, key in enumerate(keys):
            mi = market_index[key]
            if business in STARTER_CREDITS:
                submitted = vendor.created_at + timedelta(hours=rng.randint(1, 20) + 24 * n)
                decided = submitted + timedelta(days=4, hours=rng.randint(0, 6))
            else:
                submitted = max(vendor.created_at, markets[mi].created_at) + timedelta(
                    days=rng.randint(0, 40) + 60 * n, hours=rng.randint(0, 10)
                )
                submitted = min(submitted, ago(95))
                decided = submitted + timedelta(days=rng.randint(1, 8), hours=rng.randint(0, 6))
            starter = STARTER_CREDITS.get(business, 0) if n == 0 else 0
            app = Application(
                organization_id=org_id,
                vendor_id=vendor.id,  # type: ignore[arg-type]
                market_id=markets[mi].id,  # type: ignore[arg-type]
                status="approved",
                vendor_message=rng.choice(APPLICATION_MESSAGES[category]),
                decision_message=(
                    f"Welcome to {MARKETS[mi].name}! Your {_money(starter)} starter credit comes off your first order."
                    if starter
                    else ""
                ),
                starter_credit_cents=starter,
                submitted_at=submitted,
                decided_at=decided,
            )
            applications.append(app)
            approved_at[(vi, mi)] = decided
            if starter:
                starter_apps[vi] = app

    for business, key, status, _days_ago, message, decision in OPEN_APPLICATIONS:
        vi = vendor_by_name[business]
        mi = market_index[key]
        assert (vi, mi) not in approved_at
        submitted = open_submitted[(business, key)]
        decided = None if status == "pending" else past(submitted + timedelta(days=rng.randint(2, 4), hours=3))
        applications.append(
            Application(
                organization_id=org_id,
                vendor_id=vendor_rows[vi].id,  # type: ignore[arg-type]
                market_id=markets[mi].id,  # type: ignore[arg-type]
                status=status,
                vendor_message=message,
                decision_message=decision,
                submitted_at=submitted,
                decided_at=decided,
            )
        )
    applications.sort(key=lambda a: a.submitted_at)
    session.add_all(applications)
    await session.flush()
    session.add_all(_questions_and_answers(org_id, markets, applications, vendor_rows, latest))

    # -- orders and bookings (planned in memory first) -----------------------------------------
    approved_vendors: list[list[int]] = [[] for _ in MARKETS]
    for vi, mi in sorted(approved_at, key=lambda k: (k[1], k[0])):
        approved_vendors[mi].append(vi)

    def eligible(vi: int, d: _Day) -> bool:
        return d.starts_at > approved_at[(vi, d.market)] + timedelta(days=3)

    orders: list[_Order] = []
    window: dict[int, list[_Day]] = {}
    for mi, spec in enumerate(MARKETS):
        ahead = UPCOMING_BOOKED_WEEKLY if spec.nth is None else UPCOMING_BOOKED_MONTHLY
        days = [d for d in days_by_market[mi] if d.day < today] + upcoming(mi, from_day=today)[:ahead]
        window[mi] = days
        for vi in approved_vendors[mi]:
            regular = rng.uniform(0.5, 0.95)
            mine = [d for d in days if eligible(vi, d)]
            i = 0
            while i < len(mine):
                size = rng.choice((1, 1, 2, 2, 3, 4))
                block, i = mine[i : i + size], i + size
                if rng.random() < regular:
                    chosen = [d for d in block if rng.random() < 0.85] or block[:1]
                    orders.append(_Order(vi, mi, chosen))

    # Never more bookings than spaces; normal upcoming dates keep a couple of spaces free,
    # the chosen full dates are topped up to capacity (and the storm date has a few stalls to cancel).
    for mi, days in window.items():
        cap = MARKETS[mi].capacity
        for d in days:
            on_day = [o for o in orders if d in o.days]
            if d is storm:
                limit = STORM_STALLS
            elif d in full_days or d.day < today:
                limit = cap
            else:
                limit = cap - 2
            if len(on_day) > limit:
                rng.shuffle(on_day)
                for o in on_day[limit:]:
                    o.days.remove(d)
            target = cap if d in full_days else (STORM_STALLS if d is storm else 0)
            booked = {o.vendor for o in orders if d in o.days}
            if len(booked) < target:
                spare = [vi for vi in approved_vendors[mi] if vi not in booked and eligible(vi, d)]
                rng.shuffle(spare)
                orders.extend(_Order(vi, mi, [d]) for vi in spare[: target - len(booked)])
    orders = [o for o in orders if o.days]
    for o in orders:
        o.days.sort(key=lambda d: d.day)

    # Statuses and timestamps.
    for o in orders:
        first = o.days[0]
        trusted = VENDORS[o.vendor][0] in TRUSTED
        if first.day >= today:
            r = rng.random()
            if r < 0.12 and not trusted and not any(d in full_days for d in o.days):
                o.status = "pending"
            elif r < 0.22 and not trusted:
                o.status = "payment_pending"
        lead = timedelta(days=rng.randint(6, 24), hours=rng.randint(0, 12))
        if o.status == "pending":
            o.created_at = ago(hours=rng.uniform(2, 70))
        else:
            o.created_at = past(min(first.starts_at - lead, ago(hours=rng.randint(30, 200))))
            # An order only follows the application it depends on.
            o.created_at = max(o.created_at, approved_at[(o.vendor, o.market)] + timedelta(hours=rng.randint(2, 48)))
            o.approved_at = past(o.created_at + timedelta(minutes=2 if trusted else rng.randint(60, 1800)))
            if o.status == "complete":
                o.paid_at = past(o.approved_at + timedelta(hours=rng.uniform(0.2, 60)))
    orders.sort(key=lambda o: o.created_at)  # type: ignore[arg-type,return-value]

    bookings: list[_Booking] = []
    for o in orders:
        spec = MARKETS[o.market]
        extra = spec.power_fee_cents if VENDORS[o.vendor][2] in ("Food", "Coffee") else 0
        for d in o.days:
            bookings.append(
                _Booking(o, d, spec.fee_cents + extra, status="pending" if o.status == "pending" else "confirmed")
            )

    # Spaces: regulars keep their usual spot when it is free.
    preferred: dict[tuple[int, int], str] = {}
    for mi, vendors in enumerate(approved_vendors):
        labels = _space_labels(MARKETS[mi].capacity)
        rng.shuffle(labels)
        for n, vi in enumerate(vendors):
            preferred[(vi, mi)] = labels[n % len(labels)]
    by_day: dict[_Day, list[_Booking]] = defaultdict(list)
    for b in bookings:
        by_day[b.day].append(b)
    for d, on_day in by_day.items():
        labels = _space_labels(MARKETS[d.market].capacity)
        used: set[str] = set()
        for b in on_day:
            want = preferred[(b.order.vendor, d.market)]
            if want not in used:
                b.space = want
                used.add(want)
        free = [label for label in labels if label not in used]
        for b in on_day:
            if b.space is None:
                b.space = free.pop(0)
        assert len(on_day) <= MARKETS[d.market].capacity

    credits: list[_Credit] = []
    six_months = timedelta(days=183)

    # The storm: every stall on the date cancelled, each vendor given its fee back as a weather credit.
    storm_cancelled_at = storm.row.cancelled_at  # type: ignore[union-attr]
    storm_bookings = by_day[storm]
    for b in storm_bookings:
        b.status = "cancelled"
        b.cancelled_at = storm_cancelled_at
        b.cancel_reason = f"Market date cancelled: {CANCEL_REASON_STORM.lower()}"
        credits.append(
            _Credit(
                b.order.vendor,
                b.amount,
                "weather",
                storm_cancelled_at,  # type: ignore[arg-type]
                storm_cancelled_at + six_months,  # type: ignore[operator]
                f"Weather credit: {MARKETS[storm.market].name} on {storm.day:%d %B} cancelled ({CANCEL_REASON_STORM.lower()}).",
                booking=b,
            )
        )

    # A makers-market stallholder cancelled this morning: credited back, and the waitlist offered the space.
    makers_on_day = [b for b in by_day[makers_full] if VENDORS[b.order.vendor][0] not in TRUSTED]
    late = rng.choice(makers_on_day)
    late.status = "cancelled"
    late.cancelled_at = ago(hours=rng.uniform(5, 9))
    late.cancel_reason = "Vendor cancelled: family emergency, can't trade this weekend"
    credits.append(
        _Credit(
            late.order.vendor,
            late.amount,
            "cancellation",
            late.cancelled_at + timedelta(seconds=1),
            late.cancelled_at + six_months,
            f"Booking on {makers_full.day:%d %B} cancelled with credit back.",
            booking=late,
        )
    )

    # A farmers-market grower cancelled a past date the week before (hail), also with credit back.
    farmers_past = [d for d in window[market_index["F"]] if d.status == "closed"]
    hail_day = farmers_past[len(farmers_past) // 2]
    on_hail_day = [b for b in by_day[hail_day] if b.status == "confirmed"]
    growers = [b for b in on_hail_day if VENDORS[b.order.vendor][2] == "Produce"]
    hail = rng.choice(growers or on_hail_day)
    hail.status = "cancelled"
    hail.cancelled_at = past(hail_day.starts_at - timedelta(days=3, hours=5))
    hail.cancel_reason = "Vendor cancelled: hail damaged this week's crop"
    credits.append(
        _Credit(
            hail.order.vendor,
            hail.amount,
            "cancellation",
            hail.cancelled_at,
            hail.cancelled_at + six_months,
            f"Booking on {hail_day.day:%d %B} cancelled with credit back (hail).",
            booking=hail,
        )
    )

    # Attendance on closed dates, with a couple of no-shows.
    closed_confirmed = [b for b in bookings if b.day.status == "closed" and b.status == "confirmed"]
    for b in closed_confirmed:
        b.attended = True
    for b in rng.sample(closed_confirmed, NO_SHOWS):
        b.attended = False

    for business, amount in STARTER_CREDITS.items():
        vi = vendor_by_name[business]
        app = starter_apps[vi]
        credits.append(
            _Credit(
                vi,
                amount,
                "application",
                app.decided_at,  # type: ignore[arg-type]
                app.decided_at + six_months,  # type: ignore[operator]
                f"Starter credit on approval to {MARKETS[[m.id for m in markets].index(app.market_id)].name}.",
                application=app,
            )
        )
    # Manual credits granted shortly before the vendor's latest approved order, which spends part of each.
    for business, floor, note in MANUAL_CREDITS:
        vi = vendor_by_name[business]
        theirs = sorted(
            (o for o in orders if o.vendor == vi and o.approved_at is not None),
            key=lambda o: o.approved_at,  # type: ignore[arg-type,return-value]
        )
        granted, amount = ago(days=20, hours=3), floor
        if theirs:
            last_order = theirs[-1]
            granted = last_order.approved_at - timedelta(days=3)  # type: ignore[operator]
            if len(theirs) > 1:
                granted = max(granted, theirs[-2].approved_at + timedelta(hours=1))  # type: ignore[operator]
            granted = min(granted, last_order.approved_at - timedelta(minutes=30))  # type: ignore[operator]
            last_total = sum(b.amount for b in bookings if b.order is last_order)
            amount = max(floor, (last_total // 500 + 6) * 500)
        credits.append(_Credit(vi, amount, "manual", granted, granted + six_months, note))
    credits.append(
        _Credit(
            vendor_by_name["Otway Free Range Pork"],
            3000,
            "manual",
            ago(days=270),
            ago(days=88),
            "Loyalty credit for trading every week through winter.",
        )
    )

    # Approving an order spends the vendor's live credits, earliest expiry first: replay it in time order.
    approvals = sorted((o for o in orders if o.approved_at is not None), key=lambda o: o.approved_at)  # type: ignore[arg-type,return-value]
    for c in credits:
        c.remaining = c.amount
    for o in approvals:
        total = sum(b.amount for b in bookings if b.order is o)
        live = sorted(
            (
                c
                for c in credits
                if c.vendor == o.vendor
                and c.remaining > 0
                and c.created_at <= o.approved_at  # type: ignore[operator]
                and (c.expires_at is None or c.expires_at > o.approved_at)  # type: ignore[operator]
            ),
            key=lambda c: (c.expires_at or datetime.max.replace(tzinfo=UTC), c.created_at),
        )
        for c in live:
            use = min(c.remaining, total - o.credit_applied)
            if use <= 0:
                break
            c.remaining -= use
            o.credit_applied += use
            o.uses.append((c, use))
        if o.credit_applied == total:  # nothing left to pay: approval completes it
            o.status, o.paid_at = "complete", None

    # One old, finished order archived out of the way.
    old = [o for o in orders if o.status == "complete" and o.days[-1].day < today - timedelta(weeks=5)]
    archived = old[0] if old else None

    # -- write orders and bookings -------------------------------------------------------------
    order_rows: list[Order] = []
    for o in orders:
        total = sum(b.amount for b in bookings if b.order is o)
        due = 0 if o.paid_at is not None else total - o.credit_applied
        o.paid = total - o.credit_applied - due
        row = Order(
            organization_id=org_id,
            vendor_id=vendor_rows[o.vendor].id,  # type: ignore[arg-type]
            market_id=markets[o.market].id,  # type: ignore[arg-type]
            status=o.status,
            total_cents=total,
            credit_applied_cents=o.credit_applied,
            amount_due_cents=due,
            amount_paid_cents=o.paid,
            approved_at=o.approved_at,
            paid_at=o.paid_at,
            stall_type="standard",
            add_ons=["power"]
            if MARKETS[o.market].power_fee_cents and VENDORS[o.vendor][2] in ("Food", "Coffee")
            else None,
            created_at=o.created_at,  # type: ignore[arg-type]
            updated_at=o.paid_at or o.approved_at or o.created_at,  # type: ignore[arg-type]
        )
        if o.status == "payment_pending":
            approved_on = o.approved_at.astimezone(tz).date()  # type: ignore[union-attr]
            row.payment_due_on = deadline(markets[o.market], approved_on, o.days[0].day)
        if o.paid_at is not None:
            row.payment_method = rng.choice(("card", "card", "bank_transfer"))
            prefix = "CH" if row.payment_method == "card" else "EFT"
            row.payment_reference = f"{prefix}-{rng.randint(100000, 999999)}"
        if o is archived:
            row.previous_status, row.status = row.status, "archived"
            row.archived_at = past(local(o.days[-1].day + timedelta(days=10), time(10, 15)))
            row.updated_at = row.archived_at
        o.row = row
        order_rows.append(row)
    session.add_all(order_rows)
    await session.flush()
    payment_rows = [
        Payment(
            organization_id=org_id,
            order_id=o.row.id,  # type: ignore[union-attr, arg-type]
            vendor_id=o.row.vendor_id,  # type: ignore[union-attr]
            kind="payment",
            amount_cents=o.paid,
            method=o.row.payment_method,  # type: ignore[union-attr, arg-type]
            reference=o.row.payment_reference,  # type: ignore[union-attr]
            received_on=o.paid_at.astimezone(tz).date(),  # type: ignore[union-attr]
            due_after_cents=o.row.amount_due_cents,  # type: ignore[union-attr]
            created_at=o.paid_at,  # type: ignore[arg-type]
        )
        for o in orders
        if o.paid_at is not None and o.paid > 0
    ]
    await _number_documents(session, org_id, order_rows, payment_rows)
    session.add_all(payment_rows)

    booking_rows: list[Booking] = []
    for b in bookings:
        row = Booking(
            organization_id=org_id,
            order_id=b.order.row.id,  # type: ignore[union-attr]
            vendor_id=vendor_rows[b.order.vendor].id,  # type: ignore[arg-type]
            market_date_id=b.day.row.id,  # type: ignore[union-attr,arg-type]
            status=b.status,
            space_number=b.space,
            amount_cents=b.amount,
            attended=b.attended,
            cancelled_at=b.cancelled_at,
            cancel_reason=b.cancel_reason,
            cancel_settlement="credit" if b.status == "cancelled" else None,  # every demo cancellation is credited
            created_at=b.order.created_at,  # type: ignore[arg-type]
            updated_at=b.cancelled_at or b.order.approved_at or b.order.created_at,  # type: ignore[arg-type]
        )
        if b.day.status == "closed" and b.day.row.closed_at:  # type: ignore[union-attr]
            row.updated_at = max(row.updated_at, b.day.row.closed_at)  # type: ignore[union-attr]
        b.row = row
        booking_rows.append(row)
    session.add_all(booking_rows)
    await session.flush()

    # -- waitlists on the full dates -----------------------------------------------------------
    waitlist_rows: list[WaitlistEntry] = []
    notified_entry: WaitlistEntry | None = None
    for d, size in ((makers_full, 4), (night_full, 2)):
        booked = {b.order.vendor for b in by_day[d]}
        waiting = [vi for vi in approved_vendors[d.market] if vi not in booked and eligible(vi, d)]
        rng.shuffle(waiting)
        joined = sorted(ago(days=rng.uniform(1.5, 12)) for _ in waiting[:size])
        for position, (vi, at) in enumerate(zip(waiting[:size], joined, strict=True), start=1):
            entry = WaitlistEntry(
                organization_id=org_id,
                market_date_id=d.row.id,  # type: ignore[union-attr,arg-type]
                vendor_id=vendor_rows[vi].id,  # type: ignore[arg-type]
                status="waiting",
                position=position,
                created_at=at,
                updated_at=at,
            )
            if d is makers_full and position == 1:  # the auto-notified offer for the space just freed
                entry.status = "notified"
                entry.notified_at = late.cancelled_at + timedelta(minutes=1)  # type: ignore[operator]
                entry.offer_expires_at = entry.notified_at + timedelta(hours=OFFER_HOURS)
                entry.updated_at = entry.notified_at
                notified_entry = entry
            waitlist_rows.append(entry)
    session.add_all(waitlist_rows)

    # -- credits and their ledger --------------------------------------------------------------
    credits.sort(key=lambda c: c.created_at)
    credit_rows: list[Credit] = []
    for c in credits:
        c.row = Credit(
            organization_id=org_id,
            vendor_id=vendor_rows[c.vendor].id,  # type: ignore[arg-type]
            application_id=c.application.id if c.application else None,
            amount_cents=c.amount,
            remaining_cents=c.remaining,
            expires_at=c.expires_at,
            notes=c.notes,
            source=c.source,
            created_at=c.created_at,
        )
        credit_rows.append(c.row)
    session.add_all(credit_rows)
    await session.flush()

    ledger: list[tuple[datetime, int, CreditTransaction]] = []
    for c in credits:
        grant = CreditTransaction(
            organization_id=org_id,
            credit_id=c.row.id,  # type: ignore[union-attr,arg-type]
            kind="grant",
            amount_cents=c.amount,
            balance_after_cents=0,
            booking_id=c.booking.row.id if c.booking else None,  # type: ignore[union-attr]
            note=c.notes,
            created_at=c.created_at,
        )
        ledger.append((c.created_at, 0, grant))
    for o in orders:
        for c, used in o.uses:
            ledger.append(
                (
                    o.approved_at,  # type: ignore[arg-type]
                    1,
                    CreditTransaction(
                        organization_id=org_id,
                        credit_id=c.row.id,  # type: ignore[union-attr,arg-type]
                        kind="use",
                        amount_cents=-used,
                        balance_after_cents=0,
                        order_id=o.row.id,  # type: ignore[union-attr]
                        note=f"Applied to order {o.row.id}",  # type: ignore[union-attr]
                        created_at=o.approved_at,  # type: ignore[arg-type]
                    ),
                )
            )
    for c in credits:
        if c.expires_at is not None and c.expires_at <= now and c.remaining > 0:
            ledger.append(
                (
                    c.expires_at,
                    2,
                    CreditTransaction(
                        organization_id=org_id,
                        credit_id=c.row.id,  # type: ignore[union-attr,arg-type]
                        kind="expire",
                        amount_cents=-c.remaining,
                        balance_after_cents=0,
                        note="Expired unused",
                        created_at=c.expires_at,
                    ),
                )
            )
            c.remaining = 0
            c.row.remaining_cents = 0  # type: ignore[union-attr]
    ledger.sort(key=lambda item: (item[0], item[1]))
    balances: dict[int, int] = defaultdict(int)
    for _, _, tx in ledger:
        balances[tx.credit_id] += tx.amount_cents
        tx.balance_after_cents = balances[tx.credit_id]
    for c in credits:
        assert balances[c.row.id] == c.row.remaining_cents  # type: ignore[union-attr,index]
    transaction_rows = [tx for _, _, tx in ledger]
    session.add_all(transaction_rows)

    # -- notes ---------------------------------------------------------------------------------
    note_rows = [
        VendorNote(
            organization_id=org_id,
            vendor_id=vendor_rows[vendor_by_name[business]].id,  # type: ignore[arg-type]
            note=text,
            author=DEMO_AUTHOR,
            created_at=max(ago(days=days, hours=rng.randint(1, 8)), vendor_rows[vendor_by_name[business]].created_at),
        )
        for business, days, text in NOTES
    ]
    session.add_all(note_rows)

    # -- the outbox: what the system has already sent -----------------------------------------
    emails: list[Email] = []

    def sent(
        vi: int, kind: str, subject: str, body: str, record_type: str, record_id: int | None, at: datetime
    ) -> None:
        vendor = vendor_rows[vi]
        first_name = vendor.contact_name.split()[0]
        sent_at = past(at + timedelta(seconds=rng.randint(5, 90)))
        emails.append(
            Email(
                organization_id=org_id,
                vendor_id=vendor.id,
                to=vendor.email,
                subject=subject,
                body=f"Hi {first_name},\n\n{body}\n\n{org.name if org else 'The market team'}",
                kind=kind,
                record_type=record_type,
                record_id=record_id,
                status="sent",
                attempts=1,
                sent_at=sent_at,
                created_at=past(at),
            )
        )

    for business in STARTER_CREDITS:
        vi = vendor_by_name[business]
        app = starter_apps[vi]
        market = markets[[m.id for m in markets].index(app.market_id)]
        sent(
            vi,
            "application_approved",
            f"You're in: {market.name}",
            f"Your application to trade at {market.name} has been approved. A starter credit of "
            f"{_money(app.starter_credit_cents)} will come off your first order. Bump-in details are on the market page.",
            "application",
            app.id,
            app.decided_at,  # type: ignore[arg-type]
        )
    recent = [o for o in orders if o.approved_at is not None and o.approved_at > ago(days=6) and o is not archived]
    for o in recent[-3:]:
        market = markets[o.market]
        dates = ", ".join(f"{d.day:%a %d %b}" for d in o.days)
        due = o.row.amount_due_cents  # type: ignore[union-attr]
        pay = f"{_money(due)} is due before the market." if due else "Nothing is left to pay."
        sent(
            o.vendor,
            "order_approved",
            f"Order {o.row.id} approved: {market.name}",  # type: ignore[union-attr]
            f"Your order for {market.name} ({dates}) is approved and your bookings are confirmed. {pay}",
            "order",
            o.row.id,  # type: ignore[union-attr]
            o.approved_at,  # type: ignore[arg-type]
        )
    if recent:
        o = recent[-1]
        b = next(b for b in bookings if b.order is o)
        sent(
            o.vendor,
            "booking_confirmed",
            f"Booking confirmed: {markets[o.market].name}, {b.day.day:%a %d %b}",
            f"Your space {b.space} at {markets[o.market].name} on {b.day.day:%A %d %B} is confirmed. "
            f"Trading starts at {b.day.starts_at.astimezone(tz):%H:%M}.",
            "booking",
            b.row.id,  # type: ignore[union-attr]
            o.approved_at,  # type: ignore[arg-type]
        )
    sent(
        late.order.vendor,
        "booking_cancelled",
        f"Booking cancelled: {markets[makers_full.market].name}, {makers_full.day:%a %d %b}",
        f"Your booking for space {late.space} on {makers_full.day:%A %d %B} is cancelled as you asked. "
        f"We've added a credit of {_money(late.amount)} to your account for a future market. Hope everything is OK.",
        "booking",
        late.row.id,  # type: ignore[union-attr]
        late.cancelled_at,  # type: ignore[arg-type]
    )
    if notified_entry is not None:
        vi = next(i for i, v in enumerate(vendor_rows) if v.id == notified_entry.vendor_id)
        sent(
            vi,
            "waitlist_offer",
            f"A space is free at {markets[makers_full.market].name} on {makers_full.day:%a %d %b}",
            f"A space has opened up on {makers_full.day:%A %d %B}. It's held for you until "
            f"{notified_entry.offer_expires_at.astimezone(tz):%A %d %B at %H:%M}; reply to accept it "  # type: ignore[union-attr]
            "or let us know if you can't make it.",
            "waitlist_entry",
            notified_entry.id,
            notified_entry.notified_at,  # type: ignore[arg-type]
        )
    for b in storm_bookings:
        credit_cents = b.amount
        sent(
            b.order.vendor,
            "market_date_cancelled",
            f"Cancelled: {markets[storm.market].name} on {storm.day:%a %d %b}",
            f"With a severe storm warning for {storm.day:%A} evening we've cancelled {markets[storm.market].name} "
            f"on {storm.day:%d %B}. Your booking is cancelled and a weather credit of {_money(credit_cents)} "
            "is on your account for a future market.",
            "market_date",
            storm.row.id,  # type: ignore[union-attr]
            storm_cancelled_at,  # type: ignore[arg-type]
        )
    emails.sort(key=lambda e: e.created_at)
    session.add_all(emails)
    await session.flush()
    kinds = _document_kinds(org_id, now)
    session.add_all(kinds)
    await session.flush()
    deciding = {a.vendor_id for a in applications if a.status in ("pending", "waitlisted")}
    deciding |= {o.vendor_id for o in order_rows if o.status == "pending"}  # approving them passes compliance
    documents = _documents(kinds, vendor_rows, today, now, deciding)
    session.add_all(documents)
    await session.flush()

    # -- seasons and standing bookings ------------------------------------------------------------
    # Each weekly market's dates are one season; three regulars (the longest orders still on) stand booked in it.
    seasons: dict[int, Season] = {}
    for mi, spec in enumerate(MARKETS):
        if spec.nth is None and days_by_market[mi]:
            first_day, last_day = days_by_market[mi][0].day, days_by_market[mi][-1].day
            seasons[mi] = Season(
                organization_id=org_id,
                market_id=markets[mi].id,  # type: ignore[arg-type]
                name=f"{spec.name} {first_day:%b %Y} to {last_day:%b %Y}",
                starts_on=first_day,
                ends_on=last_day,
                created_at=ago(60),
                updated_at=ago(60),
            )
    session.add_all(seasons.values())
    await session.flush()
    regulars = sorted(
        (o for o in orders if o.market in seasons and o.status in ("complete", "payment_pending") and len(o.days) > 2),
        key=lambda o: -len(o.days),
    )
    standing: list[StandingBooking] = []
    for o in regulars:
        if len(standing) == 3 or any(sb.vendor_id == vendor_rows[o.vendor].id for sb in standing):
            continue
        sb = StandingBooking(
            organization_id=org_id,
            vendor_id=vendor_rows[o.vendor].id,  # type: ignore[arg-type]
            market_id=markets[o.market].id,  # type: ignore[arg-type]
            season_id=seasons[o.market].id,  # type: ignore[arg-type]
            first_on=o.days[0].day,
            stall_type=o.row.stall_type,  # type: ignore[union-attr]
            add_ons=o.row.add_ons,  # type: ignore[union-attr]
            created_at=o.row.created_at,  # type: ignore[union-attr]
        )
        session.add(sb)
        await session.flush()
        o.row.standing_booking_id = sb.id  # type: ignore[union-attr]
        session.add(o.row)
        standing.append(sb)
    await session.flush()

    return {
        "markets": len(markets),
        "market_dates": len(date_rows),
        "vendors": len(vendor_rows),
        "vendor_notes": len(note_rows),
        "applications": len(applications),
        "orders": len(order_rows),
        "bookings": len(booking_rows),
        "waitlist_entries": len(waitlist_rows),
        "credits": len(credit_rows),
        "credit_transactions": len(transaction_rows),
        "emails": len(emails),
        "document_kinds": len(kinds),
        "vendor_documents": len(documents),
    }


__all__ = ["DEMO_SLUG", "populate_demo"]
