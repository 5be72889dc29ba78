"""The HTML pages work in headless Chromium under their Content-Security-Policy, and load nothing
from another host: the web client (with its WebSocket), the admin, Swagger UI and ReDoc.

The browser reports a CSP violation on its console; every request the pages make is recorded.
Both lists must stay empty while each page does its job.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from chats.tests.factories import direct_chat
from tests.web.browser import LIVE_TIMEOUT_MS, launch_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(transactional_db) -> tuple[User, User]:
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    alice = UserFactory(username="alice", display_name="Alice Liddell")
    direct_chat(alice, UserFactory(username="bob", display_name="Bob Builder"))
    return admin, alice


class Watch:
    """What a page does that it must not: CSP violations, script errors, requests to another host."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("request", self._request)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.problems.append(f"console: {message.text}")

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in {"data", "blob"}:
            return  # made by the page itself (ReDoc's search worker is a blob:)
        if f"{parts.scheme}://{parts.netloc}" not in {self.origin, self.origin.replace("http", "ws", 1)}:
            self.problems.append(f"request to another host: {request.url}")


def visit(page: Page, url: str) -> str:
    """Load `url`; return its Content-Security-Policy (every page must have one)."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    policy = response.headers.get("content-security-policy")
    assert policy, f"{url} has no Content-Security-Policy"
    return policy


def test_pages_work_under_their_content_security_policy(people, server):
    admin, alice = people
    with launch_chromium() as browser:
        page = browser.new_context().new_page()
        watch = Watch(page, server)

        # The web client: log in, open a chat, send; the socket connects under connect-src 'self'.
        assert "style-src 'self';" in visit(page, f"{server}/app/")
        page.get_by_label("Username, phone or email").fill(alice.username)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#connection")).to_have_text("Connected")
        page.locator("#chat-list").get_by_role("button", name=re.compile("Bob Builder")).click()
        page.get_by_label("Message", exact=True).fill("under the policy")
        page.get_by_label("Message", exact=True).press("Enter")
        expect(page.locator("#messages .message.mine")).to_contain_text("under the policy")

        # The admin: log in, a list, a form with its JavaScript widgets.
        visit(page, f"{server}/admin/login/")
        page.locator("#id_username").fill(admin.username)
        page.locator("#id_password").fill(DEFAULT_PASSWORD)
        page.locator("input[type=submit]").click()
        expect(page.locator("#site-name")).to_be_visible()
        visit(page, f"{server}/admin/accounts/user/")
        expect(page.locator("#result_list")).to_be_visible()
        visit(page, f"{server}/admin/accounts/user/{alice.pk}/change/")
        expect(page.locator("#id_groups_from")).to_be_visible()  # the filter widget, built by script

        # Swagger UI: the operations render and one opens.
        visit(page, f"{server}/api/docs/")
        operation = page.locator(".opblock").first
        expect(operation).to_be_visible(timeout=LIVE_TIMEOUT_MS * 2)
        operation.locator(".opblock-summary").click()
        expect(page.locator(".opblock-body").first).to_be_visible()

        # ReDoc: the reference renders and its search (a worker) answers.
        visit(page, f"{server}/api/redoc/")
        expect(page.locator("[data-section-id]").first).to_be_attached(timeout=LIVE_TIMEOUT_MS * 2)
        page.get_by_placeholder("Search...").fill("login")
        found = page.get_by_role("search").get_by_role("menuitem", name=re.compile("Log in with username"))
        expect(found).to_be_visible()

        assert watch.problems == []
