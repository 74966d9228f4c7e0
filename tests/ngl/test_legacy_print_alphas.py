"""make_mesh_from_points(print_alphas=True) shows the alphas where a notebook user sees them:
on standard output, in the original's words."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from tracertools.legacy import _ngl as shims

RES = np.array([4.0, 4.0, 45.0])


def _ball(centre_nm, radius_nm, n=100):
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    unit = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)
    return np.vstack([np.asarray(centre_nm) + radius_nm * unit, [centre_nm]])


@pytest.fixture(scope="module")
def bucket():
    from tracertools.testing.s3 import LocalS3

    with LocalS3(buckets=["tt-alphas"], alias="ttalphas") as server:
        yield server.url("tt-alphas", "roi")


@pytest.fixture
def share_url(local_cave):
    ds = local_cave.datastack()
    layers = [ds.annotation_layer("a", _ball([4000, 4000, 4500], 900) / RES),
              ds.annotation_layer("b", _ball([7000, 4000, 4500], 700) / RES)]
    return ds.shorten(ds.state_for(annotation_layers=layers))


def test_print_alphas_writes_the_original_lines_to_standard_output(local_cave, bucket,
                                                                    share_url, capsys):
    shims.make_mesh_from_points(local_cave.datastack(), share_url, bucket,
                                alphas=[2000, None], print_alphas=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first = re.fullmatch(r"Submesh 1 alpha value 2000 to ([0-9.e+]+)", lines[0])
    second = re.fullmatch(r"Submesh 2 alpha value None to ([0-9.e+]+)", lines[1])
    assert first and second
    assert float(first.group(1)) >= 2000


def test_without_print_alphas_nothing_is_written(local_cave, bucket, share_url, capsys):
    shims.make_mesh_from_points(local_cave.datastack(), share_url, bucket)
    assert capsys.readouterr().out == ""


def test_the_lines_go_through_a_logger_the_user_can_silence(local_cave, bucket, share_url,
                                                            capsys):
    quiet = logging.getLogger("tracertools.legacy.shown")
    quiet.disabled = True
    try:
        shims.make_mesh_from_points(local_cave.datastack(), share_url, bucket,
                                    print_alphas=True)
    finally:
        quiet.disabled = False
    assert capsys.readouterr().out == ""


def test_the_root_logger_is_left_alone(local_cave, bucket, share_url):
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    shims.make_mesh_from_points(local_cave.datastack(), share_url, bucket, print_alphas=True)
    assert root.handlers == handlers and root.level == level
