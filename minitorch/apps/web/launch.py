"""``minitorch app [--port P]``: serve the web app (``streamlit run`` on ``main.py``).

Prints the address and serves until stopped (Ctrl+C); opens no browser. Imports no
streamlit itself: it checks that the ``app`` extra is installed and the port is free, then
replaces this process with streamlit's server, so signals reach the server directly.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import sys
from pathlib import Path
from typing import Any

from . import PAGES

__all__ = ["SCRIPT", "add_app_command", "run_app", "streamlit_command"]

SCRIPT = Path(__file__).with_name("main.py")
"""The script streamlit runs."""
INSTALL = 'pip install "minitorch[app]"'


def add_app_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``app`` to the ``minitorch`` subcommands (``commands`` from add_subparsers)."""
    app: argparse.ArgumentParser = commands.add_parser(
        "app",
        help="serve the interactive lectures (a local web app)",
        description=(
            "Serve minitorch's web app on this machine: "
            + "; ".join(PAGES.values())
            + ". Open the printed address in a browser; Ctrl+C stops the server."
        ),
    )
    app.add_argument("--port", type=int, default=8501, help="TCP port (default 8501)")
    app.add_argument(
        "--address",
        default="localhost",
        help="interface to listen on (default localhost; 0.0.0.0 serves the whole network)",
    )
    app.set_defaults(handler=run_app)
    return app


def streamlit_command(port: int, address: str) -> list[str]:
    """The ``streamlit run`` command line ``run_app`` executes."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(SCRIPT),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",  # no "Deploy" button: the app is served from the learner's own machine
    ]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken install, or blocked in sys.modules
        return False


def _port_taken(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("" if address == "0.0.0.0" else address, port))
        except OSError:
            return True
    return False


def run_app(args: argparse.Namespace) -> int:
    """``minitorch app``: check the extra and the port, print the address, serve."""
    port, address = args.port, args.address
    if not 1 <= port <= 65535:
        print(f"minitorch app: error: --port {port} is not a TCP port (1-65535).", file=sys.stderr)
        return 2
    if not _installed("streamlit"):
        print(
            f"minitorch app: error: the app runs on streamlit, which is not installed: {INSTALL}",
            file=sys.stderr,
        )
        return 2
    try:
        taken = _port_taken(address, port)
    except OSError as err:  # an address that is not this machine's
        print(f"minitorch app: error: cannot listen on {address}: {err}", file=sys.stderr)
        return 2
    if taken:
        print(
            f"minitorch app: error: port {port} is in use (another app?): choose another "
            "with --port.",
            file=sys.stderr,
        )
        return 2
    host = "localhost" if address in ("localhost", "127.0.0.1", "0.0.0.0") else address
    print(f"minitorch app: serving at http://{host}:{port} (Ctrl+C stops it)", flush=True)
    command = streamlit_command(port, address)
    os.execv(command[0], command)
    return 0  # not reached: execv replaces this process
