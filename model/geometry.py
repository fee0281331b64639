"""Distances on the sphere, vectorised with numpy; no model logic here.

Great-circle distances use the haversine formula with the mean Earth radius. The distance
from a point to the contact line is the least distance to any great-circle segment of any
Frontline polyline: the cross-track distance where the foot of the perpendicular falls
inside the segment, otherwise the distance to the nearer end point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance; arguments broadcast like numpy arrays (degrees)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=float)) for a in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def distance_matrix_km(lat_a, lon_a, lat_b, lon_b) -> np.ndarray:
    """Distances between every point of set a (rows) and every point of set b (columns)."""
    lat_a, lon_a = np.asarray(lat_a, float)[:, None], np.asarray(lon_a, float)[:, None]
    lat_b, lon_b = np.asarray(lat_b, float)[None, :], np.asarray(lon_b, float)[None, :]
    return haversine_km(lat_a, lon_a, lat_b, lon_b)


def _unit_vectors(lat, lon) -> np.ndarray:
    lat, lon = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def segments(frontline: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) lat/lon arrays of every segment of every polyline, in seq order.

    A polyline of one point is kept as a zero-length segment (a point threat).
    """
    starts, ends = [], []
    for _, line in frontline.sort_values(["line_id", "seq"]).groupby("line_id", sort=True):
        points = line[["lat", "lon"]].to_numpy(float)
        if len(points) == 1:
            starts.append(points[0])
            ends.append(points[0])
        for a, b in zip(points[:-1], points[1:]):
            starts.append(a)
            ends.append(b)
    if not starts:
        return np.empty((0, 2)), np.empty((0, 2))
    return np.asarray(starts), np.asarray(ends)


def distance_to_polylines_km(lat, lon, frontline: pd.DataFrame) -> np.ndarray:
    """Least great-circle distance from each point to the contact line (inf if there is none)."""
    lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
    starts, ends = segments(frontline)
    if len(starts) == 0:
        return np.full(lat.shape, np.inf)
    p = _unit_vectors(lat, lon)[:, None, :]  # points x 1 x 3
    a = _unit_vectors(starts[:, 0], starts[:, 1])[None, :, :]  # 1 x segments x 3
    b = _unit_vectors(ends[:, 0], ends[:, 1])[None, :, :]
    to_a = haversine_km(lat[:, None], lon[:, None], starts[None, :, 0], starts[None, :, 1])
    to_b = haversine_km(lat[:, None], lon[:, None], ends[None, :, 0], ends[None, :, 1])
    best = np.minimum(to_a, to_b)
    normal = np.cross(a, b)
    norm = np.linalg.norm(normal, axis=-1, keepdims=True)
    proper = norm[..., 0] > 1e-12  # zero-length segments keep the end-point distance
    normal = np.divide(normal, norm, out=np.zeros_like(normal), where=norm > 1e-12)
    sin_cross = np.sum(p * normal, axis=-1)  # sine of the angle off the great circle
    foot = p - sin_cross[..., None] * normal  # projection onto the segment's great circle
    # the foot lies on the minor arc a->b when it is "after" a and "before" b along the normal
    after_a = np.sum(np.cross(a, foot) * normal, axis=-1) >= 0
    before_b = np.sum(np.cross(foot, b) * normal, axis=-1) >= 0
    cross_track = EARTH_RADIUS_KM * np.abs(np.arcsin(np.clip(sin_cross, -1.0, 1.0)))
    inside = proper & after_a & before_b
    best = np.where(inside, np.minimum(best, cross_track), best)
    return best.min(axis=1)
