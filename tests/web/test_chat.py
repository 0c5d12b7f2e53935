"""The web chat at ``/``, driven in Debian's Chromium against a real ``agentcontainers serve``
running the real Claude Code CLI on the dev model. Screenshots go to ``artifacts/web/``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.chat import ChatPage
from tests.web.conftest import DESKTOP, PHONE, Server, screenshot
from tests.web.dropping_proxy import DroppingProxy

pytestmark = pytest.mark.e2e


def test_streamed_answer_and_tool_cards(server: Server, open_browser: Any) -> None:
    browsing = open_browser()
    page = browsing.page
    chat = ChatPage(page, server.url).open()
    expect(page.locator("#welcome")).to_contain_text("tester")
    screenshot(page, "desktop-empty")

    reply = chat.ask("Hello from the browser")
    expect(reply.locator(".markdown")).to_contain_text("You said: “Hello from the browser”")
    stats = re.compile(r"\d+ turns? · .* in · .* out · \$")
    expect(reply.locator(".reply-stats")).to_contain_text(stats)
    expect(chat.sessions).to_have_count(1)
    expect(chat.sessions.first).to_contain_text("tester")

    # Events show as they happen: the first tool's card is done while the second still runs.
    reply = chat.send(
        '[[tool Bash {"command":"echo first-$((6*7))"}]] '
        '[[tool Bash {"command":"sleep 3; echo second-done"}]]'
    )
    cards = reply.locator(".tool")
    expect(cards).to_have_count(2, timeout=60_000)
    expect(cards.nth(0)).to_have_attribute("data-state", "done")
    expect(cards.nth(1)).to_have_attribute("data-state", "running")
    expect(reply).to_have_class(re.compile(r"\bpending\b"))
    expect(page.locator("#stop")).to_be_visible()
    chat.wait_done(reply)

    expect(cards.nth(1)).to_have_attribute("data-state", "done")
    expect(cards.nth(0).locator(".tool-name")).to_have_text("Bash")
    expect(cards.nth(0).locator(".tool-brief")).to_have_text("echo first-$((6*7))")
    expect(cards.nth(0).locator(".tool-output")).to_be_hidden()  # collapsed until opened
    cards.nth(0).locator("summary").click()
    expect(cards.nth(0).locator(".tool-input")).to_contain_text('"command": "echo first-$((6*7))"')
    expect(cards.nth(0).locator(".tool-output")).to_have_text("first-42")
    cards.nth(1).locator("summary").click()
    expect(cards.nth(1).locator(".tool-output")).to_have_text("second-done")
    expect(reply.locator(".markdown")).to_contain_text("tool Bash returned: first-42")
    expect(page.locator("#session-stats")).to_contain_text(re.compile(r"Session: \d+ turns"))
    screenshot(page, "desktop-tool-cards")


def test_a_reply_shows_while_the_model_writes_it(server: Server, open_browser: Any) -> None:
    """Text streams in pieces (text_delta events); the whole message then replaces them once."""
    browsing = open_browser()
    page = browsing.page
    chat = ChatPage(page, server.url).open()
    words = (
        "Streaming **words** arrive one piece at a time in this reply, and it ends with THE-END."
    )
    reply = chat.send(f"[[say {words}]] [[drip 1]]")
    markdown = reply.locator(".markdown")
    expect(markdown).to_contain_text("Streaming", timeout=60_000)
    expect(markdown).not_to_contain_text("THE-END", timeout=1)  # more pieces still to come
    expect(reply).to_have_class(re.compile(r"\bpending\b"))
    screenshot(page, "desktop-streaming")
    chat.wait_done(reply)
    expect(markdown).to_have_text(words.replace("**", ""))
    expect(markdown.locator("strong")).to_have_text("words")


def test_markdown_is_rendered_and_model_html_is_text(server: Server, open_browser: Any) -> None:
    browsing = open_browser()
    page = browsing.page
    chat = ChatPage(page, server.url).open()

    reply = chat.ask("[[say <script>window.__xss = 1; alert(1)</script>]]")
    expect(reply.locator(".markdown")).to_have_text("<script>window.__xss = 1; alert(1)</script>")
    assert reply.locator("script").count() == 0

    hostile = (
        '**bold** and `code` <img src=x onerror="window.__xss = 2"> '
        '[click](javascript:window.__xss=3) <b onmouseover="window.__xss = 4">b</b>'
    )
    reply = chat.ask(f"[[say {hostile}]]")
    markdown = reply.locator(".markdown")
    expect(markdown.locator("strong")).to_have_text("bold")
    expect(markdown.locator("code")).to_have_text("code")
    expect(markdown).to_contain_text('<img src=x onerror="window.__xss = 2">')
    assert markdown.locator("img, b, [onerror], [onmouseover]").count() == 0
    for link in markdown.locator("a").all():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript:")

    reply = chat.ask("[[say Code:\n\n```python\ndef answer():\n    return 42\n```\n]]")
    expect(reply.locator("pre code .hljs-keyword").first).to_have_text("def")
    screenshot(page, "desktop-markdown")

    # The stored transcript is rendered the same safe way after a reload.
    page.reload()
    chat.wait_ready()
    expect(chat.replies).to_have_count(3)
    expect(chat.replies.first.locator(".markdown")).to_have_text(
        "<script>window.__xss = 1; alert(1)</script>"
    )
    assert page.evaluate("window.__xss") is None
    assert page.locator("#messages script, #messages img").count() == 0


def test_stop_interrupts_a_stalled_run(server: Server, open_browser: Any, dev_model: Any) -> None:
    browsing = open_browser()
    page = browsing.page
    chat = ChatPage(page, server.url).open()

    reply = chat.send("[[stall 120]] wait for me")
    expect(page.locator("#stop")).to_be_visible()
    _wait_for_model_call(dev_model, "wait for me")
    screenshot(page, "desktop-running")
    page.click("#stop")
    expect(reply.locator(".notice")).to_have_text("Stopped.", timeout=20_000)
    expect(page.locator("#send")).to_be_visible()

    # Esc stops too, and the session is free for the next turn afterwards.
    reply = chat.send("[[stall 120]] and again")
    _wait_for_model_call(dev_model, "and again")
    page.keyboard.press("Escape")
    expect(reply.locator(".notice")).to_have_text("Stopped.", timeout=20_000)
    reply = chat.ask("still there?")
    expect(reply.locator(".markdown")).to_contain_text("still there?")
    assert [s["status"] for s in server.sessions()] == ["idle"]


def _wait_for_model_call(dev_model: Any, marker: str, timeout: float = 60.0) -> None:
    """Wait until the CLI has sent the prompt to the dev model (the run is really stalled)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in dev_model.requests("/v1/messages"):
            if marker in (record.get("prompt") or ""):
                return
        time.sleep(0.2)
    raise AssertionError(f"the model never received {marker!r}")


def test_reload_pick_session_and_continue(server: Server, open_browser: Any) -> None:
    browsing = open_browser()
    page = browsing.page
    chat = ChatPage(page, server.url).open()
    chat.ask("The secret word is PELICAN")
    chat.ask("Second message\nwith a second line", with_enter=False)
    expect(chat.sessions).to_have_count(1)

    # A fresh page load: nothing on screen until the session is picked from the list.
    page.goto(server.url + "/")
    chat.wait_ready()
    expect(chat.replies).to_have_count(0)
    expect(chat.sessions).to_have_count(1)
    chat.sessions.first.locator(".session-open").click()
    users = page.locator(".message.user")
    expect(users).to_have_count(2)
    expect(users.first).to_have_text("The secret word is PELICAN")
    expect(users.nth(1)).to_have_text("Second message\nwith a second line")
    expect(chat.replies.first).to_contain_text("PELICAN")
    expect(page.locator("#title")).to_contain_text("PELICAN")
    expect(chat.sessions.first.locator(".session-delete")).to_be_in_viewport(ratio=1)
    screenshot(page, "desktop-session-resumed")

    reply = chat.ask("[[history]]")
    expect(reply.locator(".markdown")).to_contain_text("The secret word is PELICAN")
    expect(reply.locator(".markdown")).to_contain_text("Second message")
    expect(chat.sessions).to_have_count(1)
    assert len(server.sessions()) == 1

    # A reload keeps the open session (its id is in the URL); deleting it takes two taps.
    page.reload()
    chat.wait_ready()
    expect(page.locator(".message.user")).to_have_count(3)
    delete = chat.sessions.first.locator(".session-delete")
    delete.click()
    expect(delete).to_have_text("Delete")
    delete.click()
    expect(chat.sessions).to_have_count(0)
    expect(page.locator("#sessions-empty")).to_be_visible()
    expect(chat.replies).to_have_count(0)
    assert server.sessions() == []


def test_keyboard_shortcuts(server: Server, open_browser: Any) -> None:
    browsing = open_browser()
    page = browsing.page
    chat = ChatPage(page, server.url).open()
    prompt = page.locator("#prompt")
    prompt.click()
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    expect(prompt).to_have_value("first line\nsecond line")
    expect(page.locator(".message")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator(".message.user")).to_have_text("first line\nsecond line")
    expect(prompt).to_have_value("")
    chat.wait_done(chat.last_reply)


def test_model_errors_are_shown_plainly(server: Server, open_browser: Any) -> None:
    browsing = open_browser()
    page = browsing.page
    chat = ChatPage(page, server.url).open()
    reply = chat.ask("[[error 529]]")
    alert = reply.locator(".alert")
    expect(alert).to_be_visible()
    expect(alert.locator("strong")).to_have_text("The model is overloaded")
    assert reply.locator(".markdown").count() == 0  # the CLI's own error text is not repeated
    screenshot(page, "desktop-error")
    page.click("#new-chat")
    reply = chat.ask("[[error 401]]")
    expect(reply.locator(".alert strong")).to_have_text("Not authorised")

    # A run that hits the persona's turn limit (8) completed: its reply says where it stopped.
    page.click("#new-chat")
    reply = chat.ask('[[loop Bash {"command":"echo again"}]]')
    expect(reply.locator(".notice")).to_have_text(re.compile(r"Stopped at the turn limit"))
    expect(reply.locator(".alert")).to_have_count(0)
    expect(reply.locator(".tool")).to_have_count(8)

    # The composer is usable again.
    page.click("#new-chat")
    reply = chat.ask("and now?")
    expect(reply.locator(".markdown")).to_contain_text("and now?")


def test_an_operator_budget_stop_is_said_plainly_in_a_light_page(
    start_serve: Any, open_browser: Any
) -> None:
    # A run stopped by the operator's spending limit completed; its reply says so. This page
    # follows a light system theme.
    server = start_serve(AGENTCONTAINERS_MAX_BUDGET_USD="0.05")  # a turn costs about $0.03
    browsing = open_browser(color_scheme="light")
    page = browsing.page
    chat = ChatPage(page, server.url).open()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(247, 247, 248)"
    reply = chat.ask('[[loop Bash {"command":"echo again"}]]')
    expect(reply.locator(".notice")).to_have_text(re.compile(r"Stopped at the budget limit"))
    expect(reply.locator(".alert")).to_have_count(0)
    screenshot(page, "desktop-light-budget")


def test_phone_layout(server: Server, open_browser: Any) -> None:
    browsing = open_browser(
        PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, color_scheme="dark"
    )
    page = browsing.page
    chat = ChatPage(page, server.url).open()
    screenshot(page, "phone-empty")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(23, 24, 28)"
    expect(page.locator("#sidebar")).not_to_be_in_viewport()

    reply = chat.ask('Show me [[tool Bash {"command":"echo from-the-phone"}]]')
    reply.locator(".tool summary").tap()
    expect(reply.locator(".tool-output")).to_have_text("from-the-phone")
    _assert_fits_phone(page)
    for selector in ("#send", "#menu", "#agent", "#prompt", ".tool summary"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["height"] >= 44, f"{selector} is too small to tap: {box}"
    composer = page.locator("#composer").bounding_box()
    assert composer and composer["y"] + composer["height"] <= PHONE["height"]
    screenshot(page, "phone-chat")

    page.locator("#menu").tap()
    expect(page.locator("#sidebar")).to_be_in_viewport(ratio=1)  # slid in completely
    expect(chat.sessions.first.locator(".session-delete")).to_be_in_viewport(ratio=1)
    session = chat.sessions.first.locator(".session-open")
    box = session.bounding_box()
    assert box and box["height"] >= 44
    screenshot(page, "phone-sessions")
    page.locator("#new-chat").tap()
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    expect(chat.replies).to_have_count(0)
    page.locator("#menu").tap()
    session.tap()
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    expect(page.locator(".tool")).to_have_count(1)
    _assert_fits_phone(page)


def _assert_fits_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width}px wide)"


def test_installable_manifest_and_icons(server: Server, open_browser: Any) -> None:
    browsing = open_browser(PHONE, is_mobile=True, has_touch=True)
    page = browsing.page
    ChatPage(page, server.url).open(agent=None)
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href
    response = page.request.get(server.url + href)
    assert response.ok
    manifest = response.json()
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    assert manifest["name"] and manifest["short_name"]
    icons = {(icon["sizes"], icon.get("purpose", "any")): icon["src"] for icon in manifest["icons"]}
    for wanted in [("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")]:
        assert wanted in icons, f"no {wanted} icon in the manifest"
    apple = page.locator("link[rel=apple-touch-icon]").get_attribute("href")
    assert apple
    for (sizes, _), src in [*icons.items(), (("180x180", "any"), apple)]:
        icon = page.request.get(server.url + src)
        assert icon.ok, src
        assert icon.headers["content-type"].startswith("image/"), src
        if src.endswith(".png"):
            assert icon.body()[:8] == b"\x89PNG\r\n\x1a\n", src
            width, height = (int.from_bytes(icon.body()[n : n + 4], "big") for n in (16, 20))
            assert sizes == f"{width}x{height}", src
    csp = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
    assert csp and "script-src 'self'" in csp


def test_api_key_prompt_and_login_cookie(start_serve: Any, open_browser: Any) -> None:
    server = start_serve(api_key="web-secret-1", AGENTCONTAINERS_API_KEYS="web:web-secret-1")
    browsing = open_browser()
    # The first calls are refused before the key is known; Chromium logs those responses.
    browsing.allowed_errors.append("the server responded with a status of 401")
    page = browsing.page
    page.goto(server.url + "/")
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    screenshot(page, "desktop-key-prompt")
    page.fill("#key-input", "not-the-key")
    page.click("#key-save")
    expect(page.locator("#key-error")).to_have_text("That key was not accepted.")
    page.fill("#key-input", "web-secret-1")
    page.click("#key-save")
    expect(dialog).to_be_hidden()
    chat = ChatPage(page, server.url)
    chat.wait_ready()
    page.select_option("#agent", "tester")
    reply = chat.ask("authenticated hello")  # the events stream rides on the login cookie
    expect(reply.locator(".markdown")).to_contain_text("authenticated hello")
    cookies = browsing.context.cookies()
    assert any(c["httpOnly"] and c["sameSite"] == "Strict" for c in cookies), cookies

    # Remembered: a new page needs no prompt; "Forget key" brings the prompt back.
    page.goto(server.url + "/")
    chat.wait_ready()
    expect(dialog).to_be_hidden()
    expect(chat.sessions).to_have_count(1)
    page.click("#logout")
    expect(dialog).to_be_visible()


def test_events_survive_a_dropped_connection(server: Server, open_browser: Any) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with DroppingProxy(host, int(port)) as proxy:
        browsing = open_browser(DESKTOP)
        # The cut stream is reported by Chromium before EventSource reconnects.
        browsing.allowed_errors.append("net::ERR_")
        page = browsing.page
        chat = ChatPage(page, proxy.url).open()
        reply = chat.send('[[tool Bash {"command":"sleep 4; echo after-the-drop"}]]')
        card = reply.locator(".tool")
        expect(card).to_have_attribute("data-state", "running", timeout=60_000)
        assert proxy.drop() > 0
        chat.wait_done(reply)
        expect(card).to_have_count(1)
        expect(card).to_have_attribute("data-state", "done")
        card.locator("summary").click()
        expect(card.locator(".tool-output")).to_have_text("after-the-drop")
        expect(reply.locator(".markdown")).to_have_count(1)
        expect(reply.locator(".markdown")).to_contain_text("tool Bash returned: after-the-drop")
        expect(reply.locator(".reply-stats")).to_have_count(1)
    # EventSource came back by itself (the access log shows the second events request).
    followed = re.findall(r"GET /v1/runs/run_\w+/events", server.logs())
    assert len(followed) >= 2, server.logs()


def test_reload_during_a_run_picks_it_up(server: Server, open_browser: Any) -> None:
    browsing = open_browser()
    page = browsing.page
    chat = ChatPage(page, server.url).open()
    chat.ask("An earlier turn")
    reply = chat.send('[[tool Bash {"command":"sleep 4; echo survived-the-reload"}]]')
    expect(reply.locator(".tool")).to_have_attribute("data-state", "running", timeout=60_000)
    page.reload()
    chat.wait_ready()
    reply = chat.last_reply
    chat.wait_done(reply)
    # The earlier turn once, the running one once: replayed events, not duplicated.
    expect(page.locator(".message.user")).to_have_count(2)
    expect(chat.replies).to_have_count(2)
    expect(page.locator(".tool")).to_have_count(1)
    expect(reply.locator(".tool")).to_have_attribute("data-state", "done")
    expect(reply.locator(".markdown")).to_contain_text("tool Bash returned: survived-the-reload")
    expect(reply.locator(".reply-stats")).to_be_visible()
