"""save_page on both databases: upserts a page, and writes only when access is OK."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Answer, ContextAnswer, Invitation, Response, SurveyRound
from survey.services import responses
from survey.services.questionnaire import PageInput
from survey.services.responses import AccessStatus, Draft
from survey.services.tokens import hash_token


def _draft(token: str) -> tuple[Draft, int]:
    access = responses.check_access(hash_token(token), utcnow())
    draft = responses.start_draft(access, utcnow())
    db.session.commit()
    assert access.instrument_id is not None
    return draft, access.instrument_id


def _stored(response_id: int) -> tuple[dict, dict, int]:  # type: ignore[type-arg]
    db.session.commit()  # a fresh snapshot
    items = select(Answer.item_id, Answer.value).filter_by(response_id=response_id)
    context = select(ContextAnswer.question_id, ContextAnswer.value).filter_by(
        response_id=response_id
    )
    page = db.session.scalar(select(Response.current_page).filter_by(id=response_id))
    return dict(db.session.execute(items).all()), dict(db.session.execute(context).all()), page


def _save(token: str, instrument_id: int, number: int, page: PageInput, next_page: int) -> bool:
    saved = responses.save_page(
        hash_token(token), instrument_id, number, page, utcnow(), next_page=next_page
    )
    db.session.commit()
    return saved


def test_a_page_is_inserted_then_replaced_and_the_furthest_page_kept(app, make_world) -> None:
    world = make_world(members=1)
    token = world.tokens[0]
    with app.app_context():
        draft, instrument_id = _draft(token)
        first = PageInput(answers={"a1": 4, "a2": None}, context={"role": "Sales"})
        assert _save(token, instrument_id, 1, first, next_page=3)
        assert _stored(draft.id) == ({"a1": 4, "a2": None}, {"role": "Sales"}, 3)
        again = PageInput(answers={"a2": 2, "a3": 5}, context={"role": None, "tenure": "1-3"})
        assert _save(token, instrument_id, 3, again, next_page=2)  # went back
        assert _stored(draft.id) == (
            {"a1": 4, "a2": 2, "a3": 5},
            {"role": None, "tenure": "1-3"},
            3,
        )


def test_a_submitted_response_is_not_changed_by_a_late_save(app, make_world) -> None:
    world = make_world(members=1)
    token = world.tokens[0]
    with app.app_context():
        draft, instrument_id = _draft(token)
        assert _save(token, instrument_id, 1, PageInput(answers={"a1": 1}), next_page=2)
        db.session.execute(
            update(Response)
            .where(Response.id == draft.id)
            .values(status="submitted", submitted_at=utcnow())
        )
        db.session.commit()
        late = PageInput(answers={"a1": 5, "a2": 5}, context={"role": "Sales"})
        assert not _save(token, instrument_id, 1, late, next_page=8)
        assert _stored(draft.id) == ({"a1": 1}, {}, 2)


def test_a_page_beyond_the_furthest_reached_or_another_instrument_is_not_saved(
    app, make_world
) -> None:
    world = make_world(members=1)
    token = world.tokens[0]
    with app.app_context():
        draft, instrument_id = _draft(token)
        answer = PageInput(answers={"a1": 3})
        assert not _save(token, instrument_id, 2, answer, next_page=3)  # only page 1 reached
        assert not _save(token, instrument_id + 1, 1, answer, next_page=2)
        assert not _save("not-the-token", instrument_id, 1, answer, next_page=2)
        assert _stored(draft.id) == ({}, {}, 1)


NOW_OFFSETS = {"past": timedelta(days=-1), "future": timedelta(days=1)}
# Each change puts the invitation or its round in one state check_access tells apart.
CHANGES: dict[str, tuple[type, dict[str, object]]] = {
    "revoked": (Invitation, {"revoked_at": "past"}),
    "expired": (Invitation, {"expires_at": "past"}),
    "submitted": (Invitation, {"submitted_at": "past"}),
    "round draft": (SurveyRound, {"status": "draft"}),
    "round closed": (SurveyRound, {"status": "closed"}),
    "round opens later": (SurveyRound, {"opens_at": "future"}),
    "round closed by date": (SurveyRound, {"closes_at": "past"}),
    "round without dates": (SurveyRound, {"opens_at": None, "closes_at": None}),
}


def _apply(change: str, world_round_id: int, invitation_id: int) -> None:
    model, values = CHANGES[change]
    concrete = {
        key: (
            utcnow() + NOW_OFFSETS[value] if isinstance(value, str) and key != "status" else value
        )
        for key, value in values.items()
    }
    row_id = invitation_id if model is Invitation else world_round_id
    db.session.execute(update(model).where(model.id == row_id).values(**concrete))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "changes",
    [()] + [(c,) for c in CHANGES] + list(itertools.combinations(CHANGES, 2)),
    ids=lambda changes: "+".join(changes) or "unchanged",
)
def test_save_page_writes_exactly_when_check_access_says_ok(
    app, make_world, changes: tuple[str, ...]
) -> None:
    """The statement's own access check is check_access's rule, state by state."""
    world = make_world(members=1)
    token = world.tokens[0]
    with app.app_context():
        draft, instrument_id = _draft(token)
        invitation_id = db.session.scalar(
            select(Invitation.id).filter_by(token_hash=hash_token(token))
        )
        assert invitation_id is not None
        for change in changes:
            _apply(change, world.round_id, invitation_id)
        db.session.commit()
        allowed = responses.check_access(hash_token(token), utcnow()).status is AccessStatus.OK
        saved = _save(token, instrument_id, 1, PageInput(answers={"a1": 2}), next_page=2)
        assert saved is allowed
        assert _stored(draft.id) == (({"a1": 2}, {}, 2) if allowed else ({}, {}, 1))
