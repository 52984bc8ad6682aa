import io
import json
import logging

from ninjait.core import logs


def test_it_writes_json_lines_with_request_id_and_fields() -> None:
    stream = io.StringIO()
    logs.setup("info", "json", stream=stream)
    token = logs.request_id.set("abc123")
    try:
        logging.getLogger("ninjait.test").info("hello %s", "world", extra={"fields": {"device": 5}})
    finally:
        logs.request_id.reset(token)
    entry = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert entry["msg"] == "hello world" and entry["level"] == "info"
    assert entry["logger"] == "ninjait.test" and entry["request_id"] == "abc123" and entry["device"] == 5
    assert entry["ts"].endswith("Z")


def test_it_writes_readable_text_when_asked() -> None:
    stream = io.StringIO()
    logs.setup("warning", "text", stream=stream)
    logging.getLogger("ninjait.test").info("hidden")
    logging.getLogger("ninjait.test").warning("shown", extra={"fields": {"n": 1}})
    out = stream.getvalue()
    assert "hidden" not in out and "WARNING" in out and "shown" in out and "n=1" in out
