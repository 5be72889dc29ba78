"""Address book and blocking."""

from django.conf import settings
from django.db import transaction

from accounts import errors
from accounts.models import Block, Contact, User
from accounts.phones import phone_normalize_or_none
from messenger.errors import ApplicationError


def contact_add(*, owner: User, contact: User, name: str = "") -> tuple[Contact, bool]:
    """Add `contact` to `owner`'s address book; returns (contact, created). Idempotent."""
    if contact.pk == owner.pk:
        raise ApplicationError("You cannot add yourself as a contact.", code=errors.CANNOT_TARGET_SELF)
    entry, created = Contact.objects.get_or_create(owner=owner, contact=contact, defaults={"name": name})
    if not created and name and entry.name != name:
        entry.name = name
        entry.save(update_fields=["name"])
    return entry, created


def contact_remove(*, contact: Contact) -> None:
    contact.delete()


def contacts_sync(*, owner: User, phones: list[str]) -> list[tuple[str, User]]:
    """Match an address book against registered users and add the matches as contacts.

    Returns (phone as given, user) for each registered number. Unparseable numbers are skipped:
    real address books are full of them.
    """
    if len(phones) > settings.CONTACT_SYNC_MAX_PHONES:
        raise ApplicationError(
            f"Send at most {settings.CONTACT_SYNC_MAX_PHONES} phone numbers per request.",
            code=errors.TOO_MANY_PHONES,
            details={"max": settings.CONTACT_SYNC_MAX_PHONES},
        )
    given_by_e164: dict[str, str] = {}
    for raw in phones:
        e164 = phone_normalize_or_none(raw)
        if e164:
            given_by_e164.setdefault(e164, raw)
    users = list(User.objects.filter(phone__in=given_by_e164, is_active=True).exclude(pk=owner.pk).order_by("phone"))
    with transaction.atomic():
        Contact.objects.bulk_create([Contact(owner=owner, contact=user) for user in users], ignore_conflicts=True)
    return [(given_by_e164[user.phone], user) for user in users]


def block_add(*, blocker: User, blocked: User) -> tuple[Block, bool]:
    """Block a user; returns (block, created). Idempotent."""
    if blocked.pk == blocker.pk:
        raise ApplicationError("You cannot block yourself.", code=errors.CANNOT_TARGET_SELF)
    return Block.objects.get_or_create(blocker=blocker, blocked=blocked)


def block_remove(*, block: Block) -> None:
    block.delete()
