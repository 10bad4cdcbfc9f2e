"""save_page on both databases: upserts a page, and changes nothing once submitted."""

from __future__ import annotations

from sqlalchemy import select, update

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Answer, ContextAnswer, Response
from survey.services import responses
from survey.services.questionnaire import PageInput
from survey.services.tokens import hash_token


def _draft(app, token):  # type: ignore[no-untyped-def]
    access = responses.check_access(hash_token(token), utcnow())
    draft = responses.start_draft(access, utcnow())
    db.session.commit()
    return draft


def _stored(response_id: int) -> tuple[dict, dict, int]:  # type: ignore[type-arg]
    db.session.commit()  # a fresh snapshot
    items = select(Answer.item_id, Answer.value).filter_by(response_id=response_id)
    context = select(ContextAnswer.question_id, ContextAnswer.value).filter_by(
        response_id=response_id
    )
    page = db.session.scalar(select(Response.current_page).filter_by(id=response_id))
    return dict(db.session.execute(items).all()), dict(db.session.execute(context).all()), page


def test_a_page_is_inserted_then_replaced_and_the_furthest_page_kept(app, make_world) -> None:
    world = make_world(members=1)
    with app.app_context():
        draft = _draft(app, world.tokens[0])
        first = PageInput(answers={"a1": 4, "a2": None}, context={"role": "Sales"})
        assert responses.save_page(draft.id, first, utcnow(), next_page=3)
        db.session.commit()
        assert _stored(draft.id) == ({"a1": 4, "a2": None}, {"role": "Sales"}, 3)
        again = PageInput(answers={"a2": 2, "a3": 5}, context={"role": None, "tenure": "1-3"})
        assert responses.save_page(draft.id, again, utcnow(), next_page=2)  # went back
        db.session.commit()
        assert _stored(draft.id) == (
            {"a1": 4, "a2": 2, "a3": 5},
            {"role": None, "tenure": "1-3"},
            3,
        )


def test_a_submitted_response_is_not_changed_by_a_late_save(app, make_world) -> None:
    world = make_world(members=1)
    with app.app_context():
        draft = _draft(app, world.tokens[0])
        assert responses.save_page(draft.id, PageInput(answers={"a1": 1}), utcnow(), next_page=2)
        db.session.execute(
            update(Response)
            .where(Response.id == draft.id)
            .values(status="submitted", submitted_at=utcnow())
        )
        db.session.commit()
        late = PageInput(answers={"a1": 5, "a2": 5}, context={"role": "Sales"})
        assert not responses.save_page(draft.id, late, utcnow(), next_page=8)
        db.session.commit()
        assert _stored(draft.id) == ({"a1": 1}, {}, 2)
