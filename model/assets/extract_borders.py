"""Rebuild countries_50m.csv: Ukraine and its neighbours from Natural Earth 1:50m admin-0.

Not part of the package's runtime: run once by hand to regenerate the CSV. The source is the
npm package world-atlas 2.0.2 (`npm pack world-atlas@2.0.2`, file countries-50m.json), a
TopoJSON conversion of Natural Earth's 1:50m admin-0 countries (public domain). Each
polygon is clipped to the box below (the theatre with room around it) so the CSV stays small:

    python model/assets/extract_borders.py path/to/countries-50m.json > model/assets/countries_50m.csv
"""

from __future__ import annotations

import json
import sys

# ISO 3166-1 numeric -> name: Ukraine, its neighbours, and those that show inside the box
COUNTRIES = {"804": "Ukraine", "616": "Poland", "703": "Slovakia", "348": "Hungary", "642": "Romania",
             "498": "Moldova", "112": "Belarus", "643": "Russia", "100": "Bulgaria", "688": "Serbia",
             "440": "Lithuania", "428": "Latvia", "203": "Czechia", "040": "Austria", "792": "Turkey",
             "268": "Georgia", "233": "Estonia", "191": "Croatia", "705": "Slovenia", "070": "Bosnia and Herzegovina",
             "807": "North Macedonia", "276": "Germany", "300": "Greece", "499": "Montenegro", "008": "Albania",
             "-99": "Kosovo"}
WEST, EAST, SOUTH, NORTH = 12.0, 50.0, 39.0, 58.0


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Quantised, delta-encoded TopoJSON arcs as absolute (lon, lat) lists."""
    (kx, ky), (dx, dy) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for qx, qy in arc:
            x, y = x + qx, y + qy
            points.append((x * kx + dx, y * ky + dy))
        arcs.append(points)
    return arcs


def ring(arcs: list, indices: list[int]) -> list[tuple[float, float]]:
    """A ring from arc indices; a negative index ~i is arc i reversed; shared ends dropped."""
    points: list = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def clip(points: list, west=WEST, east=EAST, south=SOUTH, north=NORTH) -> list:
    """Sutherland-Hodgman clipping of a ring to the box (edges along the box are harmless)."""
    edges = [(lambda p: p[0] >= west, lambda a, b: _at_x(a, b, west)),
             (lambda p: p[0] <= east, lambda a, b: _at_x(a, b, east)),
             (lambda p: p[1] >= south, lambda a, b: _at_y(a, b, south)),
             (lambda p: p[1] <= north, lambda a, b: _at_y(a, b, north))]
    for inside, cross in edges:
        if not points:
            break
        result, previous = [], points[-1]
        for current in points:
            if inside(current):
                if not inside(previous):
                    result.append(cross(previous, current))
                result.append(current)
            elif inside(previous):
                result.append(cross(previous, current))
            previous = current
        points = result
    return points


def _at_x(a, b, x):
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _at_y(a, b, y):
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def _is_crimea(points: list) -> bool:
    """This edition draws Crimea inside Russia's polygon; the map draws Ukraine in its
    internationally recognised borders and shades the occupied area from the Frontline sheet."""
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lons) > 32.0 and max(lons) < 36.8 and min(lats) > 44.2 and max(lats) < 46.3


def main(path: str) -> None:
    topology = json.load(open(path, encoding="utf-8"))
    arcs = decode_arcs(topology)
    print("country,part,seq,lat,lon")
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = COUNTRIES.get(str(geometry.get("id")))
        if name is None:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        part = 0
        for polygon in polygons:
            outer = clip(ring(arcs, polygon[0]))  # holes (none in this box that matter) are skipped
            if len(outer) < 3:
                continue
            part += 1
            owner = "Ukraine" if name == "Russia" and _is_crimea(outer) else name
            for seq, (lon, lat) in enumerate(outer, start=1):
                print(f"{owner},{part if owner == name else 100 + part},{seq},{lat:.4f},{lon:.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
