-- What a provider key attests: a face check (1) or a family relation from the household
-- register (2). A key attests one thing only, so a face-check provider cannot vouch for a
-- guardianship. Keys registered before kinds existed are face-check keys.
ALTER TABLE identity.face_provider_keys
    ADD COLUMN kind smallint NOT NULL DEFAULT 1 CHECK (kind IN (1, 2));
