-- The rest of the OAuth surface (identical on SQLite and PostgreSQL).

-- Reuse grace window: how often a rotated refresh token was presented again
-- within the window. Bounded per token, and counted by a conditional update
-- so concurrent replays in several instances cannot exceed the bound.
ALTER TABLE refresh_tokens ADD COLUMN grace_replays BIGINT NOT NULL DEFAULT 0;

-- Finding the successor of a rotated token (the grace window).
CREATE INDEX refresh_tokens_parent_hash ON refresh_tokens (parent_hash);
