-- OAuth tokens of a mailbox, encrypted (ChaCha20-Poly1305: nonce || ciphertext); what is safe
-- to show (connected, expiry, scopes) lives in the subchannel's config.
ALTER TABLE settings.subchannel ADD COLUMN oauth_tokens bytea;
