"""Load the demo content into running services: ``python -m deploy.demo``."""

import argparse
import logging
import os
import sys
from pathlib import Path

from deploy.demo.loader import load_demo
from deploy.demo.services import (
    DEFAULT_CONNECT_RETRY_SECONDS,
    DemoLoadError,
    ServiceUrls,
)
from deploy.demo.summary import format_summary

logger = logging.getLogger("deploy.demo")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.demo",
        description=(
            "Create the demo products, posts and shopper interests through the "
            "services' HTTP APIs. Service URLs come from VITRINE_INGEST_URL, "
            "VITRINE_FEED_URL, VITRINE_ENGAGEMENT_URL and VITRINE_COMMERCE_URL."
        ),
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".vitrine"),
        help="directory for the file of uploaded demo post ids (default: .vitrine)",
    )
    parser.add_argument(
        "--connect-retry-seconds",
        type=float,
        default=DEFAULT_CONNECT_RETRY_SECONDS,
        help=(
            "seconds to keep retrying a service that refuses connections "
            f"(default: {DEFAULT_CONNECT_RETRY_SECONDS:g})"
        ),
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(
        level=os.environ.get("VITRINE_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO; the loader logs each step itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    urls = ServiceUrls.from_environment()
    try:
        result = load_demo(
            urls,
            arguments.state_dir,
            connect_retry_seconds=arguments.connect_retry_seconds,
        )
    except DemoLoadError as exc:
        logger.error("Loading the demo content failed: %s", exc)
        return 1

    print(format_summary(result, urls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
