"""Writes of the calls app. Import services from here."""

from calls.services.calls import (
    call_accept,
    call_end,
    call_finish,
    call_join,
    call_leave,
    call_reject,
    call_start,
    participant_leave,
)
from calls.services.deadlines import call_deadlines_fire

__all__ = [
    "call_accept",
    "call_deadlines_fire",
    "call_end",
    "call_finish",
    "call_join",
    "call_leave",
    "call_reject",
    "call_start",
    "participant_leave",
]
