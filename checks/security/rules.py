"""The security check's rule catalogue: every rule id, its title, default severity and remediation.
Findings are built from it and docs/checks/security.md mirrors it (a test keeps them in step).

Rule ids are stable: never renumber, only add. A rule's severity is its default; SEC001 (bandit) takes
its severity from bandit's severity × confidence and SEC012 from what the .env file holds.
"""

from __future__ import annotations

from auditor.catalogue import Catalogue, Rule
from auditor.model import Severity

DOCS = "docs/checks/security.md"


_RULES = (
    # Repository: code.
    Rule("SEC001", "Insecure code pattern (bandit)", Severity.HIGH,
         "Read bandit's explanation of the test id named in the finding (bandit.readthedocs.io, plugin "
         "list) and fix the code. If the pattern is safe here, mark the line `# nosec BXXX` with a comment "
         "saying why, or skip the test in the repo's bandit config ([tool.bandit] skips or .bandit): the "
         "finding then shows as suppressed."),
    Rule("SEC002", "Python file bandit could not scan", Severity.LOW,
         "bandit could not parse this file (syntax error, wrong encoding declaration, not Python 3), so it "
         "was not checked. Make it valid Python 3 with a correct `# -*- coding -*-` line, or exclude it in "
         "the repo's bandit config if it is not meant to be Python."),
    Rule("SEC003", "Files not scanned", Severity.INFO,
         "These files were left out on purpose: larger than max_file_mb, symlinks pointing outside the "
         "repository (never followed), or unreadable. Raise [tool.auditor.security] max_file_mb to scan "
         "large files; replace outside symlinks by real files if they are part of the code."),
    # Repository: secrets.
    Rule("SEC010", "Secret committed in source", Severity.HIGH,
         "Revoke and rotate the credential now (it is in the history even after a fix), then load it from "
         "the environment or a secret manager at run time. Remove it from history with git filter-repo if "
         "the repository is shared. A false positive (test fixture, example) can be marked "
         "`# pragma: allowlist secret` on the line."),
    Rule("SEC011", "Private key committed", Severity.CRITICAL,
         "Treat the key as compromised: revoke it (certificate, deploy key, SSH key), issue a new one and "
         "keep it out of the repository (secret manager, mounted file, CI secret). Add the file pattern to "
         ".gitignore and purge it from history."),
    Rule("SEC012", "Environment file committed", Severity.HIGH,
         "A .env file holds deployment configuration and usually credentials. Remove it from the "
         "repository, rotate every secret it held, add `.env*` to .gitignore and commit a `.env.example` "
         "with empty or placeholder values instead."),
    Rule("SEC013", "Cloud or service access token committed", Severity.CRITICAL,
         "Revoke the token at its provider (AWS IAM, GitHub, Slack, Stripe...) immediately: such tokens "
         "are harvested from public repositories within minutes. Issue a new one with least privilege and "
         "inject it at run time; purge the old one from history."),
    Rule("SEC014", "High-entropy string (possible secret)", Severity.MEDIUM,
         "A long random-looking string sits in the code or config. If it is a credential, treat it as "
         "SEC010 (rotate, move to the environment). If it is not (a hash, an id, test data), mark the line "
         "`# pragma: allowlist secret`."),
    # Service: authentication and authorisation.
    Rule("SEC020", "Secured operation answers anonymous callers", Severity.HIGH,
         "The spec declares security on this operation but it answered 2xx without any credential. Add "
         "the authentication dependency/middleware to the route (FastAPI: Depends on the security scheme; "
         "Django: permission_classes; Spring: an authorize rule) and test that it answers 401."),
    Rule("SEC021", "Secured operation accepts an invalid credential", Severity.CRITICAL,
         "The operation answered 2xx to a malformed, unsigned token. The credential is not verified: "
         "validate signatures, algorithms (never `none`), expiry and issuer on every request, and answer "
         "401 otherwise."),
    Rule("SEC025", "Credential material exposed to anonymous callers", Severity.HIGH,
         "A response given without any credential carries password hashes, tokens or secrets (often of other "
         "users: an author object serialised with every column). Anyone can collect them and crack or replay "
         "them. Serialise responses through an explicit output schema that lists public fields only "
         "(FastAPI response_model, DRF serializer fields, a DTO), never the ORM object; rotate what was "
         "exposed (force password resets, revoke tokens)."),
    # Service: CORS.
    Rule("SEC022", "CORS reflects any origin with credentials", Severity.HIGH,
         "Any web site can read this API's responses with the visitor's cookies or credentials. Allow an "
         "explicit list of trusted origins (never echo the Origin header back) or drop "
         "Access-Control-Allow-Credentials."),
    Rule("SEC023", "CORS allows the null origin with credentials", Severity.HIGH,
         "`Origin: null` is sent by sandboxed iframes and local files, which any attacker can create. "
         "Never put `null` in the allowed origins list when credentials are allowed."),
    Rule("SEC024", "CORS reflects any origin", Severity.LOW,
         "The service echoes whatever Origin it is sent. Without credentials this exposes only public "
         "data, but it usually means the allow-list is a wildcard by accident. Configure the allowed "
         "origins explicitly."),
    # Service: error handling.
    Rule("SEC030", "Stack trace or debug page in an error response", Severity.HIGH,
         "The service shows internals (stack trace, file paths, framework debug page) to any caller who "
         "sends a malformed value. Turn debug mode off in production (DEBUG=False, FLASK_DEBUG=0, "
         "--reload off), install a catch-all error handler that answers a generic body and logs the "
         "details server-side with a request id, and validate input before using it."),
    Rule("SEC031", "Internal error details in an error response", Severity.MEDIUM,
         "The error body names database or exception internals (SQL errors, exception class names). Log "
         "them server-side and answer a generic message with a request id instead."),
    # Service: headers.
    Rule("SEC040", "Version banner in response headers", Severity.LOW,
         "Server / X-Powered-By headers naming software versions help attackers pick exploits. Remove them "
         "(uvicorn --no-server-header, gunicorn/nginx server_tokens off, Express app.disable('x-powered-by'))."),
    Rule("SEC041", "Missing X-Content-Type-Options: nosniff", Severity.LOW,
         "Without it browsers may sniff a response as HTML or script. Add `X-Content-Type-Options: nosniff` "
         "to every response (a middleware or the reverse proxy)."),
    Rule("SEC042", "Authenticated response may be cached", Severity.MEDIUM,
         "A response to an authenticated request lacks `Cache-Control: no-store`, so browsers and shared "
         "caches may keep personal data. Send `Cache-Control: no-store` on authenticated responses (OWASP "
         "REST Security Cheat Sheet)."),
    Rule("SEC043", "No HSTS over https", Severity.MEDIUM,
         "An https service without Strict-Transport-Security can be downgraded to http by a network "
         "attacker. Send `Strict-Transport-Security: max-age=31536000; includeSubDomains`."),
    # Service: rate limiting.
    Rule("SEC050", "No rate limiting under a burst", Severity.MEDIUM,
         "A capped burst of requests from one client got no 429. Add per-client rate limiting (a "
         "middleware such as slowapi, or the gateway) answering 429 with Retry-After."),
    Rule("SEC051", "429 without Retry-After", Severity.LOW,
         "Rate-limited answers should say when to retry (RFC 9110 Retry-After, in seconds), or well-behaved "
         "clients retry at once and make the overload worse."),
    Rule("SEC052", "No sign of rate limiting", Severity.LOW,
         "No response carried rate-limit headers (RateLimit-*, X-RateLimit-*, Retry-After). If the service "
         "is rate limited elsewhere (gateway), announce the limits in headers; otherwise add rate "
         "limiting. Confirm with the opt-in burst probe: [tool.auditor.security] rate_limit_burst = N."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
make_finding = CATALOGUE.finding
