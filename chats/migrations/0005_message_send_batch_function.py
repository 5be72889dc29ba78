"""chats_message_send_batch: several messages in one transaction.

Superseded: the function this migration installed was replaced by the ones in chats/sql/, which
migration 0006 installs (chats/migrations/_sql.py). Kept, empty, so the migration history stays.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("chats", "0004_message_send_notifies_event_id")]

    operations = []
