"""Writes of the accounts app. Import services from here."""

from accounts.services.contacts import block_add, block_remove, contact_add, contact_remove, contacts_sync
from accounts.services.otp import otp_request, otp_verify
from accounts.services.sessions import auth_login, session_create, session_refresh, session_revoke, session_touch
from accounts.services.tickets import ws_ticket_consume, ws_ticket_issue
from accounts.services.users import user_register, user_update

__all__ = [
    "auth_login",
    "block_add",
    "block_remove",
    "contact_add",
    "contact_remove",
    "contacts_sync",
    "otp_request",
    "otp_verify",
    "session_create",
    "session_refresh",
    "session_revoke",
    "session_touch",
    "user_register",
    "user_update",
    "ws_ticket_consume",
    "ws_ticket_issue",
]
