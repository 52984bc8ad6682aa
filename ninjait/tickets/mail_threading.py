"""Which ticket an inbound message belongs to. The rules, in order (docs/email.md):

1. automatic mail (auto-replies, bulk, bounces), mail from our own addresses, and senders over the rate
   limit are ignored;
2. a Message-ID already stored is a duplicate (the same mail through two aliases, or fetched twice);
3. In-Reply-To, then References from right to left: the first Message-ID we sent or stored names the ticket
   (so reply-all by a CC lands on the same ticket: it quotes our Message-IDs);
4. a ticket number in the subject (``[T-1042]`` or ``T-1042`` with the tenant's prefix) names the ticket only
   if the sender is its requester, one of its CCs or a staff user who may change that organization's tickets;
   from anyone else the number is ignored, so nobody can add to a ticket by guessing numbers;
5. otherwise a new ticket.

Pure: the lookups are passed in, so the rules are tested without a database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ninjait.tickets.mail_in import Inbound


@dataclass(frozen=True)
class Decision:
    action: str  # ignore, duplicate, append, new
    ticket_id: int | None = None
    reason: str = ""


def numbers_in(subject: str, prefix: str) -> list[str]:
    if not prefix:
        return re.findall(r"\[#?(\d+)\]", subject)
    return [m.group(0).strip("[]") for m in re.finditer(rf"\[?{re.escape(prefix)}\d+\]?", subject)]


def decide(msg: Inbound, *, own_addresses: set[str], over_rate: bool, seen: Callable[[str], bool],
           ticket_of_message: Callable[[str], int | None], prefix: str,
           ticket_by_number: Callable[[str], dict[str, Any] | None],
           participants: Callable[[dict[str, Any]], set[str]],
           is_staff: Callable[[str, dict[str, Any]], bool]) -> Decision:
    """``is_staff(address, ticket)``: a staff user of the tenant who may write that ticket's organization."""
    if msg.automatic:
        return Decision("ignore", reason=f"automatic mail ({msg.automatic})")
    if msg.sender in own_addresses:
        return Decision("ignore", reason="sent from one of our own addresses (a loop)")
    if over_rate:
        return Decision("ignore", reason=f"{msg.sender} sent too many messages in the last hour")
    if msg.message_id and seen(msg.message_id):
        return Decision("duplicate", reason=f"{msg.message_id} was taken already")
    for message_id in msg.thread_ids:
        ticket_id = ticket_of_message(message_id)
        if ticket_id is not None:
            return Decision("append", ticket_id, reason=f"answers {message_id}")
    for number in numbers_in(msg.subject, prefix):
        ticket = ticket_by_number(number)
        if ticket is None:
            continue
        if msg.sender in participants(ticket) or is_staff(msg.sender, ticket):
            return Decision("append", ticket["id"], reason=f"{number} in the subject, from a participant")
        return Decision("new", reason=f"{number} in the subject, but {msg.sender} is not on that ticket")
    return Decision("new", reason="no thread or ticket number found")
