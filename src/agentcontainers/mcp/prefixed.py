"""Namespace a backend's components so several can share one endpoint (``/mcp``).

Tools and prompts get ``<prefix>_`` in front of their names; resource URIs and URI templates
get the prefix as their first path segment (``demo://resource/1`` becomes
``demo://everything/resource/1``), the convention of ``fastmcp``'s ``Namespace`` transform.
"""

from __future__ import annotations

import re
from typing import Any

from agentcontainers.mcp.base import Backend, Kind, Notify, UnknownComponent, WrapperBackend

_URI = re.compile(r"^([^:/]+://)(.*)$", re.DOTALL)


class PrefixedBackend(WrapperBackend):
    """``wrapped`` with every name and URI namespaced by ``prefix``."""

    def __init__(self, wrapped: Backend, prefix: str | None = None) -> None:
        super().__init__(wrapped)
        self.prefix = prefix or wrapped.name
        self._name_prefix = f"{self.prefix}_"

    # ------------------------------------------------------------------ naming

    def add_name(self, name: str) -> str:
        """``name`` as listed here."""
        return f"{self._name_prefix}{name}"

    def strip_name(self, name: str) -> str | None:
        """The wrapped backend's name for ``name``, or ``None`` when it is not ours."""
        return name[len(self._name_prefix) :] if name.startswith(self._name_prefix) else None

    def add_uri(self, uri: str) -> str:
        """``uri`` (or URI template) as listed here."""
        match = _URI.match(uri)
        return f"{match.group(1)}{self.prefix}/{match.group(2)}" if match else uri

    def strip_uri(self, uri: str) -> str | None:
        """The wrapped backend's URI for ``uri``, or ``None`` when it is not ours."""
        match = _URI.match(uri)
        if not match:
            return None
        scheme, rest = match.groups()
        segment = f"{self.prefix}/"
        return f"{scheme}{rest[len(segment) :]}" if rest.startswith(segment) else None

    def claims(self, method: str, params: dict[str, Any]) -> bool:
        """Whether a request addressed with these params is meant for this backend."""
        return self._unprefixed(method, params) is not None

    # ------------------------------------------------------------------ Backend

    async def list(self, kind: Kind) -> list[dict[str, Any]]:
        items = await self.wrapped.list(kind)
        if kind == "resources":
            return [{**item, "uri": self.add_uri(str(item.get("uri", "")))} for item in items]
        if kind == "resourceTemplates":
            return [
                {**item, "uriTemplate": self.add_uri(str(item.get("uriTemplate", "")))}
                for item in items
            ]
        return [{**item, "name": self.add_name(str(item.get("name", "")))} for item in items]

    async def request(
        self, method: str, params: dict[str, Any], *, notify: Notify | None = None
    ) -> dict[str, Any]:
        inner = self._unprefixed(method, params)
        if inner is None:
            raise UnknownComponent(f"Unknown {_noun(method)}: {_addressed(method, params)}")
        result = await self.wrapped.request(method, inner, notify=notify)
        if method == "resources/read" and isinstance(result.get("contents"), list):
            result = {
                **result,
                "contents": [
                    {**c, "uri": self.add_uri(str(c["uri"]))} if "uri" in c else c
                    for c in result["contents"]
                ],
            }
        return result

    def _unprefixed(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if method == "resources/read":
            uri = self.strip_uri(str(params.get("uri", "")))
            return None if uri is None else {**params, "uri": uri}
        if method == "completion/complete":
            ref = dict(params.get("ref") or {})
            if ref.get("type") == "ref/resource":
                uri = self.strip_uri(str(ref.get("uri", "")))
                if uri is None:
                    return None
                ref["uri"] = uri
            else:
                name = self.strip_name(str(ref.get("name", "")))
                if name is None:
                    return None
                ref["name"] = name
            return {**params, "ref": ref}
        name = self.strip_name(str(params.get("name", "")))
        return None if name is None else {**params, "name": name}


def _noun(method: str) -> str:
    return {
        "tools/call": "tool",
        "prompts/get": "prompt",
        "resources/read": "resource",
    }.get(method, "reference")


def _addressed(method: str, params: dict[str, Any]) -> str:
    if method == "resources/read":
        return str(params.get("uri"))
    if method == "completion/complete":
        ref = params.get("ref") or {}
        return str(ref.get("name") or ref.get("uri"))
    return str(params.get("name"))
