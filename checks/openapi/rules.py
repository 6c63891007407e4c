"""The openapi check's rule catalogue: every rule id with its title, default severity and remediation.
Findings are built from it and docs/checks/openapi.md mirrors it (a test keeps them in step).

Numbering: OAS00x the document itself · OAS01x-04x completeness (document-wide, then per operation) ·
OAS09x about the conformance run · OAS1xx-4xx conformance failures, numbered like the schemathesis
failure code they come from (ST103 → OAS103) · OAS5xx breaking changes against --baseline.
Rule ids are stable: never renumber, only add.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.catalogue import Catalogue
from auditor.catalogue import Rule as CatalogueRule
from auditor.model import Severity

DOCS = "docs/checks/openapi.md"


@dataclass(frozen=True)
class Rule(CatalogueRule):
    # Completeness rules only: "document" (judged once) or "operation" (judged per operation).
    scope: str = ""


_RULES = (
    # --- the document ---------------------------------------------------------------------------
    Rule("OAS001", "OpenAPI document is invalid", Severity.HIGH,
         "Fix the document so that openapi-spec-validator accepts it (the message names the failing part): "
         "clients, generators and gateways reject or misread an invalid document. The audit still judged "
         "what it could read."),
    Rule("OAS002", "OpenAPI document declares no operations", Severity.HIGH,
         "The document has no paths with operations, so nothing about the API is documented. Generate it from "
         "the framework (FastAPI, drf-spectacular, springdoc) or write the paths."),
    # --- completeness: document-wide ------------------------------------------------------------
    Rule("OAS010", "API description, contact or licence missing", Severity.LOW,
         "Fill info.description (what the API is for), info.contact (who answers for it) and info.license: "
         "consumers need to know whom to ask and under which terms they may use it.", "document"),
    Rule("OAS011", "No servers declared", Severity.LOW,
         "Declare servers (a relative URL such as \"/\" or \"/api\" is valid wherever the service runs) so "
         "tools know the base path of every operation.", "document"),
    Rule("OAS012", "$ref that does not resolve", Severity.MEDIUM,
         "Every $ref must point at an existing local component (#/components/...). An unresolved reference "
         "makes generators fail and hides the schema it should document.", "document"),
    Rule("OAS013", "Unused component", Severity.LOW,
         "Remove components nobody references, or reference them where they belong: dead schemas mislead "
         "readers about what the API sends.", "document"),
    Rule("OAS014", "Security scheme defined but never applied", Severity.MEDIUM,
         "A security scheme that no operation (and no global security) uses says nothing about which "
         "operations need credentials. Apply it with `security` on the operations that require it, or "
         "remove it.", "document"),
    # --- completeness: per operation ------------------------------------------------------------
    Rule("OAS020", "Operation without summary", Severity.LOW,
         "Give every operation a one-line summary: it is the operation's name in docs and generated clients.",
         "operation"),
    Rule("OAS021", "Operation without description", Severity.LOW,
         "Describe what the operation does, its side effects and its errors in `description`.", "operation"),
    Rule("OAS022", "Operation without operationId", Severity.MEDIUM,
         "Give every operation a unique operationId: generated clients name their methods after it and "
         "links refer to it.", "operation"),
    Rule("OAS023", "Duplicate operationId", Severity.MEDIUM,
         "operationIds must be unique across the document (OpenAPI requires it); rename one of the "
         "operations that share it.", "operation"),
    Rule("OAS024", "Operation without a tag defined globally", Severity.LOW,
         "Tag every operation and declare each tag (with a description) in the top-level `tags` list, so "
         "docs group the operations and explain each group.", "operation"),
    Rule("OAS025", "No success (2xx) response documented", Severity.MEDIUM,
         "Document the success response (200, 201, 204...) with its content schema.", "operation"),
    Rule("OAS026", "No client error (4xx) response documented", Severity.MEDIUM,
         "An operation that takes input, needs credentials or is rate limited can refuse a request: document "
         "its 4xx responses (400/422 invalid input, 404 unknown id, 409 conflict) with their error schema.",
         "operation"),
    Rule("OAS027", "Secured operation does not document 401", Severity.MEDIUM,
         "An operation that requires credentials answers 401 without them: document the 401 response (and "
         "403 where a role or scope can be missing) with the error schema.", "operation"),
    Rule("OAS028", "Rate-limited operation does not document 429", Severity.LOW,
         "Document the 429 response (with Retry-After) on every rate-limited operation, so clients know to "
         "back off. If the operation is not rate limited, list it in [tool.auditor.openapi] "
         "rate_limit_exempt.", "operation"),
    Rule("OAS029", "Response body not described by a schema", Severity.MEDIUM,
         "Give every response that has a body a media type with a schema that describes it, errors "
         "included (a shared ErrorResponse component). A response without a body (204, 304, HEAD) needs no content.",
         "operation"),
    Rule("OAS030", "Parameter without schema or description", Severity.LOW,
         "Give every parameter a schema (type) and a description that says what it does.", "operation"),
    Rule("OAS031", "Unbounded parameter", Severity.MEDIUM,
         "Bound every parameter: strings with maxLength (or an enum, or a format such as date/uuid), "
         "numbers with a maximum, arrays with maxItems. Unbounded input invites abuse and makes the "
         "documented contract say nothing about limits.", "operation"),
    Rule("OAS032", "Example does not match its schema", Severity.MEDIUM,
         "Fix the example (or the schema): an example its own schema rejects misleads readers and breaks "
         "mock servers and example-based tests.", "operation"),
    Rule("OAS033", "Operation uses an undefined security scheme", Severity.HIGH,
         "Every name in an operation's `security` must be a scheme in components.securitySchemes (Swagger "
         "2.0: securityDefinitions); otherwise nobody can tell which credential the operation needs.",
         "operation"),
    Rule("OAS034", "List operation without bounded pagination", Severity.MEDIUM,
         "A list operation must be paginated: a page-size parameter (limit, per_page, page_size, size) with "
         "a documented maximum, and an offset, page or cursor parameter. Unbounded lists grow with the data "
         "until they time out.", "operation"),
    Rule("OAS035", "Rate-limit headers not documented", Severity.LOW,
         "Document the rate-limit headers on the success response (X-RateLimit-Limit/-Remaining/-Reset or "
         "the IETF RateLimit/RateLimit-Policy) and Retry-After on the 429, so clients can pace themselves.",
         "operation"),
    # --- the document against how the service treats callers (judged from the request plan) ------
    Rule("OAS040", "Optional authentication documented as required", Severity.LOW,
         "These operations answer anonymous callers and answer differently when credentials are given "
         "(personalised results): authentication is optional, but the document declares it required. Add an "
         "empty requirement to their security, e.g. `security: [{}, {bearerAuth: []}]`, so clients and "
         "scanners know anonymous calls are allowed."),
    Rule("OAS041", "Security declared on every operation, but reads answer anonymous callers", Severity.MEDIUM,
         "The document applies a security requirement to every operation (usually a global `security`), "
         "but these reads answer callers without credentials exactly as they answer callers with them: they "
         "are public. Mark them public (`security: []` on the operation) or, if they must not be, enforce "
         "authentication on them."),
    # --- the conformance run itself -------------------------------------------------------------
    Rule("OAS090", "Conformance only reached authentication errors", Severity.INFO,
         "No request to this secured operation got a 2xx and some answered 401/403, so its success "
         "responses were never checked against the document. Pass credentials with "
         "--header \"Authorization: Bearer ...\" (they reach only the conformance run). Info without "
         "credentials (expected), low when the credentials given were refused."),
    Rule("OAS091", "Conformance testing incomplete", Severity.LOW,
         "The conformance run stopped before it finished (deadline, interruption or a schemathesis error "
         "named in the message). Raise the check's time budget or [tool.auditor.openapi] "
         "conformance_seconds, or lower max_examples."),
    # --- conformance failures, numbered after schemathesis' codes --------------------------------
    Rule("OAS101", "Server error (ST101)", Severity.HIGH,
         "The service answered 5xx to a request it should have handled or rejected with a 4xx. Reproduce it "
         "with the curl line (or the boundary request in the evidence), find the exception in the service "
         "log and handle the input: validate the range of ids before they reach the database, answer 404 or "
         "422 for values out of range."),
    Rule("OAS102", "Server error on an undeclared content type (ST102)", Severity.MEDIUM,
         "A request with a Content-Type the operation does not declare crashed the service; reject it "
         "with 415 instead."),
    Rule("OAS103", "Undocumented status code (ST103)", Severity.MEDIUM,
         "The service answered a status the operation does not document. Document it (with its schema) or "
         "stop the service from answering it."),
    Rule("OAS104", "Response without Content-Type (ST104)", Severity.MEDIUM,
         "Send the documented Content-Type, or remove `content` from a response that has no body."),
    Rule("OAS105", "Undocumented Content-Type (ST105)", Severity.MEDIUM,
         "The response's Content-Type matches none of the documented media types: document it (error "
         "handlers often send application/problem+json) or send the documented one."),
    Rule("OAS106", "Malformed media type (ST106)", Severity.LOW,
         "A Content-Type in the response or the document is not a valid type/subtype; fix it."),
    Rule("OAS107", "Documented response header missing (ST107)", Severity.LOW,
         "A header the document marks required for this status was not sent; send it or mark it optional."),
    Rule("OAS108", "Response does not match its schema (ST108)", Severity.MEDIUM,
         "The response body or a header value violates its documented schema (the message names the "
         "field). Fix the service's serialisation or the schema, whichever is wrong."),
    Rule("OAS109", "Response body is not valid JSON (ST109)", Severity.MEDIUM,
         "A JSON response that does not parse breaks every client: send valid JSON, or remove `content` "
         "from a response without a body."),
    Rule("OAS110", "Response body cannot be parsed (ST110)", Severity.MEDIUM,
         "The body cannot be read as its Content-Type says; fix the serialisation or the declared type."),
    Rule("OAS111", "Unknown discriminator value (ST111)", Severity.MEDIUM,
         "The response's discriminator value matches no schema of the mapping; add the mapping entry."),
    Rule("OAS112", "Response too slow (ST112)", Severity.LOW,
         "A response took longer than the configured limit; see the latency check for measured figures."),
    Rule("OAS199", "Other conformance failure", Severity.MEDIUM,
         "Schemathesis reported a failure this catalogue does not know; the message carries its code "
         "(see `schemathesis explain <code>`)."),
    Rule("OAS201", "Invalid request accepted (ST201)", Severity.MEDIUM,
         "A request that violates the documented schema was answered 2xx. Validate input as documented "
         "(and answer 4xx), or loosen the schema if the service really accepts it."),
    Rule("OAS202", "Valid request rejected (ST202)", Severity.MEDIUM,
         "A request that the document says is valid was refused. Document the constraint the service "
         "really enforces (bounds, patterns, enums)."),
    Rule("OAS203", "Missing required header accepted (ST203)", Severity.MEDIUM,
         "A request without a required header was answered 2xx; reject it (400, 401 for credentials) or "
         "mark the header optional."),
    Rule("OAS204", "Unsupported method not answered 405 (ST204)", Severity.LOW,
         "Answer methods a path does not support with 405 and an Allow header."),
    Rule("OAS205", "Allow header disagrees with the document (ST205)", Severity.LOW,
         "The Allow header lists other methods than the document declares for the path; align them."),
    Rule("OAS301", "Deleted resource still served (ST301)", Severity.MEDIUM,
         "After a successful DELETE the resource must be gone (404/410); check caches and soft deletes."),
    Rule("OAS302", "Created resource not available (ST302)", Severity.MEDIUM,
         "A resource created by a successful POST must be retrievable; check the Location header, "
         "replication lag and caches."),
    Rule("OAS401", "Secured operation accepts anonymous or invalid credentials (ST401)", Severity.HIGH,
         "The document says this operation requires credentials, yet it answered 2xx without them (or with "
         "invalid ones). Enforce authentication on the route (a dependency or middleware), or declare it "
         "public with `security: []` if it really is."),
    Rule("OAS402", "Object-level authorisation broken (ST402)", Severity.HIGH,
         "One identity could read another identity's object. Check ownership on every object lookup."),
    # --- breaking changes against --baseline ----------------------------------------------------
    Rule("OAS501", "Operation removed", Severity.HIGH,
         "Clients calling this operation now fail. Restore it, or deprecate it first (deprecated: true) and "
         "remove it in a new major version with a migration note."),
    Rule("OAS502", "New required parameter", Severity.HIGH,
         "Existing clients do not send this parameter and will be refused. Make it optional with a default, "
         "or add it in a new version of the operation."),
    Rule("OAS503", "New required request field", Severity.HIGH,
         "Existing clients do not send this field (or no body at all). Make it optional with a default."),
    Rule("OAS504", "Response field removed", Severity.HIGH,
         "Clients that read this field break. Keep sending it (deprecate it in the schema first)."),
    Rule("OAS505", "Type narrowed or changed", Severity.HIGH,
         "A parameter or request field now accepts fewer values (a type or bound removed), or a response "
         "field changed type. Keep the old type, or version the operation."),
    Rule("OAS506", "Enum narrowed", Severity.HIGH,
         "Values that were valid input are now refused. Keep accepting them (and map them), or version the "
         "operation."),
    Rule("OAS507", "Documented status code removed", Severity.MEDIUM,
         "A response the operation used to document is gone; clients that handle it may now misbehave. "
         "Removing a success status breaks them outright."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
COMPLETENESS_RULES = tuple(rule for rule in _RULES if rule.scope)
# schemathesis failure code → our rule id
ST_RULES = {f"ST{rule.id[3:]}": rule.id for rule in _RULES if rule.title.endswith(f"(ST{rule.id[3:]})")}


def rule_for_st_code(code: str | None) -> str:
    return ST_RULES.get(code or "", "OAS199")


make_finding = CATALOGUE.finding
