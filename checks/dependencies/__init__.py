"""dependencies: vulnerable dependencies (rule ids DEP###).

Gather (manifests.py reads the repo's requirements files, pyproject.toml, Pipfile and lock files; a source
in sources/ — pip-audit online or a local OSV database — checks the exact pins), then judge (judge.py,
pure). Rules: rules.py, mirrored in docs/checks/dependencies.md."""

from checks.dependencies.check import DependenciesCheck
from checks.dependencies.config import DependenciesConfig

__all__ = ["DependenciesCheck", "DependenciesConfig"]
