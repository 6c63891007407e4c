"""GET /users/me."""

from __future__ import annotations

from fastapi import APIRouter

from sample_service.deps import CurrentUser
from sample_service.errors import error_responses
from sample_service.schemas import UserOut

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=UserOut, summary="Get the current user",
            description="The user the bearer token belongs to, with their role.",
            responses=error_responses(401))
def get_current_user(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
