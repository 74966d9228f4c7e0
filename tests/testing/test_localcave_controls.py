"""LocalCave controls: counters, log, faults, latency, auth, config registration, isolation."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from tracertools.datastack import Datastack
from tracertools.testing import LocalCave, World


def test_stats_count_requests_per_endpoint(cave: LocalCave) -> None:
    assert cave.stats.total == 0
    client = cave.client()
    assert cave.stats.as_dict() == {"info_version": 1, "datastack_info": 1}
    root = cave.world.neuron_root(0)
    client.chunkedgraph.is_latest_roots([root])
    client.chunkedgraph.get_leaves(root)
    client.chunkedgraph.get_leaves(root, stop_layer=2)
    assert cave.stats["is_latest_roots"] == 1
    assert cave.stats["leaves"] == 2
    assert cave.stats["roots_binary"] == 0
    assert cave.stats.total == sum(cave.stats.as_dict().values())
    log = cave.request_log
    assert [e.endpoint for e in log].count("leaves") == 2
    entry = next(e for e in log if e.endpoint == "is_latest_roots")
    assert entry.method == "POST" and entry.status == 200 and entry.body_bytes > 0
    cave.stats.reset()
    assert cave.stats.total == 0


def test_body_bytes_are_counted_per_endpoint_both_ways(cave: LocalCave) -> None:
    root = cave.world.neuron_root(0)
    url = f"{cave.url}/segmentation/api/v1/table/{cave.table_name}/is_latest_roots"
    body = b'{"node_ids": [%d]}' % root
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {cave.token}"
        answers = [s.post(url, data=body) for _ in range(2)]
        leaves = s.get(f"{cave.url}/segmentation/api/v1/table/{cave.table_name}/node/{root}/leaves")
    assert cave.request_bytes["is_latest_roots"] == 2 * len(body)
    assert cave.response_bytes["is_latest_roots"] == sum(len(a.content) for a in answers)
    assert cave.request_bytes["leaves"] == 0 and cave.response_bytes["leaves"] == len(leaves.content)
    assert cave.response_bytes.total == sum(len(a.content) for a in [*answers, leaves])
    entry = cave.request_log[-1]
    assert (entry.endpoint, entry.response_bytes) == ("leaves", len(leaves.content))
    assert cave.handler_us["leaves"] > 0
    cave.reset()
    assert cave.request_bytes.total == cave.response_bytes.total == cave.handler_us.total == 0


def test_server_work_excludes_injected_latency(cave: LocalCave) -> None:
    cave.set_latency(0.2, endpoints="info_version")
    assert requests.get(f"{cave.url}/info/version").status_code == 200
    assert cave.request_log[-1].duration_s >= 0.2
    assert cave.handler_us["info_version"] < 100_000
    assert 0 < cave.busy_s < 0.1
    cave.reset()
    assert cave.busy_s == 0


def test_retry_on_503_is_visible_in_counters(cave: LocalCave) -> None:
    client = cave.client()
    root = cave.world.neuron_root(1)
    client.chunkedgraph.is_latest_roots([root])  # handshakes out of the way
    cave.stats.reset()
    cave.fail_next("is_latest_roots", status=503, times=1)
    assert client.chunkedgraph.is_latest_roots([root]).tolist() == [True]
    assert cave.stats["is_latest_roots"] == 2
    statuses = [e.status for e in cave.request_log if e.endpoint == "is_latest_roots"]
    assert statuses[-2:] == [503, 200]


def test_429_with_retry_after_surfaces(cave: LocalCave) -> None:
    """caveclient (urllib3) honours Retry-After on 429 and retries 3 times; then it raises."""
    client = cave.client()
    root = cave.world.neuron_root(1)
    client.chunkedgraph.get_root_timestamps([root])
    cave.fail_next("root_timestamps", status=429, retry_after=0, times=1)
    assert len(client.chunkedgraph.get_root_timestamps([root])) == 1  # retried once
    cave.stats.reset()
    cave.fail_next("root_timestamps", status=429, retry_after=0, times=4)
    with pytest.raises(requests.HTTPError) as err:
        client.chunkedgraph.get_root_timestamps([root])
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "0"
    assert err.value.response.json()["code"] == 429
    assert cave.stats["root_timestamps"] == 4
    raw = requests.post(
        f"{cave.url}/segmentation/api/v1/table/{cave.table_name}/root_timestamps",
        headers={"Authorization": f"Bearer {cave.token}"}, data=b'{"node_ids": []}',
    )
    assert raw.status_code == 200
    cave.set_faults(rate_limit_rate=1.0, retry_after=7, endpoints=["root_timestamps"])
    raw = requests.post(
        f"{cave.url}/segmentation/api/v1/table/{cave.table_name}/root_timestamps",
        headers={"Authorization": f"Bearer {cave.token}"}, data=b'{"node_ids": []}',
    )
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "7"


def test_random_faults_limited_to_endpoints(cave: LocalCave) -> None:
    client = cave.client()
    root = cave.world.neuron_root(2)
    client.chunkedgraph.get_leaves(root)
    cave.set_faults(error_rate=1.0, endpoints=["leaves"], seed=1)
    assert cave.faults.endpoints == frozenset({"leaves"})
    assert client.chunkedgraph.is_latest_roots([root]).tolist() == [True]  # unaffected
    cave.stats.reset()
    with pytest.raises(requests.HTTPError) as err:
        client.chunkedgraph.get_leaves(root)
    assert err.value.response.status_code == 503
    assert cave.stats["leaves"] == 4  # caveclient: 1 try + 3 retries
    with pytest.raises(TypeError):
        cave.set_faults(nonsense=1)


def test_body_limit_413(cave: LocalCave) -> None:
    client = cave.client()
    svs = cave.world.svs.ids
    cave.set_faults(body_limit_bytes=800)
    assert len(client.chunkedgraph.get_roots(svs[:100])) == 100  # 800 bytes: fine
    with pytest.raises(requests.HTTPError) as err:
        client.chunkedgraph.get_roots(svs[:101])
    assert err.value.response.status_code == 413
    assert cave.request_log[-1].status == 413 and cave.request_log[-1].body_bytes == 808


def test_stall_and_latency_delay_answers(cave: LocalCave) -> None:
    client = cave.client()
    root = cave.world.neuron_root(2)
    cave.set_latency(0.05, endpoints="root")
    cave.set_faults(stall_rate=1.0, stall_seconds=0.1, endpoints=["root"])
    sv = int(cave.world.supervoxels(root)[0])
    assert int(client.chunkedgraph.get_root_id(sv)) == root
    entry = [e for e in cave.request_log if e.endpoint == "root"][-1]
    assert entry.duration_s >= 0.15


def test_reset_restores_defaults(cave: LocalCave) -> None:
    cave.set_faults(error_rate=0.5, row_cap=3)
    cave.set_latency(0.01)
    cave.fail_next(status=500, times=5)
    requests.get(f"{cave.url}/info/version")
    cave.reset()
    assert cave.faults.error_rate == 0 and cave.faults.row_cap == 200_000
    assert cave.stats.total == 0 and cave.request_log == []
    assert requests.get(f"{cave.url}/info/version").status_code == 200


def test_auth_401_403_and_public_static(cave: LocalCave, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from caveclient import CAVEclient

    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(requests.HTTPError) as err:
        CAVEclient(cave.datastack_name, server_address=cave.url, write_server_cache=False)
    assert err.value.response.status_code == 401
    wrong = requests.get(f"{cave.url}/info/api/v2/datastacks", headers={"Authorization": "Bearer " + "0" * 32})
    assert wrong.status_code == 403
    assert set(wrong.json()) == {"code", "message"} and cave.token not in wrong.text
    cookie = requests.get(f"{cave.url}/info/api/v2/datastacks", cookies={"middle_auth_token": cave.token})
    assert cookie.json() == [cave.datastack_name]
    assert requests.get(f"{cave.url}/static/ws/info").status_code == 200
    assert requests.get(f"{cave.url}/ngl/version.json").status_code == 200
    missing = requests.get(f"{cave.url}/no/such/endpoint")
    assert missing.status_code == 404 and missing.json()["code"] == 404
    assert not missing.history  # never a redirect


def test_token_stays_out_of_repr_and_log(cave: LocalCave) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", cave.token)
    assert cave.token not in repr(cave)
    requests.get(f"{cave.url}/info/api/v2/datastacks", params={"middle_auth_token": cave.token})
    assert all(cave.token not in e.path for e in cave.request_log)
    with pytest.raises(ValueError) as err:
        LocalCave(token="not_a_valid.token")
    assert "not_a_valid" not in str(err.value)


def test_home_is_untouched(cave: LocalCave, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    real = Path(os.path.expanduser("~"))
    assert real == tmp_path
    client = cave.client()
    root = cave.world.neuron_root(0)
    client.chunkedgraph.get_leaves(root, stop_layer=2)
    client.materialize.get_versions()
    cv = client.info.segmentation_cloudvolume(progress=False)
    sv = int(cave.world.supervoxels(root)[0])
    idx = int(cave.world.graph.sv_index(np.array([sv], dtype=np.uint64))[0])
    assert int(cv.download_point(cave.world.svs.rep_voxel[idx], size=1)[0, 0, 0, 0]) == sv
    # cloud-volume itself may create an empty ~/.cloudvolume; nothing may be written in it
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert not (tmp_path / ".cloudvolume" / "secrets").exists()


def test_its_datastack_carries_the_servers_config_address_and_token(cave: LocalCave) -> None:
    cfg = cave.config
    assert cfg.server_address == cave.url == cfg.local_server_url
    assert cfg.sources.segmentation == cave.segmentation_source
    assert cfg.sources.swamp == cave.swamp_url
    assert tuple(cfg.sources.swamp_ids) == (1, 2, 3)
    assert cfg.viewer.site_url == cave.viewer_url
    ds = cave.datastack()
    assert (ds.name, ds.config, ds.server_address) == (cave.datastack_name, cfg, cave.url)
    assert ds.client.info.get_datastacks() == [cave.datastack_name]


def test_a_running_localcave_registers_nothing(world: World) -> None:
    from tracertools.config import known_datastacks
    from tracertools.errors import UnknownDatastackError

    with LocalCave(datastack_name="localcave_extra", token="ab" * 16) as other:
        assert other.world is world  # worlds are cached per parameters
        assert "localcave_extra" not in known_datastacks()
        with pytest.raises(UnknownDatastackError):
            Datastack("localcave_extra")
        assert other.datastack().client.info.get_datastacks() == ["localcave_extra"]
    assert not other.running


def test_determinism() -> None:
    a, b = World(seed=5), World(seed=5)
    assert np.array_equal(a.svs.ids, b.svs.ids)
    assert [o.after_roots for o in a.operations] == [o.after_roots for o in b.operations]
    assert a.table("synapses").equals(b.table("synapses"))
    assert not np.array_equal(World(seed=6).svs.ids, a.svs.ids)


def test_ids_decode_with_cloudvolume_rules(world: World) -> None:
    lay = world.layout
    for node, layer in ((int(world.svs.ids[0]), 1), (int(world.l2_ids(world.neuron_root(0))[0]), 2), (world.neuron_root(0), lay.n_layers)):
        assert node >> 56 == layer
        assert node < 2**63
    root: Any = world.neuron_root(0)
    assert lay.chunk_of(root) == (0, 0, 0)
