"""Belay's Atom and RSS feeds, read by feedparser, the feed library most readers and bots use."""
import feedparser


def seed(belay):
    belay.api("POST", "/api/v1/components", {"slug": "api", "name": "API"})
    first = belay.api("POST", "/api/v1/incidents", {
        "title": "Elevated errors", "severity": "sev2", "components": [{"slug": "api", "impact": "partial_outage"}],
        "message": "Investigating: We're experiencing an elevated level of errors & timeouts <on the API>."})
    belay.api("POST", f"/api/v1/incidents/{first['id']}/resolve", {"message": "Resolved: a new client certificate was rolled out."})
    second = belay.api("POST", "/api/v1/incidents", {"title": "Exports are failing", "severity": "sev1", "message": "We are investigating."})
    belay.wait_for("/history.atom", "Exports are failing")
    return first, second


def test_atom_feed_is_valid_and_lists_incidents_newest_first(belay):
    first, second = seed(belay)
    feed = feedparser.parse(belay.url + "/history.atom")
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title.endswith("Incident history")
    assert [entry.title for entry in feed.entries] == ["Exports are failing", "Elevated errors"]
    assert feed.entries[1].link == f"https://status.example.com/incidents/{first['id']}"
    content = feed.entries[1].content[0].value
    assert "Resolved: a new client certificate was rolled out." in content
    # The user's text arrives as text, escaped inside the HTML content, never as markup.
    assert "&lt;on the API&gt;" in content and "<on the API>" not in content
    assert feed.entries[0].published_parsed is not None and feed.entries[0].updated_parsed is not None


def test_rss_feed_is_valid(belay):
    seed(belay)
    feed = feedparser.parse(belay.url + "/history.rss")
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert {entry.title for entry in feed.entries} == {"Exports are failing", "Elevated errors"}
    assert all(entry.published_parsed for entry in feed.entries)
    assert all(entry.guid.startswith("https://status.example.com/incidents/") for entry in feed.entries)
