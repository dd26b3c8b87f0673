-- Idempotency keys are claimed before their request runs (state 'processing', with the claim's token) and
-- filled in with the response when it succeeds ('done'); a key belongs to one method and path. Keys recorded
-- before this version hashed the raw body bytes and knew no method or path, so they are forgotten.
DELETE FROM idempotency;
ALTER TABLE idempotency ADD COLUMN method TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency ADD COLUMN path TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency ADD COLUMN state TEXT NOT NULL DEFAULT 'done';
ALTER TABLE idempotency ADD COLUMN claim TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
