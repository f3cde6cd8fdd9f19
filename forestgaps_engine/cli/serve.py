"""``forestgaps serve``: the REST inference service (needs the ``serve`` extra)."""

from __future__ import annotations

import argparse

from forestgaps_engine.cli.common import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps serve`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "serve",
        help="serve predictions over HTTP (POST /predict, /augment; GET /health, /metrics)",
        description="Start the REST inference service. The model is loaded once; without "
        "--model and without the bundled default the service starts and /predict answers 503.",
    )
    parser.add_argument("--host", help="interface to bind (default serve.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default serve.port, 8000)")
    parser.add_argument("--model", help="model folder, or 'default' (bundled)")
    parser.add_argument(
        "--max-upload-mb",
        dest="max_upload_mb",
        type=float,
        metavar="MB",
        help="largest accepted upload in MiB (default serve.max_upload_mb, 200)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="server processes, each with its own model copy (default 1)",
    )
    parser.add_argument(
        "--token",
        help="bearer token clients must send (Authorization: Bearer TOKEN); default "
        "FORESTGAPS_TOKEN; required with a --host beyond loopback. Prefer the environment "
        "variable: a flag shows in the process list",
    )
    parser.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        action="append",
        metavar="NAME",
        help="host name clients may use in Host/Origin besides loopback ones and the bound "
        "address (repeatable; '*' for any)",
    )
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve predictions over HTTP until stopped; return the exit code."""
    from forestgaps_engine.errors import ConfigError
    from forestgaps_engine.serve import serve

    config = config_from_args(args)
    flags = {
        key: getattr(args, key)
        for key in ("host", "port", "model", "max_upload_mb", "workers", "token")
        if getattr(args, key) is not None
    }
    if args.allowed_hosts:
        flags["allowed_hosts"] = [*config.serve.allowed_hosts, *args.allowed_hosts]
    try:
        settings = config.serve.model_validate({**config.serve.model_dump(), **flags})
    except ValueError as error:
        shown = {key: "***" if key == "token" else value for key, value in flags.items()}
        raise ConfigError(
            f"invalid serve options {shown}: {error}",
            hint="--port lies in 1..65535, --workers >= 1, --max-upload-mb > 0.",
        ) from error
    serve(config.model_copy(update={"serve": settings}))
    return 0
