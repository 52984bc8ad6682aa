-- The e-mail channel of the service desk: mailboxes (IMAP or the built-in SMTP receiver), which sender domains
-- belong to which organization, every Message-ID we took in or sent (threading), a log of what each inbound
-- message became, and the outbox of ticket e-mail.
CREATE TABLE mailboxes (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    address TEXT NOT NULL,                    -- the support address customers write to, lower-case
    kind TEXT NOT NULL,                       -- imap: fetched; smtp: received by the built-in SMTP receiver
    imap_host TEXT NOT NULL DEFAULT '',
    imap_port BIGINT NOT NULL DEFAULT 993,
    imap_security TEXT NOT NULL DEFAULT 'tls',  -- tls, starttls
    imap_verify BIGINT NOT NULL DEFAULT 1,    -- check the server's certificate
    imap_username TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL DEFAULT '',          -- the IMAP password, encrypted (core/crypto.Keyring)
    folder TEXT NOT NULL DEFAULT 'INBOX',
    processed TEXT NOT NULL DEFAULT 'move',   -- move (to move_to) or flag (\Seen) fetched mail
    move_to TEXT NOT NULL DEFAULT 'Processed',
    poll_seconds BIGINT NOT NULL DEFAULT 60,
    organization_id BIGINT NOT NULL REFERENCES organizations(id),  -- unknown senders' tickets go here
    create_contacts BIGINT NOT NULL DEFAULT 1,
    reopen_days BIGINT NOT NULL DEFAULT 14,   -- a reply to a ticket closed longer ago opens a new one
    enabled BIGINT NOT NULL DEFAULT 1,
    last_polled_at BIGINT,
    polling_until BIGINT,                     -- a fetch holds the mailbox until then (one fetch at a time)
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE UNIQUE INDEX mailboxes_address ON mailboxes (address);  -- one tenant per support address

CREATE TABLE mail_domains (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,                     -- lower-case, e.g. customer.com
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, domain)
);

CREATE TABLE ticket_messages (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    comment_id BIGINT REFERENCES ticket_comments(id) ON DELETE SET NULL,
    message_id TEXT NOT NULL,                 -- with its angle brackets
    direction TEXT NOT NULL,                  -- in, out
    sender TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ticket_messages_id ON ticket_messages (tenant_id, message_id);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, id);

CREATE TABLE mail_log (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    mailbox_id BIGINT REFERENCES mailboxes(id) ON DELETE SET NULL,
    message_id TEXT NOT NULL DEFAULT '',
    sender TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,                    -- created, appended, reopened, duplicate, ignored, rejected, failed
    ticket_id BIGINT REFERENCES tickets(id) ON DELETE SET NULL,
    reason TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX mail_log_mailbox ON mail_log (tenant_id, mailbox_id, id);
CREATE INDEX mail_log_sender ON mail_log (tenant_id, sender, at);

CREATE TABLE ticket_mail_outbox (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    comment_id BIGINT REFERENCES ticket_comments(id) ON DELETE SET NULL,
    message TEXT NOT NULL,                    -- the whole message as sent (RFC 5322 text)
    recipients TEXT NOT NULL,                 -- JSON list
    message_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',    -- queued, sent, failed
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX ticket_mail_outbox_due ON ticket_mail_outbox (status, next_attempt_at);
CREATE INDEX ticket_mail_outbox_ticket ON ticket_mail_outbox (tenant_id, ticket_id, id);

-- A tenant's own outgoing mail server (else the appliance's smtp_* settings) and its message templates.
CREATE TABLE tenant_smtp (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    port BIGINT NOT NULL DEFAULT 587,
    security TEXT NOT NULL DEFAULT 'starttls',  -- starttls, tls, none
    username TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL DEFAULT '',          -- the password, encrypted
    sender TEXT NOT NULL                      -- the From address of ticket e-mail
);

CREATE TABLE mail_templates (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                       -- reply (a technician's public reply), created (acknowledges a new ticket)
    subject TEXT NOT NULL,
    body TEXT NOT NULL,                       -- Jinja, rendered in a sandbox; text (the HTML part is made from it)
    enabled BIGINT NOT NULL DEFAULT 1,        -- for 'created': send acknowledgements at all
    PRIMARY KEY (tenant_id, kind)
);
