#!/bin/sh
# AgentContainers container entrypoint: chooses the mode from LAMBDA and the arguments.
#
#   LAMBDA=true               -> AWS Lambda runtime interface client on
#                                agentcontainers.aws_lambda.handler (needs AWS_LAMBDA_RUNTIME_API)
#   (no argument)             -> agentcontainers serve --host $AGENTCONTAINERS_BIND --port $PORT
#   '{"prompt": ...}' | -     -> agentcontainers run '<json>' (the seed's one-shot; - reads stdin)
#   --agent NAME '{...}'      -> agentcontainers run --agent NAME '{...}'
#   serve | mcp-proxy | ...   -> agentcontainers <subcommand> ...
#   any other program         -> run as given (bash, python, ...)
#
# `serve` refuses a non-loopback bind without API keys: set AGENTCONTAINERS_API_KEYS, or opt
# out of authentication explicitly with AGENTCONTAINERS_ALLOW_UNAUTHENTICATED=true (trusted
# networks only). See docs/docker.md.
set -eu

is_true() {
    case "$(printf '%s' "${1:-}" | tr '[:upper:]' '[:lower:]')" in
        1 | true | yes | on) return 0 ;;
        *) return 1 ;;
    esac
}

say() {
    printf 'agentcontainers-entrypoint: %s\n' "$*" >&2
}

if is_true "${LAMBDA:-}"; then
    # Lambda runs the image as a user of its choosing on a read-only root filesystem: only
    # /tmp (and an EFS mount under /mnt) can be written.
    scratch="${TMPDIR:-/tmp}"
    if [ ! -w "${HOME:-/nonexistent}" ]; then
        export HOME="$scratch"
    fi
    state="${STATE_DIR:-/mnt/state}"
    if ! mkdir -p "$state" 2>/dev/null || [ ! -w "$state" ]; then
        say "$state is not writable (no EFS mounted?): sessions are kept in" \
            "$scratch/agentcontainers-state, for this execution environment only"
        state="$scratch/agentcontainers-state"
        mkdir -p "$state"
    fi
    export STATE_DIR="$state"
    if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
        say "LAMBDA=true but AWS_LAMBDA_RUNTIME_API is unset: run this image in AWS Lambda," \
            "or locally behind the Runtime Interface Emulator (docs/deploy-aws.md)"
        exit 2
    fi
    exec python -m awslambdaric agentcontainers.aws_lambda.handler
fi

if [ "$#" -eq 0 ]; then
    set -- serve --host "${AGENTCONTAINERS_BIND:-0.0.0.0}" --port "${PORT:-8080}"
    if is_true "${AGENTCONTAINERS_ALLOW_UNAUTHENTICATED:-}"; then
        set -- "$@" --allow-unauthenticated
    fi
    exec agentcontainers "$@"
fi

case "$1" in
    *'{'* | - | --*)
        # A request (JSON object, or - for stdin), possibly after `run` options such as --agent.
        exec agentcontainers run "$@"
        ;;
    agentcontainers)
        exec "$@"
        ;;
esac

if command -v "$1" >/dev/null 2>&1; then
    exec "$@"
fi
exec agentcontainers "$@"
