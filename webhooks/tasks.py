"""The Celery side of webhooks: a worker sends a delivery; beat sends the retries that came due."""

from celery import shared_task

from webhooks.services import delivery_send, webhook_send_due


@shared_task
def send_delivery(delivery_id: str) -> None:
    delivery_send(delivery_id=delivery_id)


@shared_task
def send_due_webhooks() -> int:
    return webhook_send_due()
