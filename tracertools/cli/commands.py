"""The ``tracertools`` command line: ``demo``, ``serve``, ``doctor``, ``presets`` and ``config-path``.

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
    import tempfile
    from pathlib import Path

    from tracertools.geometry.serving import stop_signals_interrupt
    from tracertools.testing import LocalCave

    # From here on Ctrl-C (even when inherited ignored, as by background jobs) and SIGTERM stop.
    with stop_signals_interrupt():
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
        folder = (Path(args.config_dir) if args.config_dir
                  else Path(tempfile.mkdtemp(prefix="tracertools-serve-")))
        config_file = cave.config.to_file(folder / f"{cave.datastack_name}.json")
        try:
            print(f"LocalCave serving datastack {cave.datastack_name!r} at {cave.url}", flush=True)
            if args.scale:
                f = cave.faults
                rate = ("off" if f.rate_limit_per_s is None
                        else f"{f.rate_limit_per_s:g} requests/s per token")
                print(f"  {cave.world.summary()}; limits: row cap {f.row_cap}, "
                      f"body {f.body_limit_bytes} bytes, rate {rate}")
            print(f"Its config (sources, tables, swamps, viewer) is in {config_file}")
            print("Connect from Python in any process or notebook with:")
            print("  import tracertools as tt")
            shown_token = "TOKEN" if token is not None else repr(cave.token)
            print(
                f"  ds = tt.Datastack({cave.datastack_name!r}, "
                f"config=tt.DatastackConfig.from_file({str(config_file)!r}), auth_token={shown_token})"
            )
            if token is None:  # generated here: the only way for the user to learn it
                print("  (a throwaway token for this local server only; choose your own with --token "
                      "or $TRACERTOOLS_LOCALCAVE_TOKEN)")
            else:
                print("  TOKEN = the token you gave")
            print("Press Ctrl+C to stop.", flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nstopping", flush=True)
        finally:
            cave.stop()
            if not args.config_dir:
                config_file.unlink(missing_ok=True)
                config_file.parent.rmdir()
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from tracertools.cave.access import diagnose

    config = None
    if args.config is not None:
        from tracertools.config import DatastackConfig

        config = DatastackConfig.from_file(args.config)
    checks = diagnose(args.datastack, server_address=args.server, timeout=args.timeout,
                      config=config)
    width = max(len(c.name) for c in checks)
    for check in checks:
        mark = {True: "ok", False: "FAIL", None: "-"}[check.ok]
        where = f"  {check.url}" if check.url else ""
        print(f"{check.name:<{width}}  {mark:<4}  {check.detail}{where}")
    failed = [c for c in checks if c.ok is False]
    if failed:
        print(f"\n{len(failed)} check(s) failed. Tokens: see `tracertools doctor --help`.")
    return 1 if failed else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from tracertools.cli.demo import run_demo

    return run_demo(seed=args.seed, n_neurons=args.neurons, out=sys.stdout)


def _parser() -> argparse.ArgumentParser:
    from tracertools import __version__

    parser = argparse.ArgumentParser(
        prog="tracertools",
        description="Connectomics proofreading SDK: a local demo, a local CAVE server and config tools.",
        epilog="Guide: docs/cli.md. Every command but doctor runs offline; none needs a CAVE "
               "account.",
    )
    parser.add_argument("--version", action="version", version=f"tracertools {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def world_options(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--seed", type=int, default=0,
                         help="seed of the synthetic world; the same seed gives the same world "
                              "(default 0)")
        cmd.add_argument("--neurons", type=int, default=8,
                         help="current neurons in the synthetic world (default 8)")

    demo = sub.add_parser(
        "demo", help="tour the SDK against a local synthetic CAVE (no account, no network)",
        description="Start LocalCave in this process and walk through the SDK, printing the code "
                    "of each step and checking every answer against the world's ground truth. "
                    "Exits 0 when every step agrees.")
    world_options(demo)
    demo.set_defaults(func=_cmd_demo)

    serve = sub.add_parser(
        "serve", help="run LocalCave on 127.0.0.1 until Ctrl+C (or SIGTERM)",
        description="Run a CAVE-compatible server with a synthetic world on 127.0.0.1 for "
                    "notebooks and other programs. Prints a line of Python that connects to it "
                    "from any process; stops cleanly on Ctrl+C and SIGTERM.")
    serve.add_argument("--seed", type=int, default=0,
                       help="seed of the synthetic world; the same seed gives the same world "
                            "(default 0)")
    serve.add_argument("--neurons", type=int, default=None,
                       help="current neurons in the world (default 8; with --scale 100000)")
    serve.add_argument("--scale", action="store_true",
                       help="serve the lazily generated BANC-sized ScaleWorld (datastack 'scale') "
                            "with real service limits")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    serve.add_argument("--token", default=None,
                       help="the token to require: 32 hex characters (default: "
                            "$TRACERTOOLS_LOCALCAVE_TOKEN, else a random one, printed)")
    serve.add_argument("--config-dir", default=None,
                       help="folder to write the served datastack's config file into "
                            "(default: a temporary folder, removed on exit)")
    serve.set_defaults(func=_cmd_serve)

    doctor = sub.add_parser(
        "doctor", help="check a datastack: config, CAVE token and each service it needs",
        description="Check that a datastack can be used: its config, whether a CAVE token is "
                    "found (never shown), and whether each service answers (the info service, "
                    "with the token; the state service; the chunkedgraph, materialization and "
                    "skeleton services of its local server). One request per service, no "
                    "retries. Prints a short table; exits 1 if any check fails.",
        epilog="caveclient reads tokens from ~/.cloudvolume/secrets/<host>-cave-secret.json, "
               "else ~/.cloudvolume/secrets/cave-secret.json (key \"token\"); doctor also reads "
               "$TRACERTOOLS_CAVE_TOKEN. Save one with caveclient.CAVEclient(server_address="
               "URL).auth.save_token(token=...).")
    doctor.add_argument("datastack", help="the datastack name, e.g. brain_and_nerve_cord")
    doctor.add_argument("--server", default=None,
                        help="the CAVE global server (default: the datastack's config)")
    doctor.add_argument("--config", default=None,
                        help="a datastack config file (as `tracertools serve` writes one) instead "
                             "of the config known by that name")
    doctor.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for each service (default 5)")
    doctor.set_defaults(func=_cmd_doctor)

    pre = sub.add_parser("presets", help="list the datastacks tracertools knows",
                         description="List shipped presets and user-file datastacks, with their "
                                     "resolutions.")
    pre.set_defaults(func=_cmd_presets)

    path = sub.add_parser("config-path", help="print where the user config file lives",
                          description="Print the path of the user config file (TOML) that can "
                                      "add or override datastacks; $TRACERTOOLS_CONFIG overrides it.")
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

