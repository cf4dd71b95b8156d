"""The services' producer: settings that its callers' batching relies on."""

from __future__ import annotations

from ferry_kit import outbox


async def test_the_producer_does_not_linger_since_every_send_is_a_batch_already_filled():
    producer = outbox.make_producer("127.0.0.1:9")  # never started: nothing is reached
    # aiokafka keeps the setting here, in seconds; a linger would delay every acknowledgement
    # a page's checkpoint waits for (bench_publish_page.py prints what it costs).
    assert producer._message_accumulator._linger_time == 0
