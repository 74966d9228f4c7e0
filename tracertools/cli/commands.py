"""The ``tracertools`` command line: ``demo``, ``serve``, ``presets`` and ``config-path``.

``tracertools demo`` starts a LocalCave (a CAVE-compatible server on 127.0.0.1 with a synthetic
world) in this process and walks through the SDK against it, printing a report. It needs no
account and no network. ``tracertools serve`` runs LocalCave until interrupted, for notebooks and
other programs to connect to; ``tracertools serve --scale`` serves the BANC-sized ScaleWorld.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]


def _cmd_presets(_: argparse.Namespace) -> int:
    from tracertools.config import known_datastacks, load_config, presets

    shipped = set(presets())
    for name in known_datastacks():
        cfg = load_config(name)
        origin = "preset" if name in shipped else "user/runtime"
        res = " x ".join(f"{r:g}" for r in cfg.resolution)
        print(f"{name:28s} {origin:13s} resolution {res} nm")
    return 0


def _cmd_config_path(_: argparse.Namespace) -> int:
    from tracertools.config import user_config_path

    print(user_config_path())
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from tracertools.testing import LocalCave

    token = args.token or os.environ.get("TRACERTOOLS_LOCALCAVE_TOKEN") or None
    if args.scale:
        from tracertools.testing import ScaleWorld

        kwargs = {} if args.neurons is None else {"n_neurons": args.neurons}
        world = ScaleWorld(seed=args.seed, **kwargs)
        cave = LocalCave(port=args.port, token=token, world=world, datastack_name="scale")
    else:
        n = 8 if args.neurons is None else args.neurons
        cave = LocalCave(seed=args.seed, n_neurons=n, port=args.port, token=token)
    cave.start()
    try:
        print(f"LocalCave serving datastack {cave.datastack_name!r} at {cave.url}", flush=True)
        if args.scale:
            f = cave.faults
            rate = "off" if f.rate_limit_per_s is None else f"{f.rate_limit_per_s:g} requests/s per token"
            print(f"  {cave.world.summary()}; limits: row cap {f.row_cap}, "
                  f"body {f.body_limit_bytes} bytes, rate {rate}")
        print("Connect from Python in another process with:")
        print(
            f"  tt.Datastack({cave.datastack_name!r}, server_address={cave.url!r}, "
            "auth_token=TOKEN)"
        )
        if token is None:  # generated here: the only way for the user to learn it
            print(f"  TOKEN = {cave.token!r}  (a throwaway token for this local server only;")
            print("  choose your own with --token or $TRACERTOOLS_LOCALCAVE_TOKEN)")
        else:
            print("  TOKEN = the token you gave")
        print("Press Ctrl+C to stop.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping")
    finally:
        cave.stop()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from tracertools.cli.demo import run_demo

    return run_demo(seed=args.seed, n_neurons=args.neurons, out=sys.stdout)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracertools", description="Connectomics proofreading SDK: tools and local demo."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="tour the SDK against a local synthetic CAVE (no account)")
    demo.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    demo.add_argument("--neurons", type=int, default=8, help="neurons in the world (default 8)")
    demo.set_defaults(func=_cmd_demo)

    serve = sub.add_parser("serve", help="run LocalCave on 127.0.0.1 until Ctrl+C")
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--neurons", type=int, default=None,
                       help="neurons in the world (default 8; with --scale 100000)")
    serve.add_argument("--scale", action="store_true",
                       help="serve the lazily generated BANC-sized ScaleWorld (datastack 'scale') "
                            "with real service limits")
    serve.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    serve.add_argument("--token", default=None,
                       help="the token to require: 32 hex characters (default: "
                            "$TRACERTOOLS_LOCALCAVE_TOKEN, else a random one)")
    serve.set_defaults(func=_cmd_serve)

    pre = sub.add_parser("presets", help="list the datastacks tracertools knows")
    pre.set_defaults(func=_cmd_presets)

    path = sub.add_parser("config-path", help="print the user config file location")
    path.set_defaults(func=_cmd_config_path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tracertools`` command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))

