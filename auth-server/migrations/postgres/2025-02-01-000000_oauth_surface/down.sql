DROP INDEX refresh_tokens_parent_hash;
ALTER TABLE refresh_tokens DROP COLUMN grace_replays;
