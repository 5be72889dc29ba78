"""An SMS backend for server processes under test: appends each message to the file named by
E2E_SMS_OUTBOX, one JSON line each, so the test process can read the codes it sent."""

import json
import os

from accounts.sms import BaseSMSBackend


class FileSMSBackend(BaseSMSBackend):
    def send(self, *, phone: str, text: str) -> None:
        with open(os.environ["E2E_SMS_OUTBOX"], "a") as outbox:
            outbox.write(json.dumps({"phone": phone, "text": text}) + "\n")
