"""A form that a live refresh swaps into the page is htmx's the moment it is there.

htmx binds the elements a swap brings in during its "settle" step, which by default runs 20 ms
later on a timer (longer on a loaded machine). A click in that gap reached a form htmx had not
bound: the browser submitted it natively, and a form without method and action was a GET of the
page itself that did nothing. That is how tests/browser/test_oversight.py's agent once clicked
"Take it" and the request stayed unassigned for 10 s: the side panel had just been refreshed by
a live change. base.html's htmx-config sets defaultSettleDelay to 0, so the swap and the binding
happen in one task and no click can come between them."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.site import EN, DeskSite, People

CLICK_AS_SOON_AS_SWAPPED = """() => {
  window.notReloaded = true;  // gone if the click was a native submission (the page reloads)
  const ticket = document.getElementById("ticket");
  const before = document.getElementById("take");
  new MutationObserver((records, observer) => {
    const take = document.getElementById("take");
    if (take && take !== before) {  // the refreshed side panel's button, before any timer runs
      observer.disconnect();
      take.click();
    }
  }).observe(ticket, { childList: true, subtree: true });
  document.body.dispatchEvent(new CustomEvent("suz:change"));  // what a live change fires
}"""


def test_a_click_right_after_a_live_refresh_is_htmx_s_post(
    people: People, desk_site: DeskSite
) -> None:
    filed = desk_site.file("Клик сразу после живого обновления")
    agent = people.sign_in("agent", f"/t/{filed['id']}", locale=EN)
    expect(agent.locator("#side-assignee")).to_have_text("—")
    agent.evaluate(CLICK_AS_SOON_AS_SWAPPED)
    expect(agent.locator("#side-assignee")).to_have_text("Agent1")
    assert agent.evaluate("() => window.notReloaded === true"), (
        "the refreshed panel's form was submitted natively (htmx had not bound it yet)"
    )
