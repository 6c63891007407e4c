"""The dependencies check's rule catalogue: every rule id, its title, default severity and remediation.
Findings are built from it and docs/checks/dependencies.md mirrors it (a test keeps them in step).

Rule ids are stable: never renumber, only add.
"""

from __future__ import annotations

from auditor.catalogue import Catalogue, Rule
from auditor.model import Severity

DOCS = "docs/checks/dependencies.md"


_RULES = (
    # Vulnerable dependencies.
    Rule("DEP001", "Vulnerable dependency with a fix available", Severity.HIGH,
         "Upgrade the package to a fixed version (the lowest one listed that your code supports) in every "
         "manifest and lock file that pins it, re-lock, and redeploy. If the vulnerable code path is "
         "provably unused, record the accepted risk with an expiry in the audit's ignore file instead."),
    Rule("DEP002", "Vulnerable dependency with no fixed version", Severity.MEDIUM,
         "No release fixes this advisory yet. Read the advisory for mitigations (configuration, input "
         "validation, disabling the affected feature), consider replacing the package, and watch the "
         "advisory for a fix. Severity follows the advisory's CVSS score where it has one."),
    # What could not be audited.
    Rule("DEP010", "Unpinned dependency (not audited)", Severity.LOW,
         "Only an exact version can be checked against advisories, and only an exact version deploys "
         "reproducibly. Pin it (name==version) or commit a lock file (uv.lock, poetry.lock, Pipfile.lock, "
         "pylock.toml, or a pip-compile'd requirements.txt) that pins it."),
    Rule("DEP011", "Unparsable requirement", Severity.MEDIUM,
         "The line is not a valid PEP 508 requirement or pip option, so pip would reject it too, and "
         "the dependency it meant was not audited. Fix the line (name[extras] specifier ; marker)."),
    Rule("DEP012", "Unreadable dependency manifest", Severity.MEDIUM,
         "The manifest or lock file could not be read (not UTF-8, not valid TOML/JSON, too large, a "
         "symlink leaving the repository, or not a regular file: a FIFO, device or directory), so none "
         "of its dependencies were audited. Regenerate the lock file with its tool, or fix the file."),
    Rule("DEP020", "Dependencies not audited", Severity.MEDIUM,
         "The vulnerability source could not check these packages (no network, the service did not know "
         "them, or the source failed), so nothing is known about them: this is not a pass. Run the audit "
         "where PyPI/OSV is reachable, or give an offline OSV database with --vuln-db DIR (for example "
         "a checkout of github.com/pypa/advisory-database, or OSV's PyPI export unpacked)."),
    Rule("DEP030", "Malformed vulnerability records", Severity.LOW,
         "Some records of the offline OSV database could not be read and were left out, so advisories "
         "may be missing. Re-download the database; each record must be an OSV JSON or YAML object with "
         "an id and affected[].package.{ecosystem,name}."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
make_finding = CATALOGUE.finding
