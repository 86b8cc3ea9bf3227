"""Make ``livingmemory/data/outlines.geojson``: Slovenia's and Gorenjska's outlines for the
offline base map (drawn under the tiles, so a map is never grey without a network).

Source: the statistical regions (``SR.geojson``) of the Register of Spatial Units (Register
prostorskih enot) of the Surveying and Mapping Authority of the Republic of Slovenia (GURS),
CC BY 4.0, as converted to GeoJSON (WGS84) by the public ``stefanb/gurs-rpe`` repository.
Slovenia is the union of the twelve regions; Gorenjska is the region of that name. Both are
simplified with shapely (Douglas-Peucker, topology preserved) to about 0.002 degrees
(~150-200 m), plenty for a map of the region, and rounded to 4 decimals.

Usage: python scripts/make_outlines.py SR.geojson livingmemory/data/outlines.geojson
(needs shapely: pip install shapely)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TOLERANCE = 0.002
SOURCE = (
    "GURS, Register prostorskih enot: statistične regije (CC BY 4.0), via stefanb/gurs-rpe; "
    f"simplified with shapely to {TOLERANCE} degrees"
)


def _rounded(geometry: dict) -> dict:
    def walk(value):
        if isinstance(value, float):
            return round(value, 4)
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return {**geometry, "coordinates": walk(geometry["coordinates"])}


def main(source: str, target: str) -> None:
    from shapely import unary_union
    from shapely.geometry import mapping, shape

    data = json.loads(Path(source).read_text("utf-8"))
    regions = {f["properties"]["SR_UIME"]: shape(f["geometry"]) for f in data["features"]}
    slovenia = unary_union(list(regions.values())).buffer(0)
    outlines = [
        ("slovenija", "Slovenija", slovenia),
        ("gorenjska", "Gorenjska", regions["Gorenjska"]),
    ]
    features = []
    for key, name, geometry in outlines:
        simple = geometry.simplify(TOLERANCE, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "properties": {"id": key, "name": name},
                "geometry": _rounded(mapping(simple)),
            }
        )
    collection = {"type": "FeatureCollection", "source": SOURCE, "features": features}
    Path(target).write_text(json.dumps(collection, separators=(",", ":")) + "\n", "utf-8")
    print(target, Path(target).stat().st_size, "bytes")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
    main(sys.argv[1], sys.argv[2])
