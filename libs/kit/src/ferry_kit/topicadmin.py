"""Ferry's topics, created explicitly (auto-created ones get an arbitrary partition count).

Apart from broker.py so that a process that only creates topics (`ferry dev`'s supervisor) does
not load FastStream and OpenTelemetry (~9 MiB).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from ferry_contracts.topics import ALL_TOPICS


async def ensure_topics(
    bootstrap: str, partitions: int, topics: Iterable[str] = ALL_TOPICS
) -> None:
    """Create the topics that do not exist yet, with `partitions` partitions each."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
