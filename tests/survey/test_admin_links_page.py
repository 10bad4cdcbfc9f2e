"""A re-issued link has a copy button (a script file, no inline script); links are shown once."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.survey.accounts_helpers import build_access_world, log_in
from tests.survey.respond_helpers import csrf_from


def test_reissued_link_page_has_a_copy_button_and_no_inline_script(
    app: Flask, client: FlaskClient
) -> None:
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    round_url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    round_page = client.get(round_url)
    assert "A links CSV is shown only once" in round_page.get_data(as_text=True)
    shown = client.post(
        f"{round_url}/invitations/{world.invitation_id}/reissue",
        data={"csrf_token": csrf_from(round_page)},
    )
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    link = re.search(r'<code id="link-url">(http://localhost/s/[\w-]+)</code>', text)
    assert link, text
    assert '<button type="button" data-copy="link-url" hidden>Copy link</button>' in text
    assert 'id="link-url-status" role="status"' in text
    assert "this link is shown only once" in text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", text, flags=re.S)
    assert scripts == [""], "only the external copy.js, nothing inline"
    assert '<script src="/static/copy.js" defer></script>' in text
    assert "default-src 'self'" in shown.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in shown.headers["Content-Security-Policy"]

    script = client.get("/static/copy.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    body = script.get_data(as_text=True)
    assert "navigator.clipboard" in body and "data-copy" in body
