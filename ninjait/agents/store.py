"""SQL of enrollment tokens, agents, batches and commands (samples: monitoring/hot.py)."""

from __future__ import annotations

from typing import Any

from ninjait.core.db import Conn

Row = dict[str, Any]
TOKEN_COLUMNS = "id, tenant_id, site_id, name, prefix, expires_at, max_uses, uses, revoked_at, created_by, created_at"
COMMAND_COLUMNS = ("id, uid, tenant_id, device_id, kind, payload, status, issued_at, expires_at, nonce, signature, "
                   "created_by, created_at, delivered_at, started_at, finished_at, exit_code, stdout, stderr, reason, not_before")


# --- enrollment tokens ------------------------------------------------------------------------

def insert_token(c: Conn, tenant_id: int, site_id: int, name: str, prefix: str, token_hash: str, expires_at: int,
                 max_uses: int, created_by: int | None, now: int) -> int:
    return c.value("INSERT INTO enrollment_tokens (tenant_id, site_id, name, prefix, token_hash, expires_at, "
                   "max_uses, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                   (tenant_id, site_id, name, prefix, token_hash, expires_at, max_uses, created_by, now))


def list_tokens(c: Conn, tenant_id: int) -> list[Row]:
    return c.all(f"SELECT {TOKEN_COLUMNS} FROM enrollment_tokens WHERE tenant_id = ? ORDER BY id DESC", (tenant_id,))


def get_token(c: Conn, tenant_id: int, token_id: int) -> Row | None:
    return c.one(f"SELECT {TOKEN_COLUMNS} FROM enrollment_tokens WHERE tenant_id = ? AND id = ?",
                 (tenant_id, token_id))


def revoke_token(c: Conn, tenant_id: int, token_id: int, now: int) -> None:
    c.execute("UPDATE enrollment_tokens SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL",
              (now, tenant_id, token_id))


def claim_token(c: Conn, token_hash: str, now: int) -> Row | None:
    """Use the token once if it is valid: not expired, not revoked, uses left."""
    token_id = c.value("UPDATE enrollment_tokens SET uses = uses + 1 WHERE token_hash = ? AND revoked_at IS NULL "
                       "AND expires_at > ? AND uses < max_uses RETURNING id", (token_hash, now))
    if token_id is None:
        return None
    return c.one(f"SELECT {TOKEN_COLUMNS} FROM enrollment_tokens WHERE id = ?", (token_id,))


# --- agents ------------------------------------------------------------------------------------

def insert_agent(c: Conn, uid: str, tenant_id: int, device_id: int, secret_hash: str, status: str,
                 token_id: int | None, now: int) -> int:
    return c.value("INSERT INTO agents (uid, tenant_id, device_id, secret_hash, status, enrollment_token_id, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                   (uid, tenant_id, device_id, secret_hash, status, token_id, now))


def agent_by_uid(c: Conn, uid: str) -> Row | None:
    return c.one("SELECT id, uid, tenant_id, device_id, secret_hash, status FROM agents WHERE uid = ?", (uid,))


def agent_for_device(c: Conn, tenant_id: int, device_id: int) -> Row | None:
    return c.one("SELECT id, uid, tenant_id, device_id, status, created_at, rotated_at FROM agents "
                 "WHERE tenant_id = ? AND device_id = ?", (tenant_id, device_id))


def rotation_key(agent_id: int) -> str:
    """The appliance_facts key that asks the agent to rotate its secret at its next check-in."""
    return f"rotate_agent:{agent_id}"


def agent_state(c: Conn, tenant_id: int, agent_id: int) -> Row | None:
    """Status, secret hash, whether a rotation is asked for and whether commands wait: the one agent read of a
    check-in's write (most check-ins have no command waiting and skip `take_pending`)."""
    return c.one("SELECT a.status, a.secret_hash, "
                 "EXISTS (SELECT 1 FROM appliance_facts f WHERE f.key = ?) AS rotate, "
                 "EXISTS (SELECT 1 FROM agent_commands q WHERE q.tenant_id = a.tenant_id AND q.device_id = a.device_id "
                 "AND q.status = 'queued') AS queued FROM agents a WHERE a.tenant_id = ? AND a.id = ?",
                 (rotation_key(agent_id), tenant_id, agent_id))


def set_agent_status(c: Conn, agent_id: int, status: str) -> None:
    c.execute("UPDATE agents SET status = ? WHERE id = ?", (status, agent_id))


def set_agent_secret(c: Conn, agent_id: int, secret_hash: str, now: int) -> None:
    c.execute("UPDATE agents SET secret_hash = ?, rotated_at = ? WHERE id = ?", (secret_hash, now, agent_id))


# --- check-in ingest ------------------------------------------------------------------------------

# An agent sends its batches oldest first and stops at the first one not acknowledged, so a resend is of the newest
# batch we stored (its acknowledgement was lost): an agent's claims further back than this are never needed again.
RESEND_WINDOW = 100


def claim_batch(c: Conn, agent_id: int, seq: int, now: int) -> bool:
    """True the first time (agent, seq) is seen: store the batch. False for a resend.

    Every RESEND_WINDOW-th batch drops the agent's claims older than the window, so the table holds at most
    two windows per agent instead of a row per check-in forever (50,000 agents: 144 million rows a day)."""
    new = c.value("INSERT INTO agent_batches (agent_id, seq, received_at) VALUES (?, ?, ?) "
                  "ON CONFLICT (agent_id, seq) DO NOTHING RETURNING seq", (agent_id, seq, now)) is not None
    if new and seq % RESEND_WINDOW == 0:
        c.execute("DELETE FROM agent_batches WHERE agent_id = ? AND seq <= ?", (agent_id, seq - RESEND_WINDOW))
    return new


# --- commands ----------------------------------------------------------------------------------------

def insert_command(c: Conn, values: dict[str, Any]) -> int:
    cols = ", ".join(values)
    return c.value(f"INSERT INTO agent_commands ({cols}) VALUES ({', '.join('?' * len(values))}) RETURNING id",
                   list(values.values()))


def take_pending(c: Conn, device_id: int, now: float) -> list[Row]:
    """Queued commands for the device that are due (not_before passed), marked delivered in the same transaction."""
    rows = c.all(f"SELECT {COMMAND_COLUMNS} FROM agent_commands WHERE device_id = ? AND status = 'queued' "
                 "AND (not_before IS NULL OR not_before <= ?) ORDER BY id LIMIT 20", (device_id, int(now)))
    for row in rows:
        if row["expires_at"] <= now:
            c.execute("UPDATE agent_commands SET status = 'expired' WHERE id = ?", (row["id"],))
        else:
            c.execute("UPDATE agent_commands SET status = 'delivered', delivered_at = ? WHERE id = ?",
                      (int(now), row["id"]))
    return [r for r in rows if r["expires_at"] > now]


def apply_result(c: Conn, device_id: int, result: dict[str, Any], now: int) -> Row | None:
    """Record a result reported by the device's own agent; a final state is never overwritten."""
    final = result["status"] != "running"
    updated = c.value(
        "UPDATE agent_commands SET status = ?, exit_code = ?, stdout = ?, stderr = ?, reason = ?, "
        "started_at = COALESCE(started_at, ?), finished_at = ? "
        "WHERE uid = ? AND device_id = ? AND status IN ('queued', 'delivered', 'running') RETURNING id",
        (result["status"], result.get("exit_code"), result.get("stdout", ""), result.get("stderr", ""),
         result.get("reason", "")[:4000], int(result.get("started_at") or now),
         int(result.get("finished_at") or now) if final else None, result["command_id"], device_id))
    if updated is None:
        return None
    return c.one("SELECT id, uid, tenant_id, device_id, kind, status, exit_code FROM agent_commands WHERE id = ?",
                 (updated,))


def list_commands(c: Conn, tenant_id: int, device_id: int, limit: int = 100) -> list[Row]:
    return c.all(f"SELECT {COMMAND_COLUMNS} FROM agent_commands WHERE tenant_id = ? AND device_id = ? "
                 "ORDER BY id DESC LIMIT ?", (tenant_id, device_id, limit))


def get_command(c: Conn, tenant_id: int, command_id: int) -> Row | None:
    return c.one(f"SELECT {COMMAND_COLUMNS} FROM agent_commands WHERE tenant_id = ? AND id = ?",
                 (tenant_id, command_id))


def cancel_command(c: Conn, tenant_id: int, command_id: int) -> bool:
    return c.value("UPDATE agent_commands SET status = 'cancelled' WHERE tenant_id = ? AND id = ? "
                   "AND status = 'queued' RETURNING id", (tenant_id, command_id)) is not None
