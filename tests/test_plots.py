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
from cowopt.report import plots
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


# ---------------------------------------------------------------------------- issue 18: a map for a briefing


def _label_boxes(ax) -> list:
    from matplotlib.text import Text

    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_zorder() == 12]
    for label in labels:
        label.update_positions(renderer)
    return [Text.get_window_extent(t, renderer) for t in labels]  # the words, not the leader lines


def _overlapping_pairs(boxes) -> list:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if min(boxes[i].x1, boxes[j].x1) > max(boxes[i].x0, boxes[j].x0)
            and min(boxes[i].y1, boxes[j].y1) > max(boxes[i].y0, boxes[j].y0)]


def test_crowded_labels_never_overlap():
    """40 labels on six nearly coincident points: none overlaps another; every priority label
    (a used site) is placed, farther out with a leader when needed; the rest may be left out."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from cowopt.report import maplayout

    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
    ax.set_xlim(29, 31)
    ax.set_ylim(49, 51)
    points = [(30.0 + 0.02 * (i % 3), 50.0 + 0.02 * (i // 3)) for i in range(6)]
    labels = [maplayout._Label(f"Site number {i}", *points[i % 6], 8.5, "normal", 6.0, priority=i < 6)
              for i in range(6)]
    labels += [maplayout._Label(f"asset {i}", *points[i % 6], 7.5, "italic", 3.0) for i in range(34)]
    placed = maplayout._place_labels(fig, ax, labels, [])
    boxes = _label_boxes(ax)
    assert len(boxes) == len(placed) < 40  # some asset labels had no free place and were left out
    assert _overlapping_pairs(boxes) == []
    assert sum(t.get_text().startswith("Site") for t in ax.texts) == 6


def test_example_map_labels_and_layers(example_result, tmp_path, monkeypatch):
    """On the example: no two labels overlap, every used site is labelled, Mistral's 8 km is a
    halo (legend says so), the plan_title Setting is the heading."""
    seen = {}
    original = plots._place_labels

    def recording(fig, ax, labels, obstacles):
        seen["ax"], seen["labels"] = ax, labels
        return original(fig, ax, labels, obstacles)

    monkeypatch.setattr(plots, "_place_labels", recording)
    data = example_result.data.with_settings(plan_title="Coalition plan for the briefing")
    result = dataclasses.replace(example_result, data=data)
    plots.draw_map(result, tmp_path / "map.png")
    ax = seen["ax"]
    boxes = _label_boxes(ax)
    assert _overlapping_pairs(boxes) == []
    used = (example_result.score.deployments.groupby("site_id")["troops"].sum() > 0).sum()
    site_texts = [t.get_text() for t in ax.texts if t.get_zorder() == 12 and t.get_fontsize() == 8.5]
    assert len(site_texts) == used == 21
    texts = [t.get_text() for t in ax.figure.texts]
    assert "Coalition plan for the briefing" in texts
    legend_texts = [t.get_text() for legend in ax.figure.legends for t in legend.get_texts()]
    assert any(text.startswith("mistral (8 km: halo") for text in legend_texts)
    assert any(text.startswith("patriot (160 km ring)") for text in legend_texts)


def test_default_title_is_scenario_and_date(example_result):
    import datetime as dt

    from cowopt.report.maplayout import _title_text

    today = dt.date.today()
    assert _title_text(example_result, None) == f"Reassurance force plan: base scenario, {today.day} {today:%B %Y}"
    assert _title_text(example_result, "us_backstop").startswith("Reassurance force plan: us_backstop scenario")


def test_occupied_area_from_the_frontline():
    """The example's contact line cuts off Crimea and Donetsk; Kyiv, Odesa, Kherson city (north
    of the Dnipro line), Kharkiv and Dnipro stay free. A line that stops short shades nothing."""
    from cowopt.report import mapareas

    data = cowopt.load(EXAMPLE)
    lon_axis, lat_axis, occupied = mapareas.occupied_mask(data.frontline, data.entry_points)

    def at(lat, lon):
        return bool(occupied[np.abs(lat_axis - lat).argmin(), np.abs(lon_axis - lon).argmin()])

    assert at(45.0, 34.0) and at(48.0, 37.8) and at(47.1, 37.55)  # Crimea, Donetsk, Mariupol
    assert not any(at(*p) for p in [(50.45, 30.52), (46.48, 30.73), (46.64, 32.62), (49.99, 36.23), (48.46, 35.05)])
    front = data.frontline
    open_ended = front[(front["line_id"] == "front_main") & (front["seq"] <= 10)]  # stops ~90 km from the Azov coast
    assert mapareas.occupied_mask(open_ended, data.entry_points) is None


@pytest.mark.parametrize("fmt, magic", [("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_map_formats(tiny_tables, tmp_path, fmt, magic):
    result = cowopt.solve(cowopt.from_tables(tiny_tables))
    path = plots.draw_map(result, tmp_path / f"map.{fmt}")
    content = path.read_bytes()
    assert content.startswith(magic)
    if fmt == "pdf":  # page 2: what each site hosts
        import re

        assert len(re.findall(rb"/Type\s*/Page\b", content)) == 2
    else:
        assert b"<svg" in content[:2000]


def test_map_dpi(tiny_tables, tmp_path):
    result = cowopt.solve(cowopt.from_tables(tiny_tables))
    plots.draw_map(result, tmp_path / "map.png", dpi=50)
    assert imread(tmp_path / "map.png").shape[:2] == (500, 700)


def test_frontier_chart_content(tmp_path, monkeypatch):
    """Each point's value is written, the maximum possible coverage is a dashed line at
    objective / objective_share, and the title and subtitle name the scenarios and inputs."""
    captured = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path, *a: captured.setdefault("fig", fig) and path)
    frame = pd.DataFrame({
        "scenario": ["base"] * 2 + ["us_backstop"] * 2,
        "budget_meur": [2000, 4000] * 2,
        "objective": [3000.0, 5640.0, 3000.0, 5700.0],
        "objective_share": [3000 / 11400, 5640 / 11400, 3000 / 11400, 5700 / 11400],
        "status": ["optimal"] * 4,
    })
    plots.draw_frontier(frame, tmp_path / "frontier.png", inputs="example.xlsx")
    ax = captured["fig"].axes[0]
    values = sorted(t.get_text() for t in ax.texts if t.get_text()[:1].isdigit())
    assert values == ["3,000", "5,640", "5,700"]  # 3,000 is shared by both scenarios: written once
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_ydata()[0] == pytest.approx(11400)
    assert ax.get_title(loc="left") == "Coverage against budget: base, us_backstop scenarios"
    assert any("inputs: example.xlsx" in t.get_text() for t in ax.texts)
    assert any(t.get_text().startswith("maximum possible: 11,400") for t in ax.texts)


def test_cli_map_format_and_dpi(tiny_tables, tmp_path):
    from click.testing import CliRunner
    from support import write_inputs

    from cowopt.cli.main import main

    inputs = write_inputs(tmp_path / "tiny.xlsx", tiny_tables)
    svg = CliRunner().invoke(main, ["solve", str(inputs), "-o", str(tmp_path / "svg"), "--map-format", "svg"])
    assert svg.exit_code == 0, svg.output
    assert (tmp_path / "svg" / "map.svg").read_bytes().startswith(b"<?xml")
    assert not (tmp_path / "svg" / "map.png").exists()
    png = CliRunner().invoke(main, ["solve", str(inputs), "-o", str(tmp_path / "png"), "--dpi", "60"])
    assert png.exit_code == 0, png.output
    assert imread(tmp_path / "png" / "map.png").shape[:2] == (600, 840)
    wrong = CliRunner().invoke(main, ["solve", str(inputs), "-o", str(tmp_path / "bad"), "--map-format", "jpg"])
    assert wrong.exit_code == 2 and not (tmp_path / "bad").exists()
