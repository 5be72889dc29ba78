"""The frame types and error codes the calls app adds to docs/asyncapi.yaml, kept by hand on purpose
(adding one to the code must come with documenting it). chats/tests/test_asyncapi.py checks the
document as a whole against these and its own; calls/tests/test_asyncapi.py sends each of them."""

CALL_DURABLE_EVENT_TYPES = {
    "call:incoming",
    "call:accepted",
    "call:rejected",
    "call:ended",
    "call:participant_joined",
    "call:participant_left",
}
CALL_EPHEMERAL_EVENT_TYPES = {"call:offer", "call:answer", "call:candidate"}
CALL_ERROR_CODES = {"call_in_progress", "call_full", "call_not_allowed", "call_ended", "call_already_joined"}
