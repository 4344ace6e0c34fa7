"""Run the transit partner: python -m partners.transit --platform URL --token TOKEN."""

from __future__ import annotations

import argparse
import os

import uvicorn

from .. import clock
from .app import create_app


def main() -> None:
    ap = argparse.ArgumentParser(description="The transit reference partner (ticket gates)")
    ap.add_argument("--port", type=int, default=9102)
    ap.add_argument("--platform", default=os.environ.get("TRANSIT_PLATFORM_URL", "http://127.0.0.1:8080"))
    ap.add_argument("--token", default=os.environ.get("TRANSIT_TOKEN"), help="the transit organisation's token")
    ap.add_argument("--token-file", default=os.environ.get("TRANSIT_TOKEN_FILE"),
                    help="read the token from this file (TRANSIT_TOKEN_FILE), so it is not on the command line")
    ap.add_argument("--fare-pence", type=int, default=280)
    clock.add_argument(ap, "TRANSIT_NOW")
    args = ap.parse_args()
    now = clock.from_args(ap, args)
    if args.token_file:
        from pathlib import Path

        args.token = Path(args.token_file).read_text().strip()
    if not args.token:
        ap.error("the transit partner needs its organisation token: --token or TRANSIT_TOKEN")
    uvicorn.run(create_app(args.platform, args.token, args.fare_pence, now), host="127.0.0.1", port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()
