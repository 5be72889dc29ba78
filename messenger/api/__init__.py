"""Shared REST plumbing: the error renderer, pagination and schema helpers."""

from messenger.api.exceptions import exception_handler
from messenger.api.pagination import DefaultCursorPagination

__all__ = ["DefaultCursorPagination", "exception_handler"]
