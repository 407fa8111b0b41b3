-- EU Digital COVID Certificates (HC1:): the DCC trust list of Document Signer Certificates, and
-- what a recorded decision says of a DCC (never a name, a birth date or a certificate id).

-- Signers only ever join the list; change_seq is the offline snapshots' sequence, so a device
-- asking for changes after version N gets the signers added since.
CREATE TABLE verification.dcc_signers (
    key_id      bytea PRIMARY KEY CHECK (length(key_id) = 8),  -- SHA-256(certificate)[0:8]
    country     char(2) NOT NULL,
    certificate bytea NOT NULL,                                -- X.509 DER
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    import_time timestamptz NOT NULL,
    change_seq  bigint NOT NULL DEFAULT nextval('verification.change_seq')
);
CREATE INDEX dcc_signers_change_seq ON verification.dcc_signers (change_seq);

-- For a DCC decision: the issuing country and the kind (v, t or r); NULL for our own codes.
ALTER TABLE verification.decisions ADD COLUMN dcc_country char(2);
ALTER TABLE verification.decisions ADD COLUMN dcc_kind char(1) CHECK (dcc_kind IN ('v', 't', 'r'));
