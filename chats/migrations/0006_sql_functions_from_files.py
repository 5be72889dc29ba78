"""The send function takes attachment ids (so every message is stored by it) and appends its events
through chats_stream_append, the one writer of stream rows; both from chats/sql/."""

from django.db import migrations

from chats.migrations._sql import install_functions


class Migration(migrations.Migration):
    dependencies = [("chats", "0005_message_send_batch_function"), ("media", "0001_initial")]

    operations = [
        install_functions(
            dropping=(
                "chats_message_send(uuid, uuid, uuid, varchar, text, uuid, timestamptz, jsonb, varchar, bigint, text)",
                "chats_message_send(uuid, uuid, uuid, varchar, text, uuid, timestamptz, jsonb, varchar, bigint, text, "
                "text)",
            )
        )
    ]
