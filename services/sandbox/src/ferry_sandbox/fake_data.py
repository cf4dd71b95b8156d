"""Plausible generated values for the sandbox's models (names, amounts, files), made in batches.

Generators take the (updated_at, id) heads of the records to make and return whole records;
batched `rng.choices` calls are what keep seeding 100,000 records well under a second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]
Key = tuple[str, str]


@dataclass(frozen=True)
class Context:
    """What a generator may draw on besides randomness."""

    next_number: int = 1  # invoices: the first invoice number of the batch
    contact_ids: tuple[str, ...] | list[str] = ()  # invoices: ids to link contact_id to


_FIRST = (
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "John",
    "Radia",
    "Tim",
    "Katherine",
    "Edsger",
    "Hedy",
    "Donald",
    "Sophie",
    "Guido",
    "Anita",
    "Niklaus",
    "Jean",
    "Bjarne",
    "Lynn",
    "Vint",
)
_LAST = (
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Backus",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "Dijkstra",
    "Lamarr",
    "Knuth",
    "Wilson",
    "van Rossum",
    "Borg",
    "Wirth",
    "Sammet",
    "Stroustrup",
    "Conway",
    "Cerf",
)
_COMPANIES = (
    ("Acme", "acme.test"),
    ("Globex", "globex.test"),
    ("Initech", "initech.test"),
    ("Umbrella", "umbrella.test"),
    ("Hooli", "hooli.test"),
    ("Stark", "stark.test"),
    ("Wayne", "wayne.test"),
    ("Tyrell", "tyrell.test"),
)
_CURRENCIES = ("EUR", "USD", "GBP")
_STATUSES = ("draft", "open", "paid", "void")
_FILE_KINDS = (
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("csv", "text/csv"),
    ("txt", "text/plain"),
    ("jpg", "image/jpeg"),
)
_FILE_WORDS = ("report", "invoice", "photo", "export", "notes", "contract", "receipt", "plan")


# Generators make `n` records at once: batched `rng.choices` calls keep seeding 100,000 fast.


def _slug(name: str) -> str:
    return name.lower().replace(" ", "").replace("-", "")


def _contacts(rng: random.Random, heads: list[Key], _: Context) -> list[Record]:
    n = len(heads)
    return [
        {
            "id": rid,
            "updated_at": stamp,
            "first_name": first,
            "last_name": last,
            "email": f"{_slug(first)}.{_slug(last)}{num}@{domain}",
            "phone": f"+1-555-{phone:04d}",
            "company": company,
        }
        for (stamp, rid), first, last, (company, domain), num, phone in zip(
            heads,
            rng.choices(_FIRST, k=n),
            rng.choices(_LAST, k=n),
            rng.choices(_COMPANIES, k=n),
            rng.choices(range(100000), k=n),
            rng.choices(range(10000), k=n),
            strict=True,
        )
    ]


def _invoices(rng: random.Random, heads: list[Key], ctx: Context) -> list[Record]:
    n = len(heads)
    first = ctx.next_number
    contacts = ctx.contact_ids or [None]
    return [
        {
            "id": rid,
            "updated_at": stamp,
            "number": f"INV-{first + i:06d}",
            "amount": cents / 100,
            "currency": currency,
            "status": status,
            "contact_id": contact,
        }
        for i, ((stamp, rid), cents, currency, status, contact) in enumerate(
            zip(
                heads,
                rng.choices(range(1000, 500000), k=n),
                rng.choices(_CURRENCIES, k=n),
                rng.choices(_STATUSES, k=n),
                rng.choices(contacts, k=n),
                strict=True,
            )
        )
    ]


def _files(rng: random.Random, heads: list[Key], _: Context) -> list[Record]:
    n = len(heads)
    return [
        {
            "id": rid,
            "updated_at": stamp,
            "name": f"{word}-{num}.{ext}",
            "size": size,
            "mime_type": mime,
        }
        for (stamp, rid), word, num, (ext, mime), size in zip(
            heads,
            rng.choices(_FILE_WORDS, k=n),
            rng.choices(range(100000), k=n),
            rng.choices(_FILE_KINDS, k=n),
            rng.choices(range(1, 50_000_000), k=n),
            strict=True,
        )
    ]


GENERATE = {"contacts": _contacts, "invoices": _invoices, "files": _files}
FIELDS = {
    "contacts": ("first_name", "last_name", "email", "phone", "company"),
    "invoices": ("number", "amount", "currency", "status", "contact_id"),
    "files": ("name", "size", "mime_type"),
}


def changed_fields(model: str, rng: random.Random, record: Record) -> Record:
    """What an admin 'update' changes: one visible value per model."""
    if model == "contacts":
        local = str(record.get("email") or "someone@x").split("@")[0]
        return {"email": f"{local}.{rng.randrange(100000)}@changed.test"}
    if model == "invoices":
        return {"status": rng.choice([s for s in _STATUSES if s != record.get("status")])}
    return {"size": int(record.get("size") or 0) + rng.randrange(1, 10_000)}
