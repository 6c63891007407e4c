"""The core request planner (one for every check that sends requests): live values for parameters,
one preflight per planned request, exclusions with reasons, authentication-aware. See plan.py."""

from auditor.planner.bodies import ENVELOPE_KEYS, count_items, list_items
from auditor.planner.fetch import Answer
from auditor.planner.model import (
                                   ANONYMOUS,
                                   ENFORCED,
                                   OPTIONAL,
                                   PUBLIC,
                                   UNKNOWN,
                                   Exclusion,
                                   PlannedRequest,
                                   RequestPlan,
                                   refusal,
                                   summarise,
)
from auditor.planner.pages import PAGE_SIZE_NAMES, PageParameter, page_parameter
from auditor.planner.plan import (
                                   MAX_DISCOVERY_REQUESTS,
                                   MAX_REPRESENTATIVE_REQUESTS,
                                   build_plan,
)

__all__ = ["ANONYMOUS", "ENFORCED", "ENVELOPE_KEYS", "MAX_DISCOVERY_REQUESTS", "MAX_REPRESENTATIVE_REQUESTS", "OPTIONAL", "PAGE_SIZE_NAMES", "PUBLIC",
           "UNKNOWN", "Answer", "Exclusion", "PageParameter", "PlannedRequest", "RequestPlan", "build_plan",
           "count_items", "list_items", "page_parameter", "refusal", "summarise"]
