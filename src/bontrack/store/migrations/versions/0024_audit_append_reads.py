"""PostgreSQL: read events inserted and chained by one function call (one round trip)

A batch of read events (the timeline's fast lane, issue 16) took three round trips from the
server: BEGIN with the chain's lock and head, the INSERT, COMMIT; with the event loop busy
between them, most of a GET's time and half its CPU. ``audit_append_reads(events, lock,
most)`` does the same work inside the database, in the one implicit transaction of a
``SELECT`` in autocommit: it tries the chain's advisory lock (never waits for it); when it
has it, it places the events committed unchained meanwhile (fewer than ``most``; with more,
it places ``most`` and leaves the rest), then inserts the batch chained after them;
otherwise it inserts the batch unchained for the chainer.

``audit_event_hash`` is ``store.audit_chain.event_hash`` in SQL: the same text, hashed the
same way (sha256 of its UTF-8 bytes, hex). It gives NULL where the two might differ (an
event before the year 1000, whose year Python wrote unpadded), and the function then leaves
the rest unchained for Python's chainer. ``audit verify`` still checks every hash in Python,
and a test compares the two on generated events.

Each statement inside a plpgsql function takes its own snapshot (read committed), so the
head is read after the lock was taken, as ``place_batch_async`` ensured by sending it as a
statement of its own. SQLite has no functions of this kind and keeps its own path.

Revision ID: 0024
Revises: 0023
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

#: ``event_hash``'s text: prev|at|user_id|clinic_id|action|entity|entity_id|patient_id|
#: outcome|detail, None written as Python writes it, the time as ``audit_chain._stamp``.
HASH = r"""
CREATE OR REPLACE FUNCTION audit_event_hash(
    prev text, at timestamptz, user_id integer, clinic_id integer, action text,
    entity text, entity_id integer, patient_id integer, outcome text, detail text)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN at >= timestamptz '1000-01-01 00:00:00+00' THEN encode(sha256(convert_to(
        coalesce(prev, 'None') || '|'
        || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|'
        || coalesce(user_id::text, 'None') || '|'
        || coalesce(clinic_id::text, 'None') || '|'
        || coalesce(action, 'None') || '|'
        || coalesce(entity, 'None') || '|'
        || coalesce(entity_id::text, 'None') || '|'
        || coalesce(patient_id::text, 'None') || '|'
        || coalesce(outcome, 'None') || '|'
        || coalesce(detail, 'None'), 'UTF8')), 'hex') END
$$
"""

APPEND = r"""
CREATE OR REPLACE FUNCTION audit_append_reads(events json, lock_key bigint, most integer)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    seq bigint;
    prev text;
    digest text;
    chaining boolean;
    e record;
    waited integer := 0;
BEGIN
    chaining := pg_try_advisory_xact_lock(lock_key);  -- else another chainer is at work
    IF chaining THEN
        SELECT h.chain_seq, h.hash INTO seq, prev FROM audit_events AS h
        WHERE h.chain_seq IS NOT NULL ORDER BY h.chain_seq DESC LIMIT 1;
        IF seq IS NULL THEN
            seq := 0;
            prev := repeat('0', 64);
        END IF;
        -- events committed unchained meanwhile, in id order, as chain_pending places them
        FOR e IN SELECT w.id, w.at, w.user_id, w.clinic_id, w.action, w.entity,
                        w.entity_id, w.patient_id, w.outcome, w.detail
                 FROM audit_events AS w WHERE w.chain_seq IS NULL ORDER BY w.id
                 LIMIT most LOOP
            digest := audit_event_hash(prev, e.at, e.user_id, e.clinic_id, e.action,
                                       e.entity, e.entity_id, e.patient_id, e.outcome,
                                       e.detail);
            IF digest IS NULL THEN  -- this one and all after it: Python's chainer's
                chaining := false;
                EXIT;
            END IF;
            seq := seq + 1;
            UPDATE audit_events SET chain_seq = seq, prev_hash = prev, hash = digest
            WHERE id = e.id;
            prev := digest;
            waited := waited + 1;
        END LOOP;
        IF waited >= most THEN  -- more may wait: the batch goes after them, unchained
            chaining := false;
        END IF;
    END IF;
    -- the batch, in its order: chained after them while that holds, else unchained
    FOR e IN SELECT r.at, r.user_id, r.clinic_id, r.action, r.entity, r.entity_id,
                    r.patient_id, r.outcome, r.detail
             FROM json_populate_recordset(NULL::audit_events, events) WITH ORDINALITY AS r
             ORDER BY r.ordinality LOOP
        IF chaining THEN
            digest := audit_event_hash(prev, e.at, e.user_id, e.clinic_id, e.action,
                                       e.entity, e.entity_id, e.patient_id, e.outcome,
                                       e.detail);
            chaining := digest IS NOT NULL;
        END IF;
        IF chaining THEN
            seq := seq + 1;
            INSERT INTO audit_events (at, user_id, clinic_id, action, entity, entity_id,
                                      patient_id, outcome, detail, chain_seq, prev_hash,
                                      hash)
            VALUES (e.at, e.user_id, e.clinic_id, e.action, e.entity, e.entity_id,
                    e.patient_id, e.outcome, e.detail, seq, prev, digest);
            prev := digest;
        ELSE
            INSERT INTO audit_events (at, user_id, clinic_id, action, entity, entity_id,
                                      patient_id, outcome, detail)
            VALUES (e.at, e.user_id, e.clinic_id, e.action, e.entity, e.entity_id,
                    e.patient_id, e.outcome, e.detail);
        END IF;
    END LOOP;
    RETURN chaining;
END;
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(HASH)
    op.execute(APPEND)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS audit_append_reads(json, bigint, integer)")
    op.execute("DROP FUNCTION IF EXISTS audit_event_hash(text, timestamptz, integer, integer,"
               " text, text, integer, integer, text, text)")
