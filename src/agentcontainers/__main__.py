"""``python -m agentcontainers`` is the ``agentcontainers`` command."""

from agentcontainers.cli import main

raise SystemExit(main())
