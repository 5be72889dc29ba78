"""chats_message_send's NOTIFY named the new event and the sending process.

Superseded: the function this migration installed was replaced by the ones in chats/sql/, which
migration 0006 installs (chats/migrations/_sql.py). Kept, empty, so the migration history stays.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("chats", "0003_lean_hot_path_indexes")]

    operations = []
