"""Where demo orders ship from and to: four warehouses, and US zip regions (the zip's first digit) as points.

Coarse on purpose: the simulated history only needs plausible distances, not addresses geocoded.
"""

from __future__ import annotations

import math

# Warehouse code -> (latitude, longitude).
WAREHOUSES: dict[str, tuple[float, float]] = {
    "NJ-Edison": (40.52, -74.41),
    "OH-Columbus": (39.96, -83.00),
    "TX-Dallas": (32.78, -96.80),
    "CA-Ontario": (34.06, -117.65),
}

# A zip code's first digit is its USPS region, roughly east (0) to west (9); one representative city each.
ZIP_REGIONS: dict[str, tuple[float, float]] = {
    "0": (42.36, -71.06),  # Boston
    "1": (40.71, -74.00),  # New York
    "2": (37.54, -77.44),  # Richmond
    "3": (33.75, -84.39),  # Atlanta
    "4": (39.96, -83.00),  # Columbus
    "5": (44.98, -93.27),  # Minneapolis
    "6": (39.10, -94.58),  # Kansas City
    "7": (32.78, -96.80),  # Dallas
    "8": (39.74, -104.99),  # Denver
    "9": (34.05, -118.24),  # Los Angeles
}
ROAD_FACTOR = 1.25  # roads are longer than great circles
EARTH_RADIUS_KM = 6371.0


def region_of(zip_code: str) -> str:
    first = zip_code.strip()[:1]
    return first if first in ZIP_REGIONS else "4"  # an unknown zip is treated as mid-country


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def road_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return great_circle_km(a, b) * ROAD_FACTOR


def nearest_warehouse(point: tuple[float, float]) -> str:
    return min(WAREHOUSES, key=lambda code: great_circle_km(WAREHOUSES[code], point))
