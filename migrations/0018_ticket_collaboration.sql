-- Ticket collaboration: parent/child and related links, merges, CCs, attachments, in-app notifications
-- (@mentions) and full-text search over tickets and comments.

-- One link per pair of tickets. parent: other_id is ticket_id's parent (a ticket has at most one);
-- related: stored once, with ticket_id < other_id.
CREATE TABLE ticket_links (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    other_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                      -- parent, related
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ticket_links_pair ON ticket_links (ticket_id, other_id);
CREATE UNIQUE INDEX ticket_links_one_parent ON ticket_links (ticket_id) WHERE kind = 'parent';
CREATE INDEX ticket_links_other ON ticket_links (other_id);

-- A merged ticket is closed and points at the ticket that took its comments, time, devices and CCs.
CREATE TABLE ticket_merges (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    survivor_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    merged_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    merged_at BIGINT NOT NULL
);
CREATE INDEX ticket_merges_survivor ON ticket_merges (survivor_id);

-- People copied on a ticket: an address, or a contact (its address at the time it was added).
CREATE TABLE ticket_ccs (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    email TEXT NOT NULL,                     -- lower-cased
    contact_id BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, email)
);

-- Files live in <data_dir>/attachments/<tenant_id>/<storage_name>; the client's name is only shown.
CREATE TABLE ticket_attachments (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    comment_id BIGINT REFERENCES ticket_comments(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_name TEXT NOT NULL,              -- server-generated, random
    uploaded_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_attachments_ticket ON ticket_attachments (tenant_id, ticket_id);
CREATE UNIQUE INDEX ticket_attachments_storage ON ticket_attachments (storage_name);

-- In-app notifications of a person (kind 'mention' for now); read_at NULL: unread.
CREATE TABLE user_notifications (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets(id) ON DELETE CASCADE,
    comment_id BIGINT REFERENCES ticket_comments(id) ON DELETE CASCADE,
    actor TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX user_notifications_user ON user_notifications (tenant_id, user_id, read_at, id);

-- Full-text search. SQLite: FTS5 tables over the rows (external content) kept current by triggers.
-- if sqlite
CREATE VIRTUAL TABLE ticket_fts USING fts5(number, subject, description, content='tickets', content_rowid='id',
                                           tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER ticket_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_fts (rowid, number, subject, description) VALUES (new.id, new.number, new.subject, new.description);
END;
CREATE TRIGGER ticket_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO ticket_fts (ticket_fts, rowid, number, subject, description)
        VALUES ('delete', old.id, old.number, old.subject, old.description);
END;
CREATE TRIGGER ticket_fts_update AFTER UPDATE OF number, subject, description ON tickets BEGIN
    INSERT INTO ticket_fts (ticket_fts, rowid, number, subject, description)
        VALUES ('delete', old.id, old.number, old.subject, old.description);
    INSERT INTO ticket_fts (rowid, number, subject, description) VALUES (new.id, new.number, new.subject, new.description);
END;
INSERT INTO ticket_fts (ticket_fts) VALUES ('rebuild');

CREATE VIRTUAL TABLE ticket_comment_fts USING fts5(body, content='ticket_comments', content_rowid='id',
                                                   tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER ticket_comment_fts_insert AFTER INSERT ON ticket_comments BEGIN
    INSERT INTO ticket_comment_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER ticket_comment_fts_delete AFTER DELETE ON ticket_comments BEGIN
    INSERT INTO ticket_comment_fts (ticket_comment_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER ticket_comment_fts_update AFTER UPDATE OF body ON ticket_comments BEGIN
    INSERT INTO ticket_comment_fts (ticket_comment_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO ticket_comment_fts (rowid, body) VALUES (new.id, new.body);
END;
INSERT INTO ticket_comment_fts (ticket_comment_fts) VALUES ('rebuild');
-- end

-- PostgreSQL: generated tsvector columns with GIN indexes. ASCII punctuation becomes a space first, so
-- "T-1042" and "ann@example.com" are words the way SQLite's tokenizer sees them ('simple': no stemming,
-- like unicode61).
-- if postgresql
ALTER TABLE tickets ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple',
    regexp_replace(number || ' ' || subject || ' ' || description, '[[:punct:]]+', ' ', 'g'))) STORED;
CREATE INDEX tickets_search ON tickets USING GIN (search_vector);
ALTER TABLE ticket_comments ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple',
    regexp_replace(body, '[[:punct:]]+', ' ', 'g'))) STORED;
CREATE INDEX ticket_comments_search ON ticket_comments USING GIN (search_vector);
-- end
