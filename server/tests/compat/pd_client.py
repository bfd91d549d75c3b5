"""Drives Firstline with a real PagerDuty Events v2 client library.

Usage: pd_client.py CLIENT BASE_URL ROUTING_KEY DEDUP_KEY
CLIENT is "pdpyras" (EventsAPISession / ChangeEventsAPISession) or "pagerduty" (the newer
package's EventsApiV2Client). Triggers DEDUP_KEY with links, images and custom_details,
triggers it again, triggers once without a dedup key, acknowledges and resolves DEDUP_KEY,
sends a change event, and prints one JSON object per step on stdout. Any error from the
library (a non-2xx answer, a malformed body) ends the script with a traceback and status 1.
"""

import functools
import json
import sys
import warnings
from datetime import datetime, timezone

warnings.simplefilter("ignore")

CUSTOM = {"free disk": "3%", "nested": {"list": [1, 2.5, None, "x"], "ok": False}}
LINKS = [{"href": "https://runbooks.example.org/disk", "text": "Runbook"}]
IMAGES = [{"src": "https://grafana.example.org/disk.png", "href": "https://grafana.example.org/d/1", "alt": "Disk graph"}]
CHANGE_DETAILS = {"build": 1234, "commit": "abc123"}
CHANGE_LINKS = [{"href": "https://ci.example.org/builds/1234", "text": "Build"}]


def step(name, result):
    print(json.dumps({"step": name, "result": result}), flush=True)


def main():
    client, base, key, dedup = sys.argv[1:5]
    if client == "pdpyras":
        import pdpyras

        events = pdpyras.EventsAPISession(key)
        events.url = base
        changes = pdpyras.ChangeEventsAPISession(key)
        changes.url = base
        submit_change = changes.submit
    elif client == "pagerduty":
        import pagerduty

        events = pagerduty.EventsApiV2Client(key)
        # Its `url` setter insists on https://; the test server speaks plain HTTP on loopback,
        # so the base is set underneath it. Requests are built from it exactly the same way.
        events._url = base
        changes = events
        # pagerduty 7.2.0's default change timestamp raises AttributeError
        # (datetime.timezone on the datetime class), so this one passes its own.
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        submit_change = functools.partial(events.submit, timestamp=now)
    else:
        raise SystemExit(f"unknown client {client!r}")
    # No retries: a refusal must show, not be retried away.
    for session in (events, changes):
        if hasattr(session, "max_http_attempts"):
            session.max_http_attempts = 1

    step("trigger", events.trigger(
        "Disk almost full on db1", "db1.example.org", dedup_key=dedup, severity="warning",
        custom_details=CUSTOM, images=IMAGES, links=LINKS,
    ))
    step("repeat", events.trigger("Disk almost full on db1", "db1.example.org", dedup_key=dedup))
    step("trigger_without_key", events.trigger("Replication lag on db2", "db2.example.org"))
    step("acknowledge", events.acknowledge(dedup))
    step("resolve", events.resolve(dedup))
    step("change", submit_change(
        "Deployed checkout v42", source="ci.example.org",
        custom_details=CHANGE_DETAILS, links=CHANGE_LINKS,
    ))


if __name__ == "__main__":
    main()
