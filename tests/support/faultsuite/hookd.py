"""A customer's webhook endpoint as its own process, for the fault suite.

`python hookd.py PORT LOG`: every delivery it accepts is one JSON line in LOG (webhook-id, type,
connection, record, cursor). `POST /_down?seconds=N` answers 503 to deliveries for N seconds;
`GET /_stats` says how many deliveries were accepted, distinct by webhook-id, and refused.
"""

from __future__ import annotations

import json
import sys
import time

import uvicorn


class Endpoint:
    def __init__(self, log_path: str) -> None:
        self.log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open for the process's life
        self.down_until = 0.0
        self.ids: set[str] = set()
        self.accepted = 0
        self.refused = 0

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        status, out = self.handle(scope, body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": out})

    def handle(self, scope: dict, body: bytes) -> tuple[int, bytes]:
        path = scope["path"]
        if path == "/_stats":
            stats = {"accepted": self.accepted, "distinct": len(self.ids), "refused": self.refused}
            return 200, json.dumps(stats).encode()
        if path == "/_down":
            seconds = float(scope["query_string"].decode().partition("=")[2] or 0)
            self.down_until = time.monotonic() + seconds
            return 200, b"{}"
        if time.monotonic() < self.down_until:
            self.refused += 1
            return 503, b'{"error": "down"}'
        headers = dict(scope["headers"])
        webhook_id = headers.get(b"webhook-id", b"").decode()
        payload = json.loads(body)
        data = payload.get("data", {})
        self.log.write(json.dumps({
            "id": webhook_id, "type": payload.get("type"), "conn": data.get("connection_id"),
            "rid": data.get("record_id"), "cursor": data.get("cursor"),
        }) + "\n")
        self.accepted += 1
        self.ids.add(webhook_id)
        return 204, b""


if __name__ == "__main__":
    port, log_path = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(Endpoint(log_path), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)
