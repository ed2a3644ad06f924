#!/usr/bin/python3
"""console_browser_live_search_diff_hostile: a real browser (headless
Chromium driven by Selenium) opens the console's alerts page and sees an
alert published afterwards appear at the top without a reload (server-sent
events); searches "cybersecurite" through the form and finds the alert
titled "cybersécurité"; opens a `changed` alert and reads its diff side by
side; hostile event texts (script, img onerror, javascript: link) show as
text: no alert dialog, no element injected, no script error from the page,
the CSP blocking nothing of our own; on a phone-sized window the list
fits the width. Screenshots go to
build/test-artifacts/console-*.png."""
import os
import sys
import time

from broker_harness import Broker, workdir
from console_harness import Console, alert, archive_count, browser, browser_available, screenshot
from skip import skip
from sub_harness import publish, wait_until

HOSTILE = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'


def wait_for(driver, pred, what, timeout=60):
    deadline = time.time() + timeout
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception:   # element not there yet
            pass
        if time.time() > deadline:
            raise AssertionError("browser: timeout waiting for %s; page:\n%s"
                                 % (what, driver.page_source[:3000]))
        time.sleep(0.1)


def main():
    why = browser_available()
    if why:
        skip(why)
    from selenium.webdriver.common.by import By
    d = workdir("console-web")
    b = Broker(d).start()
    archive = os.path.join(d, "console.db")
    first = [
        alert(1, topic="un.ctitf", title="Stratégie nationale de cybersécurité",
              summary="Le texte complet.", tags=["cyber"], salt="web"),
        alert(2, topic="un.ga", type_="changed", title="Ordre du jour modifié", salt="web",
              diff="- Point 4 : budget\n+ Point 4 : budget révisé\n+ Point 5 : questions"),
        alert(3, topic="press.rfi", title=HOSTILE, summary=HOSTILE, tags=[HOSTILE],
              url="javascript:document.title='pwned'", salt="web"),
    ]
    publish(b, [(t, raw) for t, _, raw in first])
    c = Console(b, archive).start()
    wait_until(lambda: archive_count(archive)[0] == 3, what="3 alerts archived")

    drv = browser(d)
    try:
        drv.get(c.url)
        wait_for(drv, lambda: drv.execute_script("return document.body.dataset.live") == "1",
                 "the live stream to open")
        items = drv.find_elements(By.CSS_SELECTOR, "#alerts li")
        assert len(items) == 3, len(items)
        hostile = items[0].find_element(By.CSS_SELECTOR, "a.title")
        assert hostile.text == HOSTILE, hostile.text        # shown as text
        assert not drv.find_elements(By.CSS_SELECTOR, "#alerts img, main script")
        screenshot(drv, d, "console-list")

        # a new alert appears without a reload
        marker = drv.execute_script("window.vlMarker = 42; return window.vlMarker")
        live = alert(4, topic="un.sc", title="Résolution adoptée <i>live</i>", salt="web")
        publish(b, [(live[0], live[2])])
        top = wait_for(drv, lambda: (lambda li: li if li.get_attribute("data-id") == "4" else None)(
            drv.find_element(By.CSS_SELECTOR, "#alerts li")), "the live alert at the top")
        assert top.find_element(By.CSS_SELECTOR, "a.title").text == "Résolution adoptée <i>live</i>"
        assert drv.execute_script("return window.vlMarker") == marker, "the page was reloaded"
        assert not drv.find_elements(By.CSS_SELECTOR, "#alerts i")
        screenshot(drv, d, "console-live")

        # search without the accents
        box = drv.find_element(By.NAME, "q")
        box.send_keys("cybersecurite")
        box.submit()
        wait_for(drv, lambda: "q=cybersecurite" in drv.current_url, "the search page")
        found = [a.text for a in drv.find_elements(By.CSS_SELECTOR, "#alerts a.title")]
        assert found == ["Stratégie nationale de cybersécurité"], found
        screenshot(drv, d, "console-search")

        # the diff side by side
        drv.get(c.url)
        drv.find_element(By.LINK_TEXT, "Ordre du jour modifié").click()
        wait_for(drv, lambda: drv.find_elements(By.CSS_SELECTOR, "table.diff"), "the diff")
        rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                for tr in drv.find_elements(By.CSS_SELECTOR, "table.diff tbody tr")]
        assert rows == [["Point 4 : budget", "Point 4 : budget révisé"],
                        ["", "Point 5 : questions"]], rows
        screenshot(drv, d, "console-diff")

        # the hostile alert's page: all text, no link to javascript:
        drv.get(c.url)
        drv.find_element(By.CSS_SELECTOR, "#alerts li[data-id='3'] a.title").click()
        wait_for(drv, lambda: drv.find_element(By.ID, "title").text == HOSTILE, "hostile page")
        assert not drv.find_elements(By.CSS_SELECTOR, "a[href^='javascript']")
        assert not drv.find_elements(By.CSS_SELECTOR, "main img, main script")
        screenshot(drv, d, "console-hostile")

        # a phone: the list fits the width (no sideways scrolling)
        drv.set_window_size(390, 844)
        drv.get(c.url)
        wait_for(drv, lambda: drv.find_elements(By.CSS_SELECTOR, "#alerts li"), "the list on a phone")
        over = drv.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert over <= 0, "the page is %d px wider than a phone" % over
        screenshot(drv, d, "console-phone")
        drv.set_window_size(1200, 900)

        drv.get(c.url + "sources")
        wait_for(drv, lambda: drv.find_elements(By.ID, "archived"), "the sources page")
        screenshot(drv, d, "console-sources")

        assert drv.title != "pwned" and "pwned" not in drv.execute_script("return document.title")
        errors = [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"
                  and "favicon" not in e.get("message", "")]
        assert not errors, errors
    finally:
        drv.quit()
    assert c.stop() == 0
    b.stop()
    print("console browser: live alert, accent-free search, diff, hostile text: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
