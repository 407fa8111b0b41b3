-- Other provinces name our persons by their federation reference (red/yellow list records,
-- fevers read on our codes): status finds whom they mean by it, many at a time.
CREATE INDEX persons_person_ref ON status.persons (person_ref) WHERE person_ref IS NOT NULL;
