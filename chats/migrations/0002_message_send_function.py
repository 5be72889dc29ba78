"""The first one-statement send function (chats_message_send).

Superseded: the function this migration installed was replaced by the ones in chats/sql/, which
migration 0006 installs (chats/migrations/_sql.py). Kept, empty, so the migration history stays.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("chats", "0001_initial"), ("accounts", "0002_initial")]

    operations = []
