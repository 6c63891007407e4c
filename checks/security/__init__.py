"""security: bandit and committed secrets in the repository, and safe GET-only probes of the service
(authentication, credential exposure, CORS, verbose errors, headers, rate limiting)."""

from checks.security.check import SecurityCheck

__all__ = ["SecurityCheck"]
