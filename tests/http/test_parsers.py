"""The HTTP layer's parsers: API key lists, login cookies, Last-Event-ID, webhook URLs and
targets, transcripts. Property-based where the input comes from outside."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcontainers.errors import ConfigError, InvalidRequest, Unauthorized
from agentcontainers.http.auth import LOCAL_CALLER, KeyRing
from agentcontainers.http.sse import last_event_id
from agentcontainers.http.transcript import messages_of, read_transcript
from agentcontainers.http.webhooks import WebhookPolicy, check_url, sign


def test_keys_name_their_callers():
    keys = KeyRing(" alice:k-alice , k-bare ,, ")
    assert keys.enabled
    assert keys.caller_for_key("k-alice") == "alice"
    bare = "key-" + hashlib.sha256(b"k-bare").hexdigest()[:12]
    assert keys.caller_for_key("k-bare") == bare
    assert keys.caller_for_key("k-alic") is None
    assert keys.authenticate("Bearer k-alice", None) == "alice"
    assert keys.authenticate("bearer   k-bare", None) == bare
    for header in ("Bearer wrong", "Basic k-alice", "k-alice", "Bearer"):
        with pytest.raises(Unauthorized):
            keys.authenticate(header, None)
    with pytest.raises(Unauthorized):
        keys.authenticate(None, None)


def test_without_keys_everyone_is_local():
    keys = KeyRing("")
    assert not keys.enabled
    assert keys.authenticate(None, None) == LOCAL_CALLER
    assert keys.authenticate("Bearer anything", "junk") == LOCAL_CALLER


@pytest.mark.parametrize("spec", ["alice:", "a b:key", "alice:k1,alice:k2"])
def test_bad_key_lists_are_config_errors(spec):
    with pytest.raises(ConfigError) as caught:
        KeyRing(spec)
    assert "k1" not in caught.value.message and "k2" not in caught.value.message


@given(st.text())
def test_any_key_list_parses_or_is_a_config_error(spec):
    try:
        keys = KeyRing(spec)
    except ConfigError:
        return
    for entry in spec.split(","):
        name, sep, key = entry.strip().partition(":")
        if entry.strip():
            assert keys.caller_for_key((key if sep else name).strip()) is not None


def test_login_cookies_are_signed_expire_and_die_with_their_key():
    keys = KeyRing("alice:k-alice,bob:k-bob")
    cookie = keys.cookie_for("alice", now=1000.0)
    assert "k-alice" not in cookie
    assert keys.caller_for_cookie(cookie, now=1001.0) == "alice"
    assert keys.caller_for_cookie(cookie, now=1000.0 + 13 * 3600) is None  # expired
    name, expiry, signature = cookie.split(".")
    forged = keys.cookie_for("bob", now=1000.0).split(".")
    assert keys.caller_for_cookie(f"{forged[0]}.{expiry}.{signature}", now=1001.0) is None
    assert keys.caller_for_cookie(f"{name}.{int(expiry) + 1}.{signature}", now=1001.0) is None
    assert KeyRing("alice:rotated").caller_for_cookie(cookie, now=1001.0) is None


@given(st.text())
def test_any_cookie_is_rejected_or_valid(value):
    assert KeyRing("alice:k-alice").caller_for_cookie(value) in (None, "alice")


@pytest.mark.parametrize(
    ("header", "query", "expected"),
    [
        (None, None, 0),
        ("3", None, 3),
        (None, "4", 4),
        ("5", "9", 5),
        ("x", "2", 2),
        (" 7 ", None, 7),
        ("-1", None, 0),
        ("", None, 0),
    ],
)
def test_last_event_id(header, query, expected):
    assert last_event_id(header, query) == expected


@given(st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()))
def test_last_event_id_never_fails(header, query):
    assert last_event_id(header, query) >= 0


def test_webhook_urls():
    assert check_url("https://hooks.example.com/x?y=1") == "https://hooks.example.com/x?y=1"
    for bad in ("ftp://example.com", "https://", "https://u:p@example.com/", "https://h:99999/",
                "https://example.com/" + "x" * 3000, 5, None):  # fmt: skip
        with pytest.raises(InvalidRequest) as caught:
            check_url(bad)
        assert "webhook_url" in caught.value.message


@given(st.text())
def test_any_webhook_url_is_accepted_or_refused_cleanly(url):
    try:
        check_url(url)
    except InvalidRequest as exc:
        assert "webhook_url" in exc.message


def test_webhook_targets_must_be_public_unless_allowed():
    policy = WebhookPolicy.from_spec("")
    address = ipaddress.ip_address
    assert policy.allows("example.com", address("93.184.216.34"))
    for private in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "192.168.0.1", "::1", "fd00::1",
                    "0.0.0.0", "224.0.0.1"):  # fmt: skip
        assert not policy.allows("evil.example", address(private)), private
    allowed = WebhookPolicy.from_spec("127.0.0.1, receiver.internal, 10.0.0.0/8")
    assert allowed.allows("localhost", address("127.0.0.1"))
    assert allowed.allows("receiver.internal", address("192.168.1.1"))
    assert allowed.allows("x", address("10.9.9.9"))
    assert not allowed.allows("x", address("169.254.169.254"))


def test_signature_is_the_hmac_of_the_body():
    body = b'{"run_id": "run_1"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign("s3cret", body) == f"sha256={expected}"


def line(kind, content, **extra):
    return {"type": kind, "message": {"role": kind, "content": content}, **extra}


def test_transcript_keeps_the_conversation_only(tmp_path):
    records = [
        {"type": "queue-operation", "operation": "enqueue", "content": "hello"},
        line("user", "hello <system-reminder>ignore me</system-reminder>", timestamp="t1"),
        {"type": "attachment", "attachment": {"type": "date"}},
        {"type": "api-request-blob", "role": "user", "content": "not a message"},
        line(
            "assistant",
            [{"type": "tool_use", "id": "tu1", "name": "Bash", "input": {"command": "ls"}}],
        ),
        line(
            "user",
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "tu1",
                    "content": [{"type": "text", "text": "a.txt"}],
                    "is_error": False,
                }
            ],
        ),
        line("assistant", [{"type": "text", "text": "side"}], isSidechain=True),
        line("user", "meta", isMeta=True),
        line(
            "assistant", [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "done"}]
        ),
    ]
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n{broken json")
    assert read_transcript(path) == [
        {"role": "user", "timestamp": "t1", "text": "hello"},
        {
            "role": "assistant",
            "tool_use": {"id": "tu1", "name": "Bash", "input": {"command": "ls"}},
        },
        {
            "role": "user",
            "tool_result": {"tool_use_id": "tu1", "content": "a.txt", "is_error": False},
        },
        {"role": "assistant", "text": "done"},
    ]
    assert read_transcript(tmp_path / "missing.jsonl") == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "message",
                    "content",
                    "role",
                    "text",
                    "isMeta",
                    "tool_use_id",
                    "input",
                    "name",
                    "id",
                    "timestamp",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@given(
    st.dictionaries(st.sampled_from(["type", "message", "isSidechain", "timestamp"]), json_values)
)
def test_any_record_gives_well_formed_entries(record):
    for entry in messages_of(record):
        assert entry["role"] in ("user", "assistant")
        assert len(set(entry) & {"text", "tool_use", "tool_result"}) == 1
