-- Background compaction: a commit appends new changes to a document's stored bytes and counts
-- them here; the compaction job re-saves documents with appended changes and resets the count.
ALTER TABLE docs ADD COLUMN appended INTEGER NOT NULL DEFAULT 0;
CREATE INDEX docs_appended ON docs (appended) WHERE appended > 0;
