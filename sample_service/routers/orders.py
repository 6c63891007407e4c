"""Orders: customers see and place their own, admins see all. POST honours Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response, status
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from sample_service.deps import CurrentUser, PageDep, SessionDep, current_user_for_orders_list
from sample_service.errors import ApiError, error_responses
from sample_service.models import Book, Order, OrderItem, Role, User
from sample_service.schemas import INT32_MAX, OrderCreate, OrderItemOut, OrderOut, OrderPage

router = APIRouter(prefix="/orders", tags=["orders"])

OrderId = Annotated[int, Path(ge=1, le=INT32_MAX, description="Order id.")]


def _with_items(query: Select[tuple[Order]]) -> Select[tuple[Order]]:
    # Items and their books in two extra queries, whatever the page size (no N+1).
    return query.options(selectinload(Order.items).selectinload(OrderItem.book))


def to_out(order: Order) -> OrderOut:
    return OrderOut(id=order.id, user_id=order.user_id, status=order.status, total_cents=order.total_cents,
                    created_at=order.created_at,
                    items=[OrderItemOut(book_id=i.book_id, title=i.book.title, quantity=i.quantity,
                                        unit_price_cents=i.unit_price_cents) for i in order.items])


@router.get("", response_model=OrderPage, summary="List orders",
            description="Requires a bearer token. Customers see their own orders, admins see all; ordered "
                        "by id, paginated with `limit` (max 100) and `offset`.",
            responses=error_responses(401, 422))
def list_orders(page: PageDep, session: SessionDep,
                user: Annotated[User | None, Depends(current_user_for_orders_list)]) -> OrderPage:
    query = select(Order)
    if user is not None and user.role != Role.admin:
        query = query.where(Order.user_id == user.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(_with_items(query.order_by(Order.id).limit(page.limit).offset(page.offset))).all()
    return OrderPage(items=[to_out(o) for o in rows], total=total, limit=page.limit, offset=page.offset)


def _find(session: Session, order_id: int, user: User) -> Order:
    order = session.scalars(_with_items(select(Order).where(Order.id == order_id))).first()
    # Someone else's order is a 404, not a 403: do not reveal that it exists.
    if order is None or (user.role != Role.admin and order.user_id != user.id):
        raise ApiError(404, "not_found", f"Order {order_id} not found")
    return order


@router.get("/{order_id}", response_model=OrderOut, summary="Get an order",
            description="Requires a bearer token. 404 for orders that do not exist or belong to someone else "
                        "(admins can read every order).",
            responses=error_responses(401, 404, 422))
def get_order(order_id: OrderId, user: CurrentUser, session: SessionDep) -> OrderOut:
    return to_out(_find(session, order_id, user))


def _request_hash(body: OrderCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, user: User, key: str, request_hash: str) -> Order | None:
    existing = session.scalars(_with_items(select(Order).where(Order.user_id == user.id,
                                                               Order.idempotency_key == key))).first()
    if existing is not None and existing.request_hash != request_hash:
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was already used with a different request body",
                       loc=["header", "Idempotency-Key"])
    return existing


@router.post("", response_model=OrderOut, status_code=status.HTTP_201_CREATED, summary="Place an order",
             description="Requires a bearer token. Prices come from the catalogue. With an `Idempotency-Key` "
                         "header, retrying the same body answers the original order (200, with "
                         "`Idempotent-Replayed: true`) instead of placing another; reusing the key with a "
                         "different body answers 422. Unknown book ids answer 422.",
             responses={200: {"model": OrderOut, "description": "Replay of an earlier request with the same "
                              "Idempotency-Key and body: the original order, nothing new placed."},
                        201: {"description": "Order placed.", "headers": {
                            "Location": {"description": "URL of the new order.",
                                         "schema": {"type": "string", "maxLength": 64}}}},
                        **error_responses(401, 422)})
def create_order(
    body: OrderCreate, user: CurrentUser, response: Response, session: SessionDep,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
        description="Client-chosen unique key (e.g. a UUID) making retries of this request safe.")] = None,
) -> OrderOut:
    request_hash = _request_hash(body)
    if idempotency_key:
        existing = _replay(session, user, idempotency_key, request_hash)
        if existing is not None:
            response.status_code = status.HTTP_200_OK
            response.headers["Idempotent-Replayed"] = "true"
            return to_out(existing)

    ids = {item.book_id for item in body.items}
    books = {b.id: b for b in session.scalars(select(Book).where(Book.id.in_(ids))).all()}
    missing = sorted(ids - books.keys())
    if missing:
        raise ApiError(422, "unknown_book", f"Book {missing[0]} does not exist", loc=["body", "items"])
    order = Order(user_id=user.id, status="placed", idempotency_key=idempotency_key, request_hash=request_hash,
                  total_cents=sum(books[i.book_id].price_cents * i.quantity for i in body.items),
                  items=[OrderItem(book_id=i.book_id, quantity=i.quantity,
                                   unit_price_cents=books[i.book_id].price_cents) for i in body.items])
    session.add(order)
    try:
        session.commit()
    except IntegrityError:
        # A concurrent request with the same key committed first: answer its order.
        session.rollback()
        if idempotency_key is None:
            raise
        existing = _replay(session, user, idempotency_key, request_hash)
        if existing is None:
            raise
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
        return to_out(existing)
    response.headers["Location"] = f"/orders/{order.id}"
    return to_out(_find(session, order.id, user))
