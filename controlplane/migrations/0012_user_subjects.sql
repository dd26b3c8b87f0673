-- Single sign-on users are bound to the account at the provider that first signed in under their name: its issuer
-- and `sub` (the provider's stable, unique id of the person). A later sign-in under that name from another
-- account (someone who changed their username or email at the provider to this one) is refused.
ALTER TABLE users ADD COLUMN subject TEXT;
