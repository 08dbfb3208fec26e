"""Schemathesis hooks for tests/tests/api_conformance.rs: how to put a tus chunk and a CSV file
on the wire.

tus 1.0's PATCH body has its own media type (application/offset+octet-stream): raw bytes,
sent as they are, like application/octet-stream. An import's CSV file (text/csv) is text,
sent as text/plain is, and so is a configuration file (application/toml).
"""

import schemathesis
from schemathesis.transport.requests import binary_serializer, text_serializer


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx, value):
    return binary_serializer(ctx, value)


@schemathesis.serializer("text/csv")
def csv_text(ctx, value):
    return text_serializer(ctx, value)


@schemathesis.serializer("application/toml")
def toml_text(ctx, value):
    return text_serializer(ctx, value)
