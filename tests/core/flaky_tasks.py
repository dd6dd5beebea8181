"""A real task for the retry tests: it fails the way an unreachable relay does."""

from frontdesk.core.tasks import retrying_task


@retrying_task(max_attempts=3)
def deliver_to_unreachable_relay(*, message_id: int) -> None:
    raise ConnectionRefusedError(f"relay refused message {message_id}")
