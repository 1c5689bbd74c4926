"""The table's key formats, read from the one file the Rust store is tested against
(shared/store/key-formats.json), so that no Python script writes its own copy."""

import json
from pathlib import Path

FORMATS = json.loads((Path(__file__).resolve().parents[2] / "shared/store/key-formats.json").read_text())


def text(name: str, **values) -> str:
    """A one-part format (a GSI partition, a sort key) with its values."""
    return FORMATS[name].format(**values)


def parts(name: str, **values) -> tuple[str, str]:
    pk, sk = FORMATS[name]
    return pk.format(**values), sk.format(**values)


def key(name: str, **values) -> dict:
    """An item's key in DynamoDB's JSON: key("product", product=id)."""
    pk, sk = parts(name, **values)
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def prefix(name: str, part: int = 0) -> str:
    """What a format's part holds before its first value: "LIMIT#" of limit_window."""
    formats = FORMATS[name]
    return (formats if isinstance(formats, str) else formats[part]).split("{", 1)[0]


def placement(order_id: str) -> str:
    """Where an order is stored: the part of its id every attempt of one request shares."""
    return order_id[FORMATS["placement_starts_at"]:]


def order_key(order_id: str) -> dict:
    return key("order", placement=placement(order_id))
