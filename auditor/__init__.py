"""backend-auditor: a production-readiness auditor for backend services."""

__version__ = "0.1.0"
