"""`podium serve`: run the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from podium.errors import InvalidInput


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (e.g. 127.0.0.1:2087)"
    )
    parser.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    parser.add_argument(
        "--log-level", default="WARNING", type=str.upper, choices=LOG_LEVELS,
        help="server log level on stderr (default WARNING)",
    )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"--tcp wants HOST:PORT with a port from 1 to 65535, got {value!r}",
                           field="tcp")  # fmt: skip
    return host or "127.0.0.1", int(port)


def _drop_user_errors(record: logging.LogRecord) -> bool:
    """pygls logs a traceback for every error answer; user errors (bad params, unknown agent)
    are answered to the client and need no traceback on stderr. Internal errors stay."""
    exc = record.exc_info[1] if record.exc_info else None
    if exc is None:
        return True
    from pygls.exceptions import JsonRpcException, JsonRpcInternalError

    return not isinstance(exc, JsonRpcException) or isinstance(exc, JsonRpcInternalError)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # pygls logs every message body at INFO; keep that out unless asked for
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("pygls").setLevel(logging.WARNING)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_drop_user_errors)
    from podium.server.app import PodiumServer

    address = _host_port(args.tcp) if args.tcp else None  # a bad one fails before start-up
    server = PodiumServer()
    profile_path = os.environ.get("PODIUM_PROFILE", "")  # for benchmarks: cProfile of the run
    profiler = None
    if profile_path:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        # the core lane does the blocking work: profile it into a second file
        core_profiler = cProfile.Profile()
        server.lanes.core.submit(core_profiler.enable).result()
    try:
        if address is not None:
            server.start_tcp(*address)
        else:
            server.start_io()
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile_path)
            core_profiler.dump_stats(profile_path + ".core")
    # LSP: exit code 0 only after a `shutdown` request
    return 0 if getattr(server.protocol, "_shutdown", False) else 1
