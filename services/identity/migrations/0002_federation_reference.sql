-- The federation person reference: a keyed hash of the document that every province of
-- the federation computes alike (documents.federation_reference), exchanged in red/yellow
-- lists and carried in codes instead of any document number. NULL for persons registered
-- before it existed, until `healthcode reseal` fills it in. Not unique: it names a
-- document, and a person with two documents has two references.
ALTER TABLE identity.persons
    ADD COLUMN federation_ref bytea CHECK (length(federation_ref) = 16);
CREATE INDEX persons_federation_ref ON identity.persons (federation_ref);
