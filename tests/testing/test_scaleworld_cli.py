"""``tracertools serve --scale`` serves the ScaleWorld until interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def test_serve_scale_runs_the_scale_world_for_real_clients() -> None:
    from caveclient import CAVEclient

    token = "0123456789abcdef0123456789abcdef"
    env = {**os.environ, "TRACERTOOLS_LOCALCAVE_TOKEN": token, "TRACERTOOLS_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "tracertools.cli", "serve", "--scale"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        url = first.strip().rsplit(" at ", 1)[1]
        assert "'scale'" in first
        summary = proc.stdout.readline() if proc.stdout else ""
        assert "100000 neurons" in summary and "rate 10 requests/s per token" in summary
        client = CAVEclient("scale", server_address=url, auth_token=token, write_server_cache=False)
        root = client.chunkedgraph.get_roots([client.chunkedgraph.get_leaves(
            client.materialize.query_table("cell_info", limit=1)["pt_root_id"][0])[0]])[0]
        assert str(root).startswith("7205759")
        assert client.chunkedgraph.segmentation_info["graph"]["n_layers"] == 10
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
