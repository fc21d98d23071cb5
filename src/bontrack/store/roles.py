"""PostgreSQL: the server runs as an application role that reads and writes rows but cannot
change the schema. Migrations run as the owner (``bontrack db upgrade``); the application
role is granted SELECT, INSERT, UPDATE and DELETE on the tables and USAGE on the sequences,
now and (default privileges) for tables later migrations create, and nothing else: no
TRUNCATE (it would bypass the audit trail's row triggers), no TRIGGER, no REFERENCES, and
as a non-owner it can neither ALTER nor DROP a table or a trigger. The audit trail's
append-only triggers therefore hold against the server's own account."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from bontrack.errors import BontrackError

ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Grant ``role`` the application's rights (run as the schema's owner); returns the
    statements run. The role must exist (``CREATE ROLE ... LOGIN PASSWORD ...``)."""
    if engine.dialect.name != "postgresql":
        raise BontrackError("an application role is a PostgreSQL feature; SQLite has one "
                            "file and its owner")
    if not ROLE.match(role):
        raise BontrackError(f"role: {role!r} is not a plain PostgreSQL role name "
                            "(lower-case letters, digits, underscore)")
    with engine.begin() as c:
        if c.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is None:
            raise BontrackError(f"role: no PostgreSQL role {role!r}; create it first "
                                f"(CREATE ROLE {role} LOGIN PASSWORD '...')")
        owner = c.scalar(text("SELECT current_user"))
        if owner == role:
            raise BontrackError("role: run this as the schema's owner, not as the "
                                "application role")
        database = c.scalar(text("SELECT current_database()"))
        statements = [
            f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"REVOKE CREATE ON SCHEMA public FROM {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE "
            f"ON TABLES TO {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES "
            f"TO {role}",
        ]
        for statement in statements:
            c.execute(text(statement))
    return statements
