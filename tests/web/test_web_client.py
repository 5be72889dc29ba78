"""End to end: the web client at /app/ in headless Chromium, against a real daphne server
(the `server` fixture, tests/web/conftest.py; the browser, tests/web/browser.py).

Playwright's sync API keeps an event loop running on this thread while it is in use, and Django
refuses ORM calls from inside one. So all ORM work happens in the `people` fixture, and the test
body starts Chromium afterwards; while it runs, the server is only reached over HTTP.
"""

import json
import re
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from chats.models import Chat
from chats.tests.factories import direct_chat
from tests.web.browser import LIVE_TIMEOUT_MS, launch_chromium, wait_until

VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots"
# Direct-to-loopback requests: a proxy from the environment must not see them.
_LOCAL_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Records every WebSocket the page opens, so a test can drop the live one.
RECORD_SOCKETS = """
(() => {
  const NativeWebSocket = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
})();
"""

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


# --- fixtures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    alice: User
    bob: User
    carol: User
    chat: Chat


@pytest.fixture
def people(transactional_db) -> People:
    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    carol = UserFactory(username="carol", display_name="Carol Singer")
    return People(alice=alice, bob=bob, carol=carol, chat=direct_chat(alice, bob))


# --- helpers -------------------------------------------------------------------------------------


def open_app(browser: Browser, base_url: str, errors: list, *, record_sockets: bool = False) -> Page:
    """A fresh browser context on /app/; uncaught script errors are appended to `errors`."""
    context = browser.new_context(viewport=VIEWPORT)
    if record_sockets:
        context.add_init_script(RECORD_SOCKETS)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(error))
    response = page.goto(f"{base_url}/app/")
    assert response is not None
    assert response.status == 200, (
        f"GET /app/ answered {response.status}; is path('app/', web.app, name='app') in messenger/urls.py?"
    )
    return page


def log_in(page: Page, username: str) -> None:
    page.get_by_label("Username, phone or email").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#connection")).to_have_text("Connected")


def composer(page: Page):
    return page.get_by_label("Message", exact=True)


def chat_button(page: Page, title: str):
    return page.locator("#chat-list").get_by_role("button", name=re.compile(re.escape(title)))


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def stored_cursor(page: Page) -> int | None:
    value = page.evaluate("sessionStorage.getItem('messenger.cursor')")
    return None if value is None else int(value)


def http(method: str, url: str, *, token: str | None = None, body: dict | None = None) -> Any:
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - 127.0.0.1
    with _LOCAL_HTTP.open(request, timeout=10) as response:
        return json.loads(response.read())


def send_over_rest(base_url: str, access: str, chat: Chat, text: str) -> None:
    body = {"client_id": str(uuid.uuid4()), "text": text}
    http("POST", f"{base_url}/api/v1/chats/{chat.pk}/messages", token=access, body=body)


# --- tests ---------------------------------------------------------------------------------------


def test_two_people_chat_live(people: People, server: str):
    with launch_chromium() as browser:
        errors: list = []
        alice = open_app(browser, server, errors)
        expect(alice.get_by_role("heading", name="Messenger")).to_be_visible()
        screenshot(alice, "login")
        log_in(alice, "alice")
        bob = open_app(browser, server, errors)
        log_in(bob, "bob")

        # Direct chats are titled with the peer's display name; Bob came online after Alice.
        to_bob = chat_button(alice, "Bob Builder")
        expect(to_bob.locator(".presence.online")).to_be_visible()
        to_bob.click()
        expect(alice.locator("#chat-title")).to_have_text("Bob Builder")
        expect(alice.locator("#chat-status")).to_have_text("online")
        composer(alice).fill("hello bob")
        composer(alice).press("Enter")
        expect(alice.locator("#messages .message.mine")).to_have_text(re.compile("hello bob"))

        # Bob has the chat closed: the list shows the message and an unread badge, live.
        to_alice = chat_button(bob, "Alice Liddell")
        expect(to_alice.locator(".badge")).to_have_text("1 unread", timeout=LIVE_TIMEOUT_MS)
        expect(to_alice).to_contain_text("hello bob")
        screenshot(bob, "bob-unread")

        to_alice.click()
        expect(bob.locator("#messages .message").first).to_contain_text("hello bob")
        expect(to_alice.locator(".badge")).to_have_count(0)

        composer(alice).press_sequentially("are you there?", delay=40)
        expect(bob.locator("#chat-status")).to_have_text("Alice Liddell is typing…", timeout=LIVE_TIMEOUT_MS)
        screenshot(bob, "bob-typing")

        composer(bob).fill("hi alice")
        composer(bob).press("Enter")
        expect(alice.locator("#messages .message").last).to_contain_text("hi alice", timeout=LIVE_TIMEOUT_MS)
        expect(alice.locator("#messages .message").last).not_to_have_class(re.compile("mine"))

        # Alice's message ends her typing indicator on Bob's side.
        composer(alice).press("Enter")
        expect(bob.locator("#messages .message").last).to_contain_text("are you there?", timeout=LIVE_TIMEOUT_MS)
        expect(bob.locator("#chat-status")).not_to_contain_text("typing")
        expect(alice.locator("#messages .message")).to_have_count(3)
        screenshot(alice, "alice-chat")

        # A new direct chat from the search box.
        alice.get_by_label("New direct chat: search users").fill("carol")
        alice.locator("#search-results").get_by_role("button", name=re.compile("Carol Singer")).click()
        expect(alice.locator("#chat-title")).to_have_text("Carol Singer")
        expect(chat_button(alice, "Carol Singer")).to_have_attribute("aria-current", "true")
        expect(alice.locator("#messages .message")).to_have_count(0)
        screenshot(alice, "alice-new-chat")

        assert errors == []


def test_reconnect_catches_up_on_missed_messages(people: People, server: str):
    with launch_chromium() as browser:
        errors: list = []
        alice = open_app(browser, server, errors, record_sockets=True)
        log_in(alice, "alice")
        chat_button(alice, "Bob Builder").click()
        expect(alice.locator("#chat-title")).to_have_text("Bob Builder")
        wait_until(alice, "sessionStorage.getItem('messenger.cursor') !== null")
        cursor_before = stored_cursor(alice)
        credentials = {"identifier": "bob", "password": DEFAULT_PASSWORD}
        bob_access = http("POST", f"{server}/api/v1/auth/login", body=credentials)["access"]

        # Drop the socket and keep the client from reconnecting (no ticket) while Bob writes.
        alice.route("**/api/v1/auth/ws-ticket", lambda route: route.abort())
        alice.evaluate("window.__sockets.at(-1).close()")
        expect(alice.locator("#connection")).not_to_have_text("Connected")
        send_over_rest(server, bob_access, people.chat, "sent while you were away")
        # Its access token has expired meanwhile: the reconnect must refresh it first.
        alice.evaluate(
            """() => {
                const session = JSON.parse(sessionStorage.getItem("messenger.session"));
                sessionStorage.setItem("messenger.session", JSON.stringify({...session, access: "expired"}));
            }"""
        )
        alice.wait_for_timeout(1500)
        expect(alice.locator("#messages")).not_to_contain_text("sent while you were away")
        screenshot(alice, "alice-offline")

        alice.unroute("**/api/v1/auth/ws-ticket")
        expect(alice.locator("#connection")).to_have_text("Connected", timeout=15000)
        missed = alice.locator("#messages .message", has_text="sent while you were away")
        expect(missed).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
        wait_until(alice, f"Number(sessionStorage.getItem('messenger.cursor')) > {cursor_before}")
        assert alice.evaluate("JSON.parse(sessionStorage.getItem('messenger.session')).access") != "expired"
        assert alice.evaluate("window.__sockets.length") >= 2

        # The new socket is live again, and user text is shown as text, never parsed as HTML.
        markup = "welcome back <img src=x onerror=window.pwned=1>"
        send_over_rest(server, bob_access, people.chat, markup)
        expect(alice.locator("#messages .message").last).to_contain_text(markup, timeout=LIVE_TIMEOUT_MS)
        expect(alice.locator("#messages .message")).to_have_count(2)
        assert alice.locator("#messages img, #chat-list img").count() == 0
        assert alice.evaluate("window.pwned") is None
        screenshot(alice, "alice-reconnected")
        assert errors == []
