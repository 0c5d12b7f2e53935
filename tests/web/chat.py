"""A page object for the chat UI: what a person does with it, in the tests' words."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

RUN_TIMEOUT_MS = 90_000


class ChatPage:
    """The chat at ``/`` of a running server."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    def open(self, agent: str | None = "tester") -> ChatPage:
        self.page.goto(self.url + "/")
        self.wait_ready()
        if agent:
            self.page.select_option("#agent", agent)
        return self

    def wait_ready(self) -> None:
        self.page.wait_for_selector("body[data-ready='true']", state="attached")

    @property
    def replies(self) -> Locator:
        return self.page.locator(".message.assistant")

    @property
    def last_reply(self) -> Locator:
        return self.replies.last

    @property
    def sessions(self) -> Locator:
        return self.page.locator("#session-list .session")

    def send(self, prompt: str, *, with_enter: bool = True) -> Locator:
        """Type a prompt and send it; returns the new reply (still running)."""
        before = self.replies.count()
        self.page.fill("#prompt", prompt)
        if with_enter:
            self.page.press("#prompt", "Enter")
        else:
            self.page.click("#send")
        expect(self.replies).to_have_count(before + 1)
        return self.replies.nth(before)

    def wait_done(self, reply: Locator, timeout: float = RUN_TIMEOUT_MS) -> Locator:
        """Wait until a reply is finished (stats, an error or a notice shown)."""
        expect(reply).not_to_have_class(re.compile(r"\bpending\b"), timeout=timeout)
        expect(reply.locator(".reply-stats, .alert, .notice").first).to_be_visible()
        expect(self.page.locator("#send")).to_be_visible()
        return reply

    def ask(self, prompt: str, **options: Any) -> Locator:
        return self.wait_done(self.send(prompt, **options))
