"""Meshes from many point layers: one alpha shape per layer on the cluster, the same mesh."""

from __future__ import annotations

import numpy as np
import pytest

from tracertools.errors import InvalidGeometryError

RES = np.array([4.0, 4.0, 45.0])  # LocalCave's viewer resolution


def ball(centre_nm, radius_nm, n=120):
    """Points spread over a sphere (Fibonacci lattice) plus its centre, in nm."""
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    unit = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)
    return np.vstack([np.asarray(centre_nm) + radius_nm * unit, [centre_nm]])


def point_state(ds, centres):
    layers = [ds.annotation_layer(f"part {k}", ball(c, 900) / RES) for k, c in enumerate(centres)]
    return ds.state_for(annotation_layers=layers)


def test_mesh_from_points_on_the_cluster_equals_the_serial_mesh(client, ds, tmp_path):
    state = point_state(ds, [[4000, 4000, 4500], [5000, 4000, 4500], [4500, 4800, 4500]])
    serial = ds.mesh_from_points(state, tmp_path / "a", mesh_source_url="precomputed://x")
    spread = ds.mesh_from_points(state, tmp_path / "b", mesh_source_url="precomputed://x",
                                 executor=client)
    assert spread.mesh == serial.mesh
    assert spread.alphas == serial.alphas and spread.layers == serial.layers


def test_a_layer_that_cannot_be_meshed_is_named_as_serially(client, ds, tmp_path):
    flat = [ds.annotation_layer("flat", np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]]))]
    state = ds.state_for(annotation_layers=flat)
    with pytest.raises(InvalidGeometryError, match="flat"):
        ds.mesh_from_points(state, tmp_path / "v", mesh_source_url="precomputed://x",
                            executor=client)
