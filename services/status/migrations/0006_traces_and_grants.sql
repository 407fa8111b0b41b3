-- Contact traces are an officer's act: the audit entry of a traced contact names the trace
-- (officer_ids and legal_basis name the tracer and the basis, as for overrides).
ALTER TABLE status.audit_log ADD COLUMN trace_id text NOT NULL DEFAULT '';

-- Roles are granted by an administrator (never the grantee); who granted them is kept.
ALTER TABLE status.officers ADD COLUMN granted_by text NOT NULL DEFAULT '';
