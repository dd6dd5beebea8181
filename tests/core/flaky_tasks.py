"""A real task for the retry tests: it fails the way an unreachable relay does."""

from frontdesk.core.tasks import retrying_task


@retrying_task(max_attempts=3)
def deliver_to_unreachable_relay(*, message_id: int) -> None:
    raise ConnectionRefusedError(f"relay refused message {message_id}")


RECORDED: list[list[int]] = []


@retrying_task
def record_items(*, items: list[int], label: str = "") -> None:
    """For the batch enqueue tests: remembers the items of each run."""
    RECORDED.append(list(items))
