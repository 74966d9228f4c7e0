"""LocalCave answers a browser as the real services do: CORS, preflights, string IDs."""

from __future__ import annotations

import requests

from tracertools.testing import LocalCave, World

TABLE_PATH = "/segmentation/api/v1/table/localcave"


def test_every_answer_allows_any_origin(cave: LocalCave) -> None:
    ok = requests.get(f"{cave.url}/static/ws/info", timeout=5)
    refused = requests.get(f"{cave.url}{TABLE_PATH}/is_latest_roots", timeout=5)
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.status_code in (401, 405)
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


def test_preflight_is_allowed_without_a_token(cave: LocalCave, world: World) -> None:
    root = world.neuron_root(0)
    answer = requests.options(
        f"{cave.url}{TABLE_PATH}/node/{root}/leaves",
        headers={
            "Origin": "http://127.0.0.1:1",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=5,
    )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in answer.headers["Access-Control-Allow-Headers"].lower()
    assert "GET" in answer.headers["Access-Control-Allow-Methods"]
    assert cave.stats["cors_preflight"] == 1


def test_leaves_and_root_as_strings_when_asked(cave: LocalCave, world: World) -> None:
    root = world.neuron_root(1)
    auth = {"Authorization": f"Bearer {cave.token}"}
    leaves = requests.get(
        f"{cave.url}{TABLE_PATH}/node/{root}/leaves", params={"int64_as_str": "1"},
        headers=auth, timeout=5,
    ).json()["leaf_ids"]
    assert all(isinstance(v, str) for v in leaves)
    assert sorted(int(v) for v in leaves) == sorted(world.supervoxels(root).tolist())
    sv = leaves[0]
    found = requests.get(
        f"{cave.url}{TABLE_PATH}/node/{sv}/root", params={"int64_as_str": "1"},
        headers=auth, timeout=5,
    ).json()["root_id"]
    assert found == str(root)
