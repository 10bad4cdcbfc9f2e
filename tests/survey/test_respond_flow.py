"""The respondent's way through a round, through the Flask test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Answer, Invitation, Response
from tests.survey.respond_helpers import (
    PAGES,
    answer_everything,
    csrf_from,
    open_and_consent,
    page_values,
    post_page,
    submit,
)


def stored(app, model=Response, **filters) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters))


def test_link_is_exchanged_for_a_session_and_never_kept_in_the_url(client, make_world):
    world = make_world()
    response = client.get(f"/s/{world.tokens[0]}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/survey"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    landing = client.get("/survey")
    text = landing.get_data(as_text=True)
    assert world.tokens[0] not in text
    assert "never your individual answers" in text
    assert landing.headers["Cache-Control"] == "no-store"


def test_whole_flow_stores_one_submitted_response(app, client, make_world):
    world = make_world()
    answer_everything(client, world.tokens[0])
    review = client.get("/survey/review")
    assert "You answered every statement." in review.get_data(as_text=True)
    done = submit(client)
    assert done.status_code == 302 and done.headers["Location"] == "/survey/thanks"
    assert "Your answers have been submitted." in client.get("/survey/thanks").get_data(True)
    assert stored(app, status="submitted") == 1
    assert stored(app, Answer) == len(PAGES[0].items) * 0 + sum(len(p.items) for p in PAGES)


def test_drafts_are_saved_per_page_and_resume_in_a_new_browser(app, make_world):
    world = make_world()
    first = app.test_client()
    open_and_consent(first, world.tokens[0])
    assert post_page(first, 1, page_values(1, "2")).status_code == 302
    assert post_page(first, 2, page_values(2, "5")).status_code == 302

    second = app.test_client()  # the tab was closed; the link is opened again elsewhere
    second.get(f"/s/{world.tokens[0]}")
    landing = second.get("/survey").get_data(as_text=True)
    assert "Continue where you left off (page 3)" in landing
    page1 = second.get("/survey/page/1").get_data(as_text=True)
    first_item = PAGES[0].items[0].item.id
    assert f'id="{first_item}-2" name="{first_item}" value="2" checked' in page1
    assert second.get("/survey/page/5").status_code == 302  # cannot jump past page 3


def test_blank_items_are_an_explicit_choice_listed_on_review(app, client, make_world):
    world = make_world()
    open_and_consent(client, world.tokens[0])
    for page in PAGES:
        values = page_values(page.number)
        if page.number == 1:
            values[page.items[1].item.id] = "skip"
        assert post_page(client, page.number, values).status_code == 302
    review = client.get("/survey/review").get_data(as_text=True)
    assert "You left 1 statement blank" in review
    assert PAGES[0].items[1].item.text in review
    assert submit(client).status_code == 302
    with app.app_context():
        value = db.session.scalar(select(Answer.value).filter_by(item_id=PAGES[0].items[1].item.id))
    assert value is None


def test_unanswered_item_is_a_400_that_keeps_the_other_choices(app, client, make_world):
    world = make_world()
    open_and_consent(client, world.tokens[0])
    values = page_values(1, "3")
    missing = PAGES[0].items[2].item.id
    del values[missing]
    response = post_page(client, 1, values)
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{missing}-error"' in text and "Choose an answer" in text
    kept = PAGES[0].items[0].item.id
    assert f'id="{kept}-3" name="{kept}" value="3" checked' in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9", "Choose one of the options from 1 to 5."),
        ("abc", "Choose one of the options"),
        ("2.5", "Choose one of the options"),
        ("-1", "Choose one of the options"),
    ],
)
def test_out_of_range_and_non_integer_values_are_rejected(app, client, make_world, value, message):
    world = make_world()
    answer_everything(client, world.tokens[0], value="2")
    values = page_values(1, "5")
    values[PAGES[0].items[0].item.id] = value
    response = post_page(client, 1, values)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():  # the earlier answers to this page are untouched
        saved = db.session.scalars(
            select(Answer.value).filter_by(item_id=PAGES[0].items[1].item.id)
        )
        assert list(saved) == [2]


def test_extra_fields_are_rejected_with_a_message(client, make_world):
    world = make_world()
    open_and_consent(client, world.tokens[0])
    response = post_page(client, 1, {**page_values(1), "is_admin": "1"})
    assert response.status_code == 400
    assert "fields this page does not have: is_admin" in response.get_data(as_text=True)


def test_oversized_body_is_a_400_and_loses_nothing(app, client, make_world):
    world = make_world()
    open_and_consent(client, world.tokens[0])
    assert post_page(client, 1, page_values(1, "1")).status_code == 302
    shown = client.get("/survey/page/1")
    huge = {
        "csrf_token": csrf_from(shown),
        "nav": "next",
        **page_values(1, "5"),
        "x": "y" * 100_000,
    }
    response = client.post("/survey/page/1", data=huge)
    assert response.status_code == 400
    assert "far more data than it should" in response.get_data(as_text=True)
    with app.app_context():
        assert set(db.session.scalars(select(Answer.value))) == {1}


def test_double_submit_stores_once_and_says_already_submitted(app, client, make_world):
    world = make_world()
    answer_everything(client, world.tokens[0])
    review = client.get("/survey/review")
    token = csrf_from(review)
    assert client.post("/survey/submit", data={"csrf_token": token}).status_code == 302
    again = client.post("/survey/submit", data={"csrf_token": token})
    assert again.status_code == 200
    assert "already submitted. Nothing was changed." in again.get_data(as_text=True)
    late_edit = client.post("/survey/page/1", data={"csrf_token": token, **page_values(1, "1")})
    assert late_edit.status_code == 409
    assert stored(app, status="submitted") == 1
    with app.app_context():
        assert set(db.session.scalars(select(Answer.value))) == {4}
    reopened = client.get(f"/s/{world.tokens[0]}", follow_redirects=True)
    assert "already submitted" in reopened.get_data(as_text=True)


def test_submit_is_refused_until_every_page_is_done(app, client, make_world):
    world = make_world()
    open_and_consent(client, world.tokens[0])
    post_page(client, 1, page_values(1))
    review = client.get("/survey/review")
    assert "still need an answer or a skip" in review.get_data(as_text=True)
    assert "Submit my answers" not in review.get_data(as_text=True)
    token = csrf_from(client.get("/survey/page/1"))
    response = client.post("/survey/submit", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/survey/review"
    assert stored(app, status="submitted") == 0


def test_closed_round_is_410_and_keeps_the_draft(app, client, make_world):
    world = make_world()
    open_and_consent(client, world.tokens[0])
    post_page(client, 1, page_values(1))
    shown = client.get("/survey/page/2")
    world.set_round(status="closed")
    response = client.post(
        "/survey/page/2", data={"csrf_token": csrf_from(shown), **page_values(2)}
    )
    assert response.status_code == 410
    assert "This survey is closed" in response.get_data(as_text=True)
    assert client.get(f"/s/{world.tokens[1]}").status_code == 410
    assert stored(app, status="draft") == 1
    assert stored(app, Answer) == len(PAGES[0].items)


def test_round_past_its_closing_date_is_closed(client, make_world):
    world = make_world()
    world.set_round(closes_at=utcnow() - timedelta(minutes=1))
    assert client.get(f"/s/{world.tokens[0]}").status_code == 410


@pytest.mark.parametrize("token", ["nope", "A" * 43, "x" * 500, "%00%0a"])
def test_unknown_token_is_a_404_page(client, make_world, token):
    make_world()
    response = client.get(f"/s/{token}")
    assert response.status_code == 404
    assert "This link is not valid" in response.get_data(as_text=True)
    assert client.get("/survey").status_code == 404


def test_revoked_and_expired_invitations_are_410(app, client, make_world):
    world = make_world()
    with app.app_context():
        first, second = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()[:2]
        first.revoked_at = utcnow()
        second.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert "withdrawn" in client.get(f"/s/{world.tokens[0]}").get_data(as_text=True)
    assert client.get(f"/s/{world.tokens[0]}").status_code == 410
    assert client.get(f"/s/{world.tokens[1]}").status_code == 410


def test_post_without_csrf_token_is_refused(app, client, make_world):
    world = make_world()
    open_and_consent(client, world.tokens[0])
    response = client.post("/survey/page/1", data=page_values(1))
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert stored(app, Answer) == 0


def test_consent_is_required(client, make_world):
    world = make_world()
    client.get(f"/s/{world.tokens[0]}")
    landing = client.get("/survey")
    response = client.post("/survey/start", data={"csrf_token": csrf_from(landing)})
    assert response.status_code == 400
    assert "tick the box" in response.get_data(as_text=True)


def test_anonymous_round_unlinks_the_response_on_submit(app, client, make_world):
    world = make_world(mode="anonymous")
    answer_everything(client, world.tokens[0])
    assert submit(client).status_code == 302
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.status == "submitted" and response.invitation_id is None
        assert (response.submitted_at.hour, response.submitted_at.minute) == (0, 0)
        assert response.created_at == response.submitted_at
        taken_part = select(func.count()).where(Invitation.submitted_at.is_not(None))
        assert db.session.scalar(taken_part) == 1
    again = client.post("/survey/submit", data={"csrf_token": "x"})
    assert again.status_code in (200, 400)
    assert stored(app, status="submitted") == 1


def test_going_back_saves_without_requiring_answers(app, client, make_world):
    world = make_world()
    open_and_consent(client, world.tokens[0])
    post_page(client, 1, page_values(1))
    partial = {PAGES[1].items[0].item.id: "1"}
    response = post_page(client, 2, partial, nav="back")
    assert response.status_code == 302 and response.headers["Location"] == "/survey/page/1"
    with app.app_context():
        assert (
            db.session.scalar(select(Answer.value).filter_by(item_id=PAGES[1].items[0].item.id))
            == 1
        )


def test_security_headers_on_every_page(client, make_world):
    make_world()
    response = client.get("/s/unknown-token-that-is-long-enough")
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_page_kept_open_for_hours_is_still_accepted(app, client, make_world, monkeypatch):
    import time as real_time

    import itsdangerous.timed

    world = make_world()
    open_and_consent(client, world.tokens[0])
    token = csrf_from(client.get("/survey/page/1"))

    class Later:  # the respondent comes back three hours later
        @staticmethod
        def time() -> float:
            return real_time.time() + 3 * 3600

    monkeypatch.setattr(itsdangerous.timed, "time", Later)
    response = client.post(
        "/survey/page/1", data={"csrf_token": token, "nav": "next", **page_values(1)}
    )
    assert response.status_code == 302
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


@pytest.mark.parametrize(
    "kept",
    [None, [999_999, "0" * 64], "not a pair"],
    ids=["session from before the instrument was kept", "unknown instrument", "malformed"],
)
def test_a_session_without_a_usable_instrument_still_saves_the_page(app, client, make_world, kept):
    """The session's instrument only lets a save skip a read; without it the page still saves."""
    from survey.web.respond.views import INSTRUMENT_KEY

    world = make_world()
    open_and_consent(client, world.tokens[0])
    with client.session_transaction() as session:
        if kept is None:
            del session[INSTRUMENT_KEY]
        else:
            session[INSTRUMENT_KEY] = kept
    response = post_page(client, 1, page_values(1, "2"))
    assert response.status_code == 302 and response.headers["Location"] == "/survey/page/2"
    with app.app_context():
        assert set(db.session.scalars(select(Answer.value))) == {2}
    assert stored(app, Answer) == len(PAGES[0].items)


def test_a_valid_save_reads_nothing_before_it_writes(app, client, make_world):
    """The usual save is its own access check: no SELECT, and one statement on PostgreSQL."""
    from sqlalchemy import event

    world = make_world()
    open_and_consent(client, world.tokens[0])
    shown = client.get("/survey/page/1")
    data = {"csrf_token": csrf_from(shown), "nav": "next", **page_values(1, "3")}
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not statement.startswith("BEGIN"):
            statements.append(statement.lstrip())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post("/survey/page/1", data=data)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 302 and response.headers["Location"] == "/survey/page/2"
    assert not [s for s in statements if s.upper().startswith("SELECT")], statements
    expected = 1 if engine.dialect.name == "postgresql" else 2  # SQLite: mark, then upsert
    assert len(statements) == expected, statements
