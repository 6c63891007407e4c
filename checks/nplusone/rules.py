"""The nplusone check's rule catalogue: rule id, title, default severity, what it means and how to fix it.
docs/checks/nplusone.md mirrors it (a test keeps them in step). Rule ids are stable: never renumber."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.catalogue import Catalogue
from auditor.model import Severity

DOCS = "docs/checks/nplusone.md"


@dataclass(frozen=True)
class Rule:
    """A catalogue rule (see auditor.catalogue) that also says what it means; its own type because
    ``meaning`` comes before ``remediation`` in the rule list."""

    id: str
    title: str
    severity: Severity
    meaning: str
    remediation: str


_RULES = (
    Rule("NPQ001", "Potential N+1 query", Severity.MEDIUM,
         "One request ran the same statement shape at least 5 times with different values: typically one "
         "query per item of a list (lazy loading of a relation). Raised to high when the repeats grow with "
         "the page size (confirmed by requesting two page sizes) or take 50 ms or more in total; lowered "
         "to low when the count stays the same at both page sizes.",
         "Load the related rows for the whole page at once: a batched `WHERE id IN (...)` query or a JOIN "
         "instead of one query per item. SQLAlchemy: `selectinload()` (collections, many-to-one) or "
         "`joinedload()` on the query's options; Django: `select_related()` (foreign keys) or "
         "`prefetch_related()` (reverse and many-to-many); other ORMs: their eager-loading option "
         "(Rails `includes`, Hibernate `JOIN FETCH`/batch size, Prisma `include`)."),
    Rule("NPQ002", "Repeated query below the N+1 threshold", Severity.INFO,
         "The same shape ran 3 or 4 times with different values in one request: an N+1 on a short list, "
         "or deliberate lookups. Worth a look before the list grows.",
         "If the repeats follow the items of a list, eager-load the relation as for NPQ001; if they are "
         "deliberate, nothing to do."),
    Rule("NPQ003", "Duplicate query", Severity.LOW,
         "The same statement with the same values ran at least twice in one request: work done twice. "
         "Raised to medium when the duplicates take 50 ms or more in total.",
         "Reuse the first result: keep it in a local variable or the request scope, use the ORM's identity "
         "map (SQLAlchemy `Session.get()` instead of a new query; Django: evaluate the queryset once), or "
         "cache the lookup for the request."),
    Rule("NPQ004", "Repeating group of queries (MN+1)", Severity.MEDIUM,
         "A group of 2-8 different statements ran back to back at least 3 times in one request: several "
         "relations lazily loaded per item (Sentry calls it MN+1). Severity raised as for NPQ001.",
         "Eager-load every relation the loop touches in the list query (SQLAlchemy `selectinload()` per "
         "relation, Django `prefetch_related()`/`select_related()` with every relation named), or batch "
         "each lookup with `WHERE id IN (...)`."),
    Rule("NPQ010", "SQL capture incomplete", Severity.INFO,
         "Part of the SQL could not be read or attributed (lines the parser could not read, a log rotated "
         "during the audit, requests that got no response), so some requests were judged on fewer "
         "statements than they ran.",
         "Give the check a log it can read whole: --sql-log with the file the service writes its SQL log "
         "to, or --db-url (PostgreSQL, superuser) for server-side capture; keep log rotation off while "
         "auditing."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
make_finding = CATALOGUE.finding
