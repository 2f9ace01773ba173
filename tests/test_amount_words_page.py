"""The amount in words under the amount of the request form, rendered by the server (issue 16, item 9): it
is there without any script once the request is saved, and for an amount typed into a form sent back
with a mistake elsewhere; static/js/amount-words.js keeps it up to date while typing."""

from __future__ import annotations

import re

from tests import factories as f
from tests.test_request_pages import form_data


def words_in(html: str) -> str | None:
    """The text of the amount-in-words line, or None when it is hidden."""
    match = re.search(r'<p class="amount-words" id="amount-words"[^>]*?( hidden)?>(.*?)</p>', html, re.S)
    assert match, "no amount-words line on the page"
    return None if match.group(1) else match.group(2)


def test_a_new_form_has_the_line_hidden_and_the_script(client):
    client.login("dy_baozhang")
    html = client.get("/requests/new").get_data(as_text=True)
    assert words_in(html) is None
    assert 'data-words="amount-words"' in html and 'data-max="10000000"' in html
    assert re.search(r'<script src="/static/js/amount-words\.js\?v=\w+" defer data-lang="zh-CN"', html)


def test_a_saved_request_shows_its_amount_in_words(client):
    req = f.draft("107000.53")
    client.login("dy_baozhang")
    html = client.get(f"/requests/{req.id}/edit").get_data(as_text=True)
    assert words_in(html) == "大写：人民币壹拾万柒仟元零伍角叁分"


def test_an_amount_typed_into_a_form_sent_back_is_written_out(client):
    client.login("dy_baozhang")
    r = client.post("/requests/new", data=form_data(amount="58,500", payee_account="no digits"))
    assert r.status_code == 422
    assert words_in(r.get_data(as_text=True)) == "大写：人民币伍万捌仟伍佰元整"
    r = client.post("/requests/new", data=form_data(amount="58.555"))
    assert r.status_code == 422 and words_in(r.get_data(as_text=True)) is None  # refused: no words


def test_the_words_are_english_on_an_english_page(client):
    req = f.draft("1200.05")
    client.login("dy_baozhang")
    html = client.get(f"/requests/{req.id}/edit?lang=en").get_data(as_text=True)
    assert words_in(html) == "Amount in words: RMB One thousand two hundred yuan and five fen"
