"""Values typed on the command line (`--set`, `--env`): TOML when they parse, plain text otherwise."""

from __future__ import annotations

import tomllib
from typing import Any


def parse_value(text: str) -> Any:
    """A TOML value when the text is one (1000, 0.5, true, [1, 2], "x"); the bare text otherwise."""
    try:
        return tomllib.loads(f"value = {text.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def parse_key_values(items: list[str], option: str, example: str) -> dict[str, Any]:
    """`KEY=VALUE` strings as a dict; a malformed item is a ValueError naming the option."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, equals, text = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{option} {item!r}: expected KEY=VALUE, e.g. {example}")
        parsed[key.strip()] = parse_value(text)
    return parsed
