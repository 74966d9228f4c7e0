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


def test_https_door_needs_the_token_as_a_bearer_header(world: World) -> None:
    import ssl
    import urllib.error
    import urllib.request

    with LocalCave(https=True, datastack_name="https_demo") as cave:
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        root = world.neuron_root(0)
        url = f"{cave.https_url}{TABLE_PATH}/node/{root}/root"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {cave.token}"})
        with urllib.request.urlopen(request, context=insecure, timeout=5) as answer:
            assert answer.status == 200
        try:
            urllib.request.urlopen(url, context=insecure, timeout=5)
            raise AssertionError("no token, yet an answer")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        assert cave.config.sources.segmentation == (
            f"graphene://middleauth+{cave.https_url}/segmentation/table/localcave"
        )
        assert cave.https_url.startswith("https://127.0.0.1:") and len(cave.certificate_spki) == 44


def test_https_door_is_off_by_default(cave: LocalCave) -> None:
    import pytest

    with pytest.raises(RuntimeError, match="https=True"):
        _ = cave.https_url
    assert cave.config.sources.segmentation == cave.segmentation_source
