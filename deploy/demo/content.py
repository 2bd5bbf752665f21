"""The demo accounts, product catalog and posts that ``python -m deploy.demo`` loads.

Ids are fixed so that loading twice finds what the first run created. Product
ids match the commerce service's pattern ``[A-Za-z0-9_.-]{1,64}``.
"""

from dataclasses import dataclass
from typing import Literal

from shared.auth import Role

# The interests a post or a shopper can pick in the demo, all lower case.
INTERESTS = ("gaming", "pets", "coffee", "space", "outdoors", "fashion", "tech", "home")

MediaKind = Literal["photo", "video"]


@dataclass(frozen=True)
class DemoUser:
    """An account the demo acts as, with a token from ``POST /dev/tokens``."""

    user_id: str
    role: Role
    display_name: str


@dataclass(frozen=True)
class DemoProduct:
    """A product card, in the fields of the commerce ``POST /products`` body."""

    product_id: str
    title: str
    description: str
    price_cents: int
    stock: int
    brand_id: str
    # Optional field of commerce's product body, set to an interest name here.
    category: str
    currency: str = "EUR"


@dataclass(frozen=True)
class DemoPost:
    """A post uploaded to ingest, with media made from a scikit-image sample."""

    # Stable name of the demo post, because ingest assigns post_id on upload.
    key: str
    creator_id: str
    caption: str
    interests: tuple[str, ...]
    product_ids: tuple[str, ...]
    image_name: str
    media_kind: MediaKind


BRAND = DemoUser("brand-acme", Role.BRAND, "Acme Goods")

CREATORS = (
    DemoUser("creator-ana", Role.CREATOR, "Ana, cat person and coffee nerd"),
    DemoUser("creator-ben", Role.CREATOR, "Ben, space fan and gamer"),
    DemoUser("creator-chloe", Role.CREATOR, "Chloe, outdoor photographer"),
)

SHOPPER = DemoUser("shopper-sam", Role.SHOPPER, "Sam, a shopper")
SHOPPER_INTERESTS = ("gaming", "pets")

PRODUCTS = (
    DemoProduct(
        product_id="acme-feather-wand",
        title="Feather wand cat toy",
        description="A flexible wand with a replaceable feather lure, 90 cm long.",
        price_cents=1299,
        stock=120,
        brand_id=BRAND.user_id,
        category="pets",
    ),
    DemoProduct(
        product_id="acme-cardboard-scratcher",
        title="Cardboard cat scratcher",
        description="Corrugated cardboard scratcher, reversible, with catnip.",
        price_cents=2499,
        stock=60,
        brand_id=BRAND.user_id,
        category="pets",
    ),
    DemoProduct(
        product_id="acme-pour-over-kit",
        title="Pour-over coffee kit",
        description="Ceramic dripper, 40 paper filters and a 600 ml glass server.",
        price_cents=3999,
        stock=40,
        brand_id=BRAND.user_id,
        category="coffee",
    ),
    DemoProduct(
        product_id="acme-stoneware-mug",
        title="Stoneware coffee mug",
        description="Hand-glazed 300 ml mug, dishwasher safe.",
        price_cents=1499,
        stock=200,
        brand_id=BRAND.user_id,
        category="home",
    ),
    DemoProduct(
        product_id="acme-mission-hoodie",
        title="Mission patch hoodie",
        description="Heavy cotton hoodie with an embroidered mission patch.",
        price_cents=5499,
        stock=75,
        brand_id=BRAND.user_id,
        category="fashion",
    ),
    DemoProduct(
        product_id="acme-model-rocket",
        title="Model rocket kit",
        description="Build-and-fly rocket kit, 45 cm, with a parachute recovery.",
        price_cents=4499,
        stock=30,
        brand_id=BRAND.user_id,
        category="space",
    ),
    DemoProduct(
        product_id="acme-wireless-controller",
        title="Wireless game controller",
        description="Bluetooth controller with hall-effect sticks, 30 h battery.",
        price_cents=5999,
        stock=50,
        brand_id=BRAND.user_id,
        category="gaming",
    ),
    DemoProduct(
        product_id="acme-travel-tripod",
        title="Travel tripod",
        description="Aluminium tripod, folds to 40 cm, carries 8 kg.",
        price_cents=8999,
        stock=25,
        brand_id=BRAND.user_id,
        category="outdoors",
    ),
    DemoProduct(
        product_id="acme-riding-gloves",
        title="Leather riding gloves",
        description="Motorcycle gloves with knuckle protection, sizes S to XL.",
        price_cents=3999,
        stock=45,
        brand_id=BRAND.user_id,
        category="fashion",
    ),
)

POSTS = (
    DemoPost(
        key="chelsea-feather-wand",
        creator_id="creator-ana",
        caption="Chelsea has a new favourite toy and it is not my phone charger.",
        interests=("pets", "home"),
        product_ids=("acme-feather-wand", "acme-cardboard-scratcher"),
        image_name="chelsea",
        media_kind="photo",
    ),
    DemoPost(
        key="chelsea-speedrun",
        creator_id="creator-ana",
        caption="My speedrun co-op partner. She mostly judges.",
        interests=("pets", "gaming"),
        product_ids=("acme-wireless-controller", "acme-feather-wand"),
        image_name="chelsea",
        media_kind="video",
    ),
    DemoPost(
        key="coffee-pour-over",
        creator_id="creator-ana",
        caption="Sunday pour-over: 15 g of coffee, 250 g of water at 94 °C.",
        interests=("coffee", "home"),
        product_ids=("acme-pour-over-kit", "acme-stoneware-mug"),
        image_name="coffee",
        media_kind="photo",
    ),
    DemoPost(
        key="astronaut-suit-up",
        creator_id="creator-ben",
        caption="Suit-up day. The patch on the hoodie is the closest I will get.",
        interests=("space", "fashion"),
        product_ids=("acme-mission-hoodie",),
        image_name="astronaut",
        media_kind="video",
    ),
    DemoPost(
        key="rocket-liftoff",
        creator_id="creator-ben",
        caption="Counting down to the next launch; my model one flies on Saturday.",
        interests=("space", "tech"),
        product_ids=("acme-model-rocket", "acme-mission-hoodie"),
        image_name="rocket",
        media_kind="video",
    ),
    DemoPost(
        key="deep-field-stream",
        creator_id="creator-ben",
        caption="Tonight's space-sim stream backdrop: every smudge is a galaxy.",
        interests=("space", "gaming"),
        product_ids=("acme-wireless-controller",),
        image_name="hubble_deep_field",
        media_kind="photo",
    ),
    DemoPost(
        key="camera-field-shoot",
        creator_id="creator-chloe",
        caption="Old lens, steady tripod, wide open field.",
        interests=("outdoors", "tech"),
        product_ids=("acme-travel-tripod",),
        image_name="camera",
        media_kind="photo",
    ),
    DemoPost(
        key="motorcycle-ride-prep",
        creator_id="creator-chloe",
        caption="Gear check before the mountain pass: gloves, tripod, spare battery.",
        interests=("outdoors", "fashion", "tech"),
        product_ids=("acme-riding-gloves", "acme-travel-tripod"),
        image_name="motorcycle",
        media_kind="video",
    ),
)


def find_user(user_id: str) -> DemoUser:
    """Return the demo account with ``user_id``."""
    for user in (BRAND, *CREATORS, SHOPPER):
        if user.user_id == user_id:
            return user
    raise ValueError(f"user_id {user_id!r} is not a demo account")
