"""Schemathesis hooks for tests/tests/api_conformance.rs: how to put a tus chunk on the wire.

tus 1.0's PATCH body has its own media type (application/offset+octet-stream): raw bytes,
sent as they are, like application/octet-stream.
"""

import schemathesis
from schemathesis.transport.requests import binary_serializer


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx, value):
    return binary_serializer(ctx, value)
