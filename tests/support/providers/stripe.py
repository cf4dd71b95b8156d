"""Stripe on loopback, as docs.stripe.com shows it: a secret key as bearer (or Basic username),
401 with Stripe's error body for a wrong one, list objects newest first with `limit`,
`starting_after`, `has_more` and `created[gte]`, form-encoded create and update, deletion that
leaves a `customer.deleted` event, and a 429 answer. Tests seed and change objects in memory."""

from __future__ import annotations

import base64
import re
import secrets
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..loopback import Loopback

API_KEY = "sk_test_" + "d4" * 12
PREFIX = {"customers": "cus_", "invoices": "in_", "events": "evt_"}
OBJECT = {"customers": "customer", "invoices": "invoice", "events": "event"}


def error(status: int, message: str, type_: str = "invalid_request_error", **extra: Any):
    return JSONResponse({"error": {"message": message, "type": type_, **extra}}, status)


def nested(form: list[tuple[str, str]]) -> dict[str, Any]:
    """`metadata[plan]=pro` back into {"metadata": {"plan": "pro"}}, as Stripe reads a form."""
    out: dict[str, Any] = {}
    for key, value in form:
        head, *rest = re.findall(r"[^\[\]]+", key)
        target = out
        for part in [head, *rest][:-1]:
            target = target.setdefault(part, {})
        target[[head, *rest][-1]] = value
    return out


class Stripe(Loopback):
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in PREFIX}
        self.list_requests: list[dict[str, Any]] = []  # path and query of each list call
        self.writes: list[dict[str, Any]] = []  # method, path, content type, raw form
        self.limited = 0  # the next list calls answered 429
        self.app = Starlette(routes=[
            Route("/v1/balance", self.balance),
            Route("/v1/{kind:str}", self.list_objects, methods=["GET"]),
            Route("/v1/customers", self.create_customer, methods=["POST"]),
            Route("/v1/customers/{id:str}", self.update_customer, methods=["POST"])])

    # --- what tests do to the account --------------------------------------------------------

    def add(self, kind: str, fields: dict[str, Any], at: float | None = None) -> dict[str, Any]:
        oid = PREFIX[kind] + secrets.token_hex(7)
        obj = {"id": oid, "object": OBJECT[kind], "created": int(at or time.time()),
               "livemode": False, "metadata": {}, **fields}
        self.objects[kind][oid] = obj
        return obj

    def seed(self, kind: str, count: int, start: int = 1_700_000_000) -> list[str]:
        return [self.add(kind, {"email": f"c{i}@example.com"} if kind == "customers" else
                         {"amount_due": 100 * i, "status": "paid"}, at=start + i)["id"]
                for i in range(count)]

    def delete(self, kind: str, oid: str) -> None:
        gone = self.objects[kind].pop(oid)
        self.add("events", {"type": f"{OBJECT[kind]}.deleted", "data": {"object": gone}})

    # --- API -----------------------------------------------------------------------------------

    def _denied(self, request: Request) -> Response | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme == "Basic":
            value = base64.b64decode(value).decode().partition(":")[0]
        elif scheme != "Bearer":
            return error(401, "You did not provide an API key.")
        if value != API_KEY:
            return error(401, f"Invalid API Key provided: {value[:8]}****{value[-4:]}")
        return None

    async def balance(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        return JSONResponse({"object": "balance", "livemode": False,
                             "available": [{"amount": 0, "currency": "usd"}],
                             "pending": [{"amount": 0, "currency": "usd"}]})

    async def list_objects(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        kind, q = request.path_params["kind"], request.query_params
        if kind not in PREFIX:
            return error(404, f"Unrecognized request URL (GET: /v1/{kind}).")
        self.list_requests.append({"path": request.url.path, **q})
        if self.limited > 0:
            self.limited -= 1
            return JSONResponse({"error": {
                "code": "rate_limit", "type": "invalid_request_error",
                "message": "Request rate limit exceeded. Try again later."}}, 429,
                headers={"stripe-should-retry": "true"})
        rows = sorted(self.objects[kind].values(), key=lambda o: (o["created"], o["id"]),
                      reverse=True)
        if "created[gte]" in q:
            rows = [o for o in rows if o["created"] >= int(q["created[gte]"])]
        if "type" in q:
            rows = [o for o in rows if o.get("type") == q["type"]]
        if after := q.get("starting_after"):
            ids = [o["id"] for o in rows]
            if after not in ids:
                return error(400, f"No such {OBJECT[kind]}: '{after}'", code="resource_missing")
            rows = rows[ids.index(after) + 1:]
        limit = int(q.get("limit", 10))
        if not 1 <= limit <= 100:
            return error(400, "This value must be less than or equal to 100.", param="limit")
        return JSONResponse({"object": "list", "data": rows[:limit],
                             "has_more": len(rows) > limit, "url": f"/v1/{kind}"})

    async def _form(self, request: Request) -> dict[str, Any]:
        raw = (await request.body()).decode()
        form = list((await request.form()).multi_items())
        self.writes.append({"method": request.method, "path": request.url.path, "raw": raw,
                            "content_type": request.headers.get("content-type", "")})
        return nested([(k, str(v)) for k, v in form])

    async def create_customer(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        fields = await self._form(request)
        return JSONResponse(self.add("customers", fields))

    async def update_customer(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        fields = await self._form(request)
        customer = self.objects["customers"].get(request.path_params["id"])
        if customer is None:
            return error(404, f"No such customer: '{request.path_params['id']}'",
                         code="resource_missing")
        customer.update({k: v for k, v in fields.items() if k != "metadata"})
        customer["metadata"] = {**customer["metadata"], **fields.get("metadata", {})}
        return JSONResponse(customer)
