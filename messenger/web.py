"""The browser client: one HTML page; its script and styles are static files and it talks to the public API."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def app(request: HttpRequest) -> HttpResponse:
    """The single-page web client at /app/ (login, chats, real time over /ws/)."""
    return render(request, "app.html")
