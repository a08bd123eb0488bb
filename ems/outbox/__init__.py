"""Durable delivery to external receivers: group robots, e-mail and the city carbon platform.

Producers (:mod:`ems.alerts`, :mod:`ems.exchange`) :func:`~ems.outbox.delivery.enqueue` a message in
the same database as everything else; :func:`~ems.outbox.delivery.deliver_due` sends what is due and
keeps what failed for a later attempt (exponential backoff, no attempt limit), so nothing is lost
while a receiver is down. Delivery is at least once: a crash between sending and recording sends again.

Errors::

    DeliveryError          a receiver refused or could not be reached (retried)
    ReceiverNotConfigured  a queued message's channel has no receiver now (kept, retried)
"""

from ems.outbox.channels import DeliveryError, ReceiverNotConfigured, Receivers, senders
from ems.outbox.delivery import DeliveryReport, deliver_due, enqueue

__all__ = [
    "DeliveryError",
    "DeliveryReport",
    "ReceiverNotConfigured",
    "Receivers",
    "deliver_due",
    "enqueue",
    "senders",
]
