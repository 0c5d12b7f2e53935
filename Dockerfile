# syntax=docker/dockerfile:1
#
# AgentContainers base image: the service, the Claude Code CLI bundled in claude-agent-sdk,
# and /mnt/state as the state volume. docs/docker.md explains every line that matters.
#
#   docker build -t agentcontainers:latest .
#   docker run --rm -e ANTHROPIC_API_KEY -v agent-state:/mnt/state \
#       agentcontainers:latest '{"prompt":"who are you"}'
#
# Modes (docker/entrypoint.sh): a JSON argument runs one request and prints the envelope;
# no argument serves HTTP on $PORT; LAMBDA=true runs the AWS Lambda runtime interface client
# on agentcontainers.aws_lambda.handler. Nothing here needs IS_SANDBOX or a permission bypass:
# the agent runs as the unprivileged user `agent` with an explicit tool whitelist.

ARG PYTHON_VERSION=3.12

# --- build: a self-contained virtual environment in /opt/venv --------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src
RUN python -m venv /opt/venv

# Optional extras baked into the image: `aws` brings awslambdaric and boto3 (Lambda mode),
# `postgres` the session index replicas share (AGENTCONTAINERS_DATABASE_URL). Pass
# --build-arg EXTRAS= for neither.
ARG EXTRAS=aws,postgres
# dumb-init (PID 1: forwards signals, reaps the CLI's orphaned tool processes) comes as a
# pinned manylinux wheel, so no apt layer is needed.
ARG DUMB_INIT_VERSION=1.2.5.post1

COPY pyproject.toml README.md ./
COPY src ./src
# pip compiles every module to bytecode here: at run time the root filesystem may be read-only
# (Lambda, Kubernetes readOnlyRootFilesystem) and recompiling on each cold start costs seconds.
RUN /opt/venv/bin/pip install ".${EXTRAS:+[${EXTRAS}]}" "dumb-init==${DUMB_INIT_VERSION}" \
    && /opt/venv/bin/agentcontainers --help > /dev/null

# --- runtime -----------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm

LABEL org.opencontainers.image.title="agentcontainers" \
      org.opencontainers.image.description="Claude Code agents as stateless services: one-shot CLI, HTTP, AWS Lambda." \
      org.opencontainers.image.licenses="GPL-3.0-only WITH Commons-Clause-1.0"

# A fixed, unprivileged uid/gid so volume permissions (Compose, Kubernetes fsGroup, the EFS
# access point in deploy/aws/template.yaml) can name it.
RUN groupadd --system --gid 10001 agent \
    && useradd --system --uid 10001 --gid agent --home-dir /home/agent --create-home \
       --shell /bin/bash agent \
    && install -d -o agent -g agent -m 0750 /mnt/state \
    && install -d -o root -g root -m 0755 /opt/agentcontainers/personas

COPY --from=build /opt/venv /opt/venv
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/agentcontainers-entrypoint

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8 \
    STATE_DIR=/mnt/state \
    AGENTS_PATH=/opt/agentcontainers/personas \
    AGENTCONTAINERS_BIND=0.0.0.0 \
    PORT=8080 \
    DISABLE_AUTOUPDATER=1

USER 10001:10001
WORKDIR /home/agent
VOLUME ["/mnt/state"]
EXPOSE 8080

# Meaningful for `serve` (the default command). A one-shot run exits long before it matters.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]

ENTRYPOINT ["dumb-init", "--", "agentcontainers-entrypoint"]
