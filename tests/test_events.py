"""One event schema: the Python models, the wire format and the overlays' JS mirror agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from core import events as ev

STATE_JS = Path(__file__).resolve().parent.parent / "overlays" / "gavel-state.js"


def test_the_js_state_knows_exactly_the_python_event_types():
    source = STATE_JS.read_text()
    block = re.search(r"const EVENT_TYPES = Object\.freeze\(\[(.*?)\]\)", source, re.S).group(1)
    assert sorted(re.findall(r'"([a-z.]+)"', block)) == ev.event_types()


def test_an_event_round_trips_through_wire_json():
    event = ev.AnswerToken(seq=12, data=ev.AnswerTokenData(question_id="q", contestant="ada", index=3, text="<b>x</b>"))
    parsed = ev.parse_event(event.model_dump_json())
    assert isinstance(parsed, ev.AnswerToken) and parsed == event


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"seq": 1, "ts": 0, "type": "answer.tokn", "data": {}}, "does not match any of the expected tags"),
        ({"seq": 1, "ts": 0, "type": "show.status", "data": {"status": "exploded"}}, "status"),
        ({"seq": 1, "ts": 0, "type": "show.status", "data": {"status": "running", "extra": 1}}, "extra"),
    ],
)
def test_malformed_events_are_rejected_with_the_field_named(raw, words):
    with pytest.raises(ValidationError) as info:
        ev.parse_event(raw)
    assert words in str(info.value)
