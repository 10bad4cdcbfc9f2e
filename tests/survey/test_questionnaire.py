"""Pages and page parsing: pure functions, tested exhaustively."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from analytics.instrument_parser import load_default_instrument
from survey.services.questionnaire import MAX_ITEMS_PER_PAGE, build_pages, parse_page

INSTRUMENT = load_default_instrument()
PAGES = build_pages(INSTRUMENT)


def test_pages_hold_at_most_eight_items_and_cover_every_item_once():
    assert all(len(p.items) <= MAX_ITEMS_PER_PAGE for p in PAGES)
    shown = [entry.item.id for p in PAGES for entry in p.items]
    assert shown == list(INSTRUMENT.item_ids)
    assert PAGES[-1].context == INSTRUMENT.context
    assert [p.number for p in PAGES] == list(range(1, len(PAGES) + 1))


def test_practice_items_use_their_own_frequency_scale():
    practice = [e for p in PAGES for e in p.items if e.dimension.kind == "practice"]
    assert practice and all(e.scale.labels[0] == "Never" for e in practice)


field_values = st.one_of(
    st.text(max_size=8), st.sampled_from(["1", "3", "5", "skip", "0", "6", " 2", "2.0", ""])
)


@given(st.dictionaries(st.sampled_from((*PAGES[0].field_names, "x", "nav")), field_values))
def test_parse_never_crashes_and_accepts_only_valid_values(form):
    page = PAGES[0]
    result = parse_page(page, form)
    for name, value in result.answers.items():
        assert value is None or value in range(1, 6)
        assert form[name].strip() in {"skip", str(value)}
    assert set(result.answers) | set(result.errors) <= set(page.field_names)
    assert result.ok == (not result.errors and "x" not in form)
    if result.ok:
        assert set(result.answers) == set(page.field_names)


@given(st.lists(st.sampled_from(["1", "2", "3", "4", "5", "skip"]), min_size=5, max_size=5))
def test_complete_valid_pages_round_trip(values):
    page = PAGES[0]
    form = dict(zip(page.field_names, values, strict=True))
    result = parse_page(page, form)
    assert result.ok
    assert result.answers == {k: None if v == "skip" else int(v) for k, v in form.items()}


def test_context_page_accepts_listed_options_and_skip_only():
    page = PAGES[-1]
    role, tenure = page.context
    result = parse_page(page, {role.id: role.options[1], tenure.id: "skip"})
    assert result.ok and result.context == {role.id: role.options[1], tenure.id: None}
    bad = parse_page(page, {role.id: "CEO", tenure.id: "skip"})
    assert bad.errors == {role.id: "Choose one of the listed options."}


def test_going_back_does_not_require_answers():
    result = parse_page(PAGES[0], {}, require_all=False)
    assert result.ok and result.answers == {}
