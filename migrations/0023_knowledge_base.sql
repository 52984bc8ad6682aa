-- The knowledge base: Markdown articles in categories, internal (staff) or public (also in the client portal),
-- every saved version kept, linked to tickets, and searched in full text (SQLite FTS5 / PostgreSQL tsvector).
CREATE TABLE kb_categories (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE kb_articles (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    category_id BIGINT REFERENCES kb_categories(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',           -- Markdown
    visibility TEXT NOT NULL DEFAULT 'internal',  -- internal (staff only) or public (also contacts in the portal)
    version BIGINT NOT NULL DEFAULT 1,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX kb_articles_tenant ON kb_articles (tenant_id, visibility, updated_at);

CREATE TABLE kb_versions (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    visibility TEXT NOT NULL,
    edited_by TEXT NOT NULL DEFAULT '',
    edited_at BIGINT NOT NULL,
    UNIQUE (article_id, version)
);

CREATE TABLE ticket_articles (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, article_id)
);

-- if sqlite
CREATE VIRTUAL TABLE kb_fts USING fts5(title, body, content='kb_articles', content_rowid='id',
                                       tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER kb_articles_fts_insert AFTER INSERT ON kb_articles BEGIN
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER kb_articles_fts_delete AFTER DELETE ON kb_articles BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER kb_articles_fts_update AFTER UPDATE OF title, body ON kb_articles BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
-- end
-- if postgresql
ALTER TABLE kb_articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')) STORED;
CREATE INDEX kb_articles_search ON kb_articles USING GIN (search);
-- end
