"""What the documents state in words because JSON Schema cannot, taught to schemathesis.

Only cases generated as *valid* are filtered: a negative case (an invented cursor,
a window that ends before it starts) is still sent and must still be refused.
"""

from datetime import datetime
from itertools import count

import schemathesis

_keys = count(1)


def _instant(value):
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


@schemathesis.hook
def filter_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    # "cursor: an opaque cursor from next_cursor": only the API can make one.
    if isinstance(case.query, dict) and case.query.get("cursor") is not None:
        return False
    # An evidence-packet list's period: "to" comes after "from".
    if isinstance(case.query, dict) and case.operation.path.endswith("/evidence-packets"):
        start, end = _instant(str(case.query.get("from") or "")), _instant(str(case.query.get("to") or ""))
        try:
            if start is not None and end is not None and end <= start:
                return False
        except TypeError:
            return True
    # "the window ends after it starts" compares two fields.
    body = case.body
    if isinstance(body, dict):
        start, end = body.get("scheduled_start"), body.get("scheduled_end")
        if isinstance(start, str) and isinstance(end, str):
            s, e = _instant(start), _instant(end)
            try:
                if s is not None and e is not None and e <= s:
                    return False
            except TypeError:  # one has an offset, the other not: not a valid date-time anyway
                return True
    return True


@schemathesis.hook
def map_case(context, case):
    # Generated keys repeat ("0", "00", ...), so most keyed commands would meet a key
    # already bound to another request (422 IDEMPOTENCY_KEY_REUSED, declared) and never
    # reach the command. A valid case gets a key of its own, numbered in generation
    # order so runs repeat; reuse itself is tested in test/api.
    meta = case.meta
    headers = case.headers
    if meta is not None and meta.generation.mode.is_positive and isinstance(headers, dict):
        for name in list(headers):
            if name.lower() == "idempotency-key":
                headers[name] = f"contract-{next(_keys)}"
    if meta is not None and meta.generation.mode.is_positive and case.method.upper() == "POST" and case.operation.path.endswith("/freeze-windows"):
        _freeze_window(case.body)
    if meta is not None and meta.generation.mode.is_positive and case.method.upper() == "POST" and case.operation.path.endswith("/ab-releases"):
        _rollout(case.body)
    if meta is not None and meta.generation.mode.is_positive and case.operation.path.endswith(("/approval-policies", "/approval-policies/{id}")):
        _cel_gates(case.body)
        _http_gates(case.body)
    if meta is not None and meta.generation.mode.is_positive and "/cmdb/cis" in case.operation.path:
        _ci_attributes(case.body)
    if meta is not None and meta.generation.mode.is_positive and case.method.upper() == "POST" and case.operation.path.endswith("/workflow-runs"):
        # A run's parameters are judged against its template's declarations (names, types, enums): words the
        # document cannot tie to the templateId. A valid case sends none; test/api covers each refusal.
        if isinstance(case.body, dict):
            case.body["parameters"] = {}
    if meta is not None and meta.generation.mode.is_positive and case.method.upper() == "POST" and case.operation.path.endswith("/audit-reports"):
        _audit_period(case.body)
    return case


def _audit_period(body):
    # An audit report's period ends after it starts and spans at most 400 days (words); a valid case keeps its
    # environments and release and takes a period that reads right. test/api covers each refusal.
    scope = body.get("scope") if isinstance(body, dict) else None
    if isinstance(scope, dict):
        scope["from"], scope["to"] = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"


def _cel_gates(body):
    # "A CEL expression that evaluates to a boolean over the promotion" is words: a valid case gates on a fact
    # every promotion has. Invalid expressions are refused with 400 naming celGates.N.expression (test/api).
    if not isinstance(body, dict) or not isinstance(body.get("celGates"), list):
        return
    # Gate names are unique within a policy (words too): a valid case numbers them.
    for i, gate in enumerate(body["celGates"]):
        if isinstance(gate, dict) and "expression" in gate:
            gate["expression"] = "size(approvals) >= 0"
        if isinstance(gate, dict) and "name" in gate:
            gate["name"] = f"gate-{i}"


def _http_gates(body):
    # An http gate's name is unique within the policy (words): a valid case numbers them. Whether it names exactly
    # one of an http-gate integration and an http-gate plugin instance of the tenant is the server's to say (422,
    # documented; test/api).
    if not isinstance(body, dict) or not isinstance(body.get("httpGates"), list):
        return
    for i, gate in enumerate(body["httpGates"]):
        if isinstance(gate, dict) and "name" in gate:
            gate["name"] = f"http-gate-{i}"


def _ci_attributes(body):
    # Which attributes a CI takes depends on its class, and a PATCH judges them against the class the CI
    # already has: words the document cannot tie to another field. A valid case leaves them out; the per-class
    # rules are tested in test/api and test/unit.
    records = body.get("records") if isinstance(body, dict) and isinstance(body.get("records"), list) else [body]
    for record in records:
        if isinstance(record, dict) and "attributes" in record:
            record.pop("attributes")
            # A PATCH must still change something (its minProperties): one of attributes' neighbours.
            if not record:
                record["description"] = "contract"


def _rollout(body):
    # Still words for a rollout: the canary is another release than stable, and an analysis measures at
    # least once in its window (interval at most the window). Which fields go together is in the document.
    # The document gives a duration's grammar; its range (1s to 7 days) is words: a valid case takes 30s.
    if not isinstance(body, dict):
        return
    if "progressDeadline" in body:
        body["progressDeadline"] = "30s"
    for step in body.get("steps") or []:
        if isinstance(step, dict) and isinstance(step.get("pause"), dict) and "duration" in step["pause"]:
            step["pause"]["duration"] = "30s"
    stable = body.get("stableReleaseId")
    if isinstance(stable, str) and body.get("canaryReleaseId") == stable:
        body["canaryReleaseId"] = "00000000-0000-4000-8000-00000000000c" if stable != "00000000-0000-4000-8000-00000000000c" else "00000000-0000-4000-8000-00000000000d"
    analyses = [s.get("analysis") for s in body.get("steps") or [] if isinstance(s, dict)]
    blue_green = body.get("blueGreen")
    if isinstance(blue_green, dict):
        analyses += [blue_green.get("prePromotionAnalysis"), blue_green.get("postPromotionAnalysis")]
    for analysis in analyses:
        if isinstance(analysis, dict):
            analysis.pop("interval", None)
            if "window" in analysis:
                analysis["window"] = "30s"


_WEEKEND = {"rrule": "FREQ=WEEKLY;BYDAY=SA", "timezone": "Europe/Berlin", "duration": "PT48H"}


def _freeze_window(body):
    # Which fields make a window (start and end, or rrule, timezone and duration) is in
    # the document (FreezeWindowInput's oneOf), so a valid case already has one form.
    # Still words: the rule's grammar, the zone's and duration's names, a recurring
    # start at most a year ago, and "ends after it starts". A valid case keeps its
    # form, name, reason and classes and takes values that read right; the API tests
    # cover the values themselves.
    if not isinstance(body, dict):
        return
    if "rrule" in body:
        body.update(_WEEKEND)
        body.pop("start", None)
        return
    # A one-off window ends at most five years from now (words): a valid case ends before then.
    start, end = _instant(body.get("start") or ""), _instant(body.get("end") or "")
    try:
        if start is not None and end is not None and end > start and end < datetime(2030, 1, 1, tzinfo=end.tzinfo):
            return
    except TypeError:
        pass
    body["start"], body["end"] = "2030-12-20T00:00:00Z", "2030-12-27T00:00:00Z"
