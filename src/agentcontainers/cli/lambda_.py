"""``agentcontainers lambda``: run the AWS Lambda runtime interface client on our handler.

For container images: the Lambda service sets ``AWS_LAMBDA_RUNTIME_API``; ``awslambdaric``
(the ``aws`` extra) polls it for events and hands each to
``agentcontainers.aws_lambda.handler``.
"""

from __future__ import annotations

import argparse
import os
import sys

HELP = "Run the AWS Lambda runtime interface client on agentcontainers.aws_lambda.handler."
HANDLER = "agentcontainers.aws_lambda.handler"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--handler", default=HANDLER, help=f"handler to run (default {HANDLER})")


def main(args: argparse.Namespace) -> int:
    """Serve Lambda invocations until the environment is shut down."""
    if not os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        print(
            "agentcontainers lambda: AWS_LAMBDA_RUNTIME_API is not set; this command runs inside "
            "AWS Lambda (or its runtime interface emulator)",
            file=sys.stderr,
        )
        return 2
    try:
        import awslambdaric.__main__ as ric
    except ImportError:
        print(
            "agentcontainers lambda: awslambdaric is missing: pip install 'agentcontainers[aws]'",
            file=sys.stderr,
        )
        return 2
    ric.main(["awslambdaric", args.handler])
    return 0
