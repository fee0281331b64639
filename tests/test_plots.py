"""The map and the frontier chart: right size, fast, honest geometry, right colours."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

import cowopt
from cowopt import plots
from cowopt.geometry import EARTH_RADIUS_KM, distance_to_polylines_km, haversine_km

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"
MAP_PIXELS = (1000, 1400)  # rows, columns: 14 x 10 in at 100 dpi


@pytest.fixture(scope="module")
def example_result():
    # a time-limited solve is enough: the map only needs some feasible plan
    return cowopt.solve(cowopt.load(EXAMPLE), time_limit_s=10)


def _draw_timed(result, path: Path, **kwargs) -> float:
    """CPU seconds of one draw (CPU, not wall time, so a busy machine does not fail it)."""
    started = time.process_time()
    plots.draw_map(result, path, **kwargs)
    return time.process_time() - started


def test_example_map_size_and_speed(example_result, tmp_path):
    assert example_result.has_plan
    plots.draw_map(example_result, tmp_path / "warm.png")  # first draw loads fonts
    seconds = _draw_timed(example_result, tmp_path / "map.png", title="example")
    image = imread(tmp_path / "map.png")
    assert image.shape[:2] == MAP_PIXELS
    assert seconds < 3.0
    # no leftover temporary file from the atomic write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.png", "warm.png"]


def test_tiny_map(tiny_tables, tmp_path):
    result = cowopt.solve(cowopt.from_tables(tiny_tables))
    path = plots.draw_map(result, tmp_path / "out" / "map.png")
    assert path == tmp_path / "out" / "map.png"
    assert imread(path).shape[:2] == MAP_PIXELS


def test_map_without_a_plan(tiny_tables, tmp_path):
    """An infeasible run has no score: the map shows the inputs and the diagnosis."""
    solved = cowopt.solve(cowopt.from_tables(tiny_tables))
    result = dataclasses.replace(solved, score=None, status=cowopt.Status.INFEASIBLE, detail="infeasible",
                                 diagnosis=["mission_troops_min 9,000 exceeds what states can send (6,000)"])
    plots.draw_map(result, tmp_path / "map.png")
    assert imread(tmp_path / "map.png").shape[:2] == MAP_PIXELS


def test_cover_classes_follow_the_best_capability(tiny_tables):
    """Hand-made coverage: the class is decided by the most valuable capability's count."""
    data = cowopt.from_tables(tiny_tables)
    rows = [  # asset, capability, cover_count, contribution, max_contribution
        ("A1", "air_defence", 3, 150.0, 150.0),   # best covered 3x -> layered
        ("A2", "air_defence", 1, 80.0, 120.0),    # best (120) covered once -> once
        ("A2", "medical", 2, 60.0, 60.0),
        ("A3", "air_defence", 0, 0.0, 90.0),      # nothing at all -> uncovered
        ("A4", "air_defence", 0, 0.0, 15.0),      # best missing, medical present -> partial
        ("A4", "medical", 2, 7.5, 7.5),
    ]
    coverage = pd.DataFrame(rows, columns=["asset_id", "capability", "cover_count", "contribution", "max_contribution"])
    classes = plots.cover_classes(data, SimpleNamespace(coverage=coverage))
    assert classes.to_dict() == {"A1": "layered", "A2": "once", "A3": "uncovered", "A4": "partial"}


def test_cover_classes_on_a_solved_plan(tiny_tables):
    """The tiny Port (46.35N) is 72 km from the only allowed air-defence site (47.0N) and a
    sam reaches 50 km, so every plan leaves it uncovered; value-0 assets are grey."""
    tiny_tables["Infrastructure"]["value"][3] = 0  # Town occupied
    result = cowopt.solve(cowopt.from_tables(tiny_tables))
    classes = plots.cover_classes(result.data, result.score)
    assert classes["A3"] == "uncovered"
    assert classes["A4"] == "none"
    no_plan = plots.cover_classes(result.data, None)
    assert no_plan.to_dict() == {"A1": "inputs", "A2": "inputs", "A3": "inputs", "A4": "none"}


@pytest.mark.parametrize("lat, lon, radius_km", [(0.0, 0.0, 100.0), (50.45, 30.52, 160.0), (46.5, 30.7, 8.0)])
def test_geodesic_circle_is_at_the_radius(lat, lon, radius_km):
    lats, lons = plots.geodesic_circle(lat, lon, radius_km, points=73)
    np.testing.assert_allclose(haversine_km(lat, lon, lats, lons), radius_km, rtol=1e-9)
    assert (lats[0], lons[0]) == pytest.approx((lats[-1], lons[-1]))


def test_geodesic_circle_by_hand():
    # one degree of arc is R * pi / 180 km: north of the equator that lands on 1N, 0E
    one_degree_km = EARTH_RADIUS_KM * np.pi / 180
    lats, lons = plots.geodesic_circle(0.0, 0.0, one_degree_km, points=5)  # bearings 0, 90, 180, 270, 360
    np.testing.assert_allclose(lats, [1, 0, -1, 0, 1], atol=1e-12)
    np.testing.assert_allclose(lons, [0, 1, 0, -1, 0], atol=1e-12)
    # at 60N the ring is twice as wide in degrees of longitude as tall in latitude
    lats, lons = plots.geodesic_circle(60.0, 30.0, 50.0, points=361)
    assert np.ptp(lons) / np.ptp(lats) == pytest.approx(2.0, rel=0.01)


def test_buffer_band_matches_the_model_distance():
    """The band's fast distance is exact or a bound beyond the buffer, never the wrong side."""
    data = cowopt.load(EXAMPLE)
    rng = np.random.default_rng(7)
    lat = rng.uniform(45.0, 51.5, 4000)
    lon = rng.uniform(30.0, 40.0, 4000)
    buffer_km = 50.0
    fast = plots._band_distance(lat, lon, data.frontline, buffer_km + 20.0)
    exact = distance_to_polylines_km(lat, lon, data.frontline)
    assert np.array_equal(fast <= buffer_km, exact <= buffer_km)
    near = exact <= buffer_km + 20.0
    np.testing.assert_allclose(fast[near], exact[near], rtol=1e-12)
    assert np.all(fast <= exact + 1e-9)  # elsewhere a lower bound
    assert near.sum() > 200 and (~near).sum() > 200  # both kinds of point were tried


def test_outline_ships_with_the_package():
    outline = plots.country_outline()
    assert list(outline.columns) == ["seq", "lat", "lon"]
    assert len(outline) == 98
    assert tuple(outline.iloc[0][["lat", "lon"]]) == tuple(outline.iloc[-1][["lat", "lon"]])  # closed
    assert outline["lat"].between(44.0, 52.5).all() and outline["lon"].between(22.0, 40.3).all()


def test_frontier_chart(tmp_path):
    frame = pd.DataFrame({
        "scenario": ["base"] * 3 + ["us_backstop"] * 3,
        "budget_meur": [2000, 4000, 6000] * 2,
        "objective": [3000.0, np.nan, 7600.0, 3500.0, 6000.0, 8300.0],
        "status": ["optimal", "infeasible", "feasible", "optimal", "optimal", "optimal"],
    })
    path = plots.draw_frontier(frame, tmp_path / "frontier.png")
    assert imread(path).shape[:2] == (600, 900)
    # a frame without scenario or status columns is one series
    plots.draw_frontier(frame[["budget_meur", "objective"]], tmp_path / "plain.png")
    assert imread(tmp_path / "plain.png").shape[:2] == (600, 900)
