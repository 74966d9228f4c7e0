"""Plots of segment data: each returns its figure, takes ax=, and draws the data it is given."""

from __future__ import annotations

import io
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tracertools.errors import InvalidInputError
from tracertools.geometry.skeleton import Skeleton
from tracertools.segments import plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def edited(world, current):
    """Current roots with edits in their past."""
    return [r for r in current if world.edits(r)]


def _lines(ax) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {line.get_label(): (np.asarray(line.get_xdata()), np.asarray(line.get_ydata()))
            for line in ax.get_lines()}


def test_edit_history_draws_each_users_cumulative_merges_and_splits(ds, world, edited):
    log = ds.segments(edited).changelogs()
    fig = plots.edit_history(log)
    lines = _lines(fig.axes[0])
    truth = Counter()
    for op in {o.operation_id: o for r in edited for o in world.edits(r)}.values():
        truth[(op.user_id, op.is_merge)] += 1
    names = dict(zip(log["user_id"].astype(str), log["user_name"], strict=False))
    drawn = {}
    for (user, merge), n in truth.items():
        label = f"{names[user]} {'merges' if merge else 'splits'}"
        x, y = lines[label]
        assert y.tolist() == list(range(1, n + 1))
        drawn[label] = x
    assert set(drawn) == set(lines)
    merges = sum(n for (_, m), n in truth.items() if m)
    assert fig.axes[0].get_title() == (
        f"Edit history: {merges} merges, {sum(truth.values()) - merges} splits")


def test_edit_history_counts_an_operation_shared_by_two_segments_once(ds, edited):
    log = ds.segments(edited[:1]).changelogs()
    doubled = pd.concat([log, log], ignore_index=True)
    once = _lines(plots.edit_history(log).axes[0])
    twice = _lines(plots.edit_history(doubled).axes[0])
    assert {k: v[1].tolist() for k, v in once.items()} == {k: v[1].tolist() for k, v in twice.items()}


def test_plots_draw_into_given_axes_and_return_their_figure(ds, edited):
    fig, (left, right) = plt.subplots(1, 2)
    log = ds.segments(edited[:1]).changelogs()
    assert plots.edit_history(log, ax=left) is fig
    assert plots.user_credit(ds.segments(edited[:1]).user_contributions(), ax=right) is fig
    assert left.get_lines() and right.patches


def test_user_credit_bars_are_each_users_supervoxels(ds, world, edited):
    credit = ds.segments(edited).user_contributions()
    fig = plots.user_credit(credit)
    ax = fig.axes[0]
    users = [t.get_text() for t in ax.get_yticklabels()]
    totals = {u: 0.0 for u in users}
    for bar in ax.patches:
        totals[users[round(bar.get_y() + bar.get_height() / 2)]] += bar.get_width()
    truth = Counter()
    for r in edited:
        truth.update(world.user_sv_credit(r))
    assert totals == {u: float(truth[u]) for u in users}
    assert set(users) == {u for u in credit.columns}
    assert [totals[u] for u in users] == sorted(totals.values())  # largest at the top


def test_user_credit_of_one_segment_and_top_users(ds, world, edited):
    root = edited[0]
    series = ds.segment(root).user_contributions()
    ax = plots.user_credit(series, top=1).axes[0]
    best = max(world.user_sv_credit(root).items(), key=lambda kv: kv[1])
    assert [t.get_text() for t in ax.get_yticklabels()] == [best[0]]
    assert [bar.get_width() for bar in ax.patches] == [best[1]]


def test_details_distributions_histogram_every_finite_value(ds, world, current):
    details = ds.segments(current).details(progress=False)
    fig = plots.details_distributions(details, bins=5)
    assert [ax.get_xlabel() for ax in fig.axes] == ["volume (µm³)", "cable length (µm)", "synapses"]
    for ax, column, factor in zip(fig.axes, ["volume_um3", "cable_length_nm", "total_syn"],
                                  [1.0, 1e-3, 1.0], strict=True):
        counts = [bar.get_height() for bar in ax.patches]
        expected, _ = np.histogram(details[column].to_numpy(dtype=float) * factor, bins=5)
        assert counts == expected.tolist()
    cable = np.array([world.cable_length(r) for r in current]) / 1000
    edges = np.histogram_bin_edges(cable, bins=5)
    assert fig.axes[1].patches[0].get_x() == pytest.approx(edges[0])


def test_details_distributions_takes_one_axes_per_column():
    table = pd.DataFrame({"volume_um3": [1.0, 2.0, np.nan, 2.5]})
    fig, ax = plt.subplots()
    assert plots.details_distributions(table, ax=ax, bins=2) is fig
    assert sum(bar.get_height() for bar in ax.patches) == 3  # NaN left out
    with pytest.raises(InvalidInputError, match="1 columns need 1 axes, got 2"):
        plots.details_distributions(table, ax=[ax, ax])
    with pytest.raises(InvalidInputError, match="needs columns"):
        plots.details_distributions(table, columns=["total_syn"])


def test_skeletons_are_their_bones_projected_in_um(ds, current):
    sks = ds.segments(current[:2]).skeletons(progress=False)
    fig = plots.skeletons(sks + [None], plane="xz")
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    for collection, sk in zip(ax.collections, sks, strict=True):
        segs = np.asarray(collection.get_segments())
        assert np.allclose(segs, sk.bones()[:, :, [0, 2]] / 1000)
        assert collection.get_label() == str(sk.segment_id)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (µm)", "z (µm)")


def test_skeletons_in_xy_show_y_downwards_as_neuroglancer():
    sk = Skeleton([[0, 0, 0], [1000, 2000, 0]], [[0, 1]])
    ax = plots.skeletons(sk).axes[0]
    top, bottom = ax.get_ylim()
    assert top > bottom
    with pytest.raises(InvalidInputError, match="plane"):
        plots.skeletons(sk, plane="xx")


def test_skeleton_picture_is_the_offscreen_render_shown_inline(ds, current):
    sk = ds.segment(current[0]).skeleton()
    picture = plots.skeleton_picture(sk, size=(200, 160))
    png = picture._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png))
    assert image.size == (200, 160)
    assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 10
