"""Time zones, from the pinned ``tzdata`` package only: the same names and the same rules on every
machine, whatever the machine's own ``/usr/share/zoneinfo`` holds (``zoneinfo.ZoneInfo`` would
read that first). EventBridge Scheduler applies AWS's own copy of the tz database; the preview uses
``tzdata``'s, whose version ``TZDATA_VERSION`` names.
"""

from __future__ import annotations

import functools
from importlib import resources
from zoneinfo import ZoneInfo

import tzdata

__all__ = ["ABBREVIATIONS", "TZDATA_VERSION", "is_zone", "zone_info", "zone_names"]

#: The IANA release of the pinned data, for example ``2026f``.
TZDATA_VERSION: str = tzdata.IANA_VERSION

# Not a place: the tz database's "Factory" zone has no time of its own.
_NOT_PLACES = frozenset({"Factory"})

#: Abbreviations people write for a zone, and the zone they usually mean. Some are also names in
#: the database with another meaning (``EST`` is a fixed UTC-5 with no daylight saving, ``CET`` a
#: link to Brussels), so they are refused and the zone named instead.
ABBREVIATIONS: dict[str, str] = {
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "IST": "Asia/Kolkata",  # also Irish (Europe/Dublin) and Israel (Asia/Jerusalem) Standard Time
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "PHT": "Asia/Manila",
    "WIB": "Asia/Jakarta",
    "ICT": "Asia/Bangkok",
    "CST": "America/Chicago",  # also China Standard Time (Asia/Shanghai)
    "CDT": "America/Chicago",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "HST": "Pacific/Honolulu",
    "BRT": "America/Sao_Paulo",
    "ART": "America/Argentina/Buenos_Aires",
    "BST": "Europe/London",
    "WET": "Europe/Lisbon",
    "CET": "Europe/Berlin",
    "CEST": "Europe/Berlin",
    "MEZ": "Europe/Berlin",
    "EET": "Europe/Athens",
    "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "ACST": "Australia/Adelaide",
    "AWST": "Australia/Perth",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
}


@functools.cache
def zone_names() -> frozenset[str]:
    """Every zone name of the pinned database (its canonical zones and their backward-compatible
    links), without "Factory" and without the machine's own names such as "localtime"."""
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(listed) - _NOT_PLACES


def is_zone(name: str) -> bool:
    """Whether ``name`` is a zone a job may use: in the pinned database, and not an abbreviation."""
    return name in zone_names() and name not in ABBREVIATIONS


@functools.lru_cache(maxsize=256)
def zone_info(name: str) -> ZoneInfo:
    """The zone's rules, read from the pinned ``tzdata`` package, never from the machine."""
    if name not in zone_names():
        raise KeyError(name)
    path = resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    with path.open("rb") as data:
        return ZoneInfo.from_file(data, key=name)
