"""Run the job-matching partner: python -m partners.jobmatch --platform URL --token TOKEN."""

from __future__ import annotations

import argparse
import os

import uvicorn

from .. import clock
from .app import Platform, create_app


def main() -> None:
    ap = argparse.ArgumentParser(description="The job-matching reference partner")
    ap.add_argument("--port", type=int, default=9101)
    ap.add_argument("--platform", default=os.environ.get("JOBMATCH_PLATFORM_URL", "http://127.0.0.1:8080"))
    ap.add_argument("--token", default=os.environ.get("JOBMATCH_TOKEN"), help="JobMatch's organisation token")
    ap.add_argument("--token-file", default=os.environ.get("JOBMATCH_TOKEN_FILE"),
                    help="read the token from this file (JOBMATCH_TOKEN_FILE), so it is not on the command line")
    ap.add_argument("--centre", default="Leeds", help="the town the synthetic job market is around")
    ap.add_argument("--postings", type=int, default=2000)
    ap.add_argument("--courses", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--public-key", default=None,
                    help="the platform's signing key (base64), if it is not to be fetched with the token")
    ap.add_argument("--capture", default=None, help="append every request body, as received, to this file")
    clock.add_argument(ap, "JOBMATCH_NOW")
    args = ap.parse_args()
    now = clock.from_args(ap, args)
    if args.token_file:
        from pathlib import Path

        args.token = Path(args.token_file).read_text().strip()
    if not args.token and not args.public_key:
        ap.error("JobMatch needs its organisation token: --token or JOBMATCH_TOKEN ('civic orgs add JobMatch ...')")
    app = create_app(Platform(args.platform, args.token, args.public_key), args.centre, args.postings,
                     args.courses, args.seed, args.capture, now)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
