"""What the webhooks service does, one typed function per event or request.

Events (listed in `HANDLERS`) become messages, one per endpoint of the project that takes them;
requests come from the internal API. Each runs inside a unit of work the kit opened (inbox
claimed for events, committed when the function returns). Delivering the messages is the
worker's job (`delivery.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.records import RecordChanged
from ferry_contracts.sync import SyncCompleted
from ferry_contracts.topics import CONNECTION_CHANGED, RECORD_CHANGED, SYNC_COMPLETED
from ferry_kit import errors
from ferry_kit.dispatch import Batch, EventHandler
from ferry_kit.projection import newer_connection
from ferry_kit.uow import UnitOfWork

from . import domain, guard
from .model import Change, Endpoint, KnownConnection, NewEndpoint, NewMessage
from .owners import UserLookup
from .repository import Repository
from .settings import Settings

Uow = UnitOfWork[Repository]
Build = Callable[[Any, str | None], Change]

# --- events -> messages -----------------------------------------------------------------------


async def on_sync_completed(
    events: list[Envelope[SyncCompleted]], uow: Uow, users: UserLookup
) -> None:
    """`sync_completed` or `sync_failed` to each endpoint of the project that takes it."""
    await _fan_out(events, uow, users, domain.sync_event)


async def on_record_changed(
    events: list[Envelope[RecordChanged]], uow: Uow, users: UserLookup
) -> None:
    """`record_created`, `record_updated` or `record_deleted` to each endpoint that takes it."""
    await _fan_out(events, uow, users, domain.record_event)


async def record_projects(project_ids: list[str | None], uow: Uow) -> set[str]:
    """The projects with an endpoint taking record events. The kit neither decodes nor claims
    the others' `record.changed` (most events of a sync, and most projects have no such
    endpoint): they would make no message, so there is nothing to do again on a redelivery."""
    projects = [p for p in project_ids if p]
    if not projects:
        return set()
    subscriptions = await uow.repos.subscriptions(projects)
    return domain.projects_taking(subscriptions, domain.RECORD_EVENT_TYPES)


async def on_connection_changed(event: Envelope[ConnectionChanged], uow: Uow) -> None:
    """Keep the connection's projection (its user) and announce a status that changed."""
    c = event.data
    newer = await newer_connection(uow.repos, c)
    if newer is None:
        return
    known = newer.known
    project_id = event.project_id or (known.project_id if known else None)
    await uow.repos.save_connection(KnownConnection(
        connection_id=c.connection_id, project_id=project_id, user_id=c.user_id,
        provider_name=c.provider_name, status=c.status, version=c.version,
    ))
    previous = c.previous_status if c.previous_status is not None else (
        known.status if known else None)
    change = domain.status_event(c, previous)
    if change is None or not project_id:
        return
    subscriptions = await uow.repos.subscriptions([project_id])
    await uow.repos.add_messages(
        domain.messages_for(subscriptions, event, project_id, c.connection_id, change))


HANDLERS: Final[dict[str, EventHandler | Batch]] = {
    CONNECTION_CHANGED: on_connection_changed,
    SYNC_COMPLETED: Batch(on_sync_completed),  # fan-outs read and write once per batch
    RECORD_CHANGED: Batch(on_record_changed, projects=record_projects),
}


async def _fan_out(
    events: Sequence[Envelope[Any]], uow: Uow, users: UserLookup, build: Build
) -> None:
    """One read of the subscriptions and one insert for a whole batch of events."""
    events = [e for e in events if e.project_id]
    if not events:
        return
    subscriptions = await uow.repos.subscriptions(list({_project(e) for e in events}))
    wanted = {s.project_id for s in subscriptions}
    events = [e for e in events if e.project_id in wanted]
    owners = await _owners(events, uow, users)
    messages: list[NewMessage] = []
    for e in events:
        cid = domain.connection_of(e)
        change = build(e, owners.get(cid or ""))
        messages += domain.messages_for(subscriptions, e, _project(e), cid, change)
    await uow.repos.add_messages(messages)


async def _owners(
    events: Sequence[Envelope[Any]], uow: Uow, users: UserLookup
) -> dict[str, str | None]:
    """The user of each event's connection: from the projection, else from its owner."""
    cids = {cid for e in events if (cid := domain.connection_of(e))}
    owners = await uow.repos.user_ids(list(cids)) if cids else {}
    for e in events:  # connections not projected yet (their connection.changed is behind)
        cid = domain.connection_of(e)
        if cid and cid not in owners:
            owners[cid] = await users(_project(e), cid)
    return owners


def _project(event: Envelope[Any]) -> str:
    return event.project_id or ""


# --- requests of the internal API -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateEndpoint:
    project_id: str
    url: str
    event_types: list[str] | None
    description: str | None
    ordered: bool


@dataclass(frozen=True, slots=True)
class EndpointRef:
    project_id: str
    endpoint_id: str


@dataclass(frozen=True, slots=True)
class SetEnabled(EndpointRef):
    enabled: bool


@dataclass(frozen=True, slots=True)
class ReplayFailed(EndpointRef):
    since: datetime | None


@dataclass(frozen=True, slots=True)
class MessageRef:
    project_id: str
    message_id: str


ENDPOINT_NOT_FOUND = "webhook endpoint not found"


async def create_endpoint(
    cmd: CreateEndpoint, uow: Uow, settings: Settings, resolve: guard.Resolve
) -> Endpoint:
    """A new endpoint with a new secret; its event types must be known and its URL public."""
    bad = domain.invalid_event_types(cmd.event_types or [])
    if bad and cmd.event_types:
        i = bad[0]
        raise _invalid(f"event_types[{i}]", f"unknown event type {cmd.event_types[i]!r}; "
                                            f"one of {', '.join(domain.EVENT_TYPES)}")
    try:
        await guard.check(cmd.url, settings.webhooks_allow_loopback_urls, resolve)
    except guard.Blocked as exc:
        raise _invalid("url", f"URL refused: {exc}") from None
    return await uow.repos.add_endpoint(NewEndpoint(
        id=domain.new_endpoint_id(), project_id=cmd.project_id, url=cmd.url,
        description=cmd.description, event_types=list(dict.fromkeys(cmd.event_types or [])),
        ordered=cmd.ordered, secret=domain.new_secret(),
    ))


async def delete_endpoint(cmd: EndpointRef, uow: Uow) -> None:
    if not await uow.repos.delete_endpoint(cmd.project_id, cmd.endpoint_id):
        raise errors.NotFound(ENDPOINT_NOT_FOUND)


async def set_enabled(cmd: SetEnabled, uow: Uow) -> Endpoint:
    """Pause or resume an endpoint by hand; its messages wait (pending) while it is disabled."""
    endpoint = await uow.repos.set_enabled(cmd.project_id, cmd.endpoint_id, cmd.enabled)
    if endpoint is None:
        raise errors.NotFound(ENDPOINT_NOT_FOUND)
    return endpoint


async def rotate_secret(cmd: EndpointRef, uow: Uow, settings: Settings) -> str:
    """A new secret; the previous one still signs for the overlap, so receivers can switch."""
    secret = await uow.repos.rotate_secret(cmd.project_id, cmd.endpoint_id, domain.new_secret(),
                                           settings.webhooks_rotation_overlap_hours)
    if secret is None:
        raise errors.NotFound(ENDPOINT_NOT_FOUND)
    return secret


async def replay_failed(cmd: ReplayFailed, uow: Uow) -> int:
    """Every failed message of the endpoint (since a time) is delivered again; how many."""
    if await uow.repos.endpoint(cmd.project_id, cmd.endpoint_id) is None:
        raise errors.NotFound(ENDPOINT_NOT_FOUND)
    return await uow.repos.replay_failed(cmd.endpoint_id, cmd.since)


async def replay_message(cmd: MessageRef, uow: Uow) -> bool:
    """A finished message is delivered again; one still under way is left alone (False)."""
    target = await uow.repos.message_for_replay(cmd.project_id, cmd.message_id)
    if target is None:
        raise errors.NotFound("webhook message not found")
    if target.status in domain.WAITING:
        return False
    await uow.repos.requeue_message(cmd.message_id, (target.endpoint_id, target.lane))
    return True


def _invalid(field: str, message: str) -> errors.Invalid:
    """The 422 this API has always answered: the message repeated in the field's detail."""
    return errors.Invalid(message, [{"field": field, "message": message}])
