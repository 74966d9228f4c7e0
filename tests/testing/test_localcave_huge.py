"""The huge neuron: > 1 M supervoxels served lazily; one-shot roots_binary hits 413."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import requests

from tracertools.testing import LocalCave


@pytest.fixture(scope="module")
def huge_cave() -> Iterator[LocalCave]:
    with LocalCave(huge_neuron=True, datastack_name="localcave_huge") as cave:
        yield cave


@pytest.fixture(scope="module")
def huge_client(huge_cave: LocalCave) -> Any:
    return huge_cave.client()


def test_huge_leaves_served_and_one_shot_roots_is_413(huge_cave: LocalCave, huge_client: Any) -> None:
    w = huge_cave.world
    root = w.huge_root
    assert root is not None and w.is_latest(root)
    cg = huge_client.chunkedgraph
    leaves = cg.get_leaves(root)
    assert len(leaves) > 1_000_000
    assert np.array_equal(np.sort(leaves.astype(np.uint64)), w.supervoxels(root))
    assert len(leaves) * 8 > huge_cave.faults.body_limit_bytes
    with pytest.raises(requests.HTTPError) as err:
        cg.get_roots(leaves)
    assert err.value.response.status_code == 413
    half = len(leaves) // 2
    for part in (leaves[:half], leaves[half:]):
        assert set(cg.get_roots(part).tolist()) == {root}


def test_huge_l2_skeleton_and_bounds(huge_cave: LocalCave, huge_client: Any) -> None:
    w = huge_cave.world
    root = w.huge_root
    assert root is not None
    cg = huge_client.chunkedgraph
    l2 = cg.get_leaves(root, stop_layer=2)
    data = huge_client.l2cache.get_l2data(l2, attributes=["size_nm3"])
    assert sum(d["size_nm3"] for d in data.values()) == w.volume_nm3(root)
    cs = np.array(w.chunk_size)
    x_max = int(cs[0])  # only the first chunk column
    bounds = np.array([[0, x_max], [0, w.shape[1]], [0, w.shape[2]]])
    part = cg.get_leaves(root, bounds=bounds)
    assert 0 < len(part) < len(w.supervoxels(root))
    sk = w.skeleton(root)
    assert sk.cable_length() > 0 and len(sk.lvl2_ids) == len(l2)
    assert huge_client.chunkedgraph.is_latest_roots([root]).tolist() == [True]


def test_gzip_roots_binary_like_cloudvolume(huge_cave: LocalCave) -> None:
    """cloud-volume gzips roots_binary bodies over 125,000 IDs (Content-Encoding: gzip)."""
    import gzip

    w = huge_cave.world
    root = w.huge_root
    assert root is not None
    ids = w.supervoxels(root)[:200_000]
    body = gzip.compress(ids.astype("<u8").tobytes())
    r = requests.post(
        f"{huge_cave.url}/segmentation/api/v1/table/{huge_cave.table_name}/roots_binary",
        data=body,
        headers={"Authorization": f"Bearer {huge_cave.token}", "Content-Encoding": "gzip"},
        params={"timestamp": "1800000000"},
    )
    assert r.status_code == 200
    assert set(np.frombuffer(r.content, dtype="<u8").tolist()) == {root}
    cv = huge_cave.cloudvolume()
    assert set(cv.get_roots(ids).tolist()) == {root}
