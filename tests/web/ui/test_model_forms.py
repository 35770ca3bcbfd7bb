"""Forms for pydantic models: the inputs a model's fields need, a form read back into the
model's input, and the model's errors put next to their fields."""

from __future__ import annotations

from typing import Literal

import pydantic
import pytest

from lookout.notify.spec import Rule, TimePeriod, WebhookSpec
from lookout.web.ui import model_forms as mf


class Sample(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(use_attribute_docstrings=True)

    name: str = pydantic.Field(pattern=r"^[a-z]+$")
    """The name."""
    api_key: str = ""
    mode: Literal["a", "b"] = "a"
    tags: list[str] = []
    kinds: list[Literal["x", "y"]] = ["x"]
    env: dict[str, str] = {}
    on: bool = True
    limit: int | None = None
    wait: float = pydantic.Field(0.0, ge=0, le=3600)
    """Seconds to wait (0: none)."""
    period: TimePeriod | None = None


FIELDS = mf.fields_of(Sample, kinds={"wait": "duration"}, secrets=("api_key",), advanced=("env",))
BY_NAME = {f.name: f for f in FIELDS}


def test_each_field_type_gets_its_input() -> None:
    kinds = {f.name: f.kind for f in FIELDS}
    assert kinds == {
        "name": "text",
        "api_key": "secret",
        "mode": "choice",
        "tags": "lines",
        "kinds": "choices",
        "env": "pairs",
        "on": "bool",
        "limit": "number",
        "wait": "duration",
    }, "a nested model (period) has no input of its own"
    assert BY_NAME["mode"].choices == ("a", "b")
    assert BY_NAME["kinds"].choices == ("x", "y")
    assert BY_NAME["name"].required
    assert BY_NAME["limit"].optional
    assert BY_NAME["env"].advanced
    assert BY_NAME["api_key"].label == "API key"
    assert BY_NAME["wait"].help == "Time to wait (0: none)."


def test_a_form_reads_into_the_model_and_shows_back_the_same() -> None:
    form = {
        "name": ["abc"],
        "mode": ["b"],
        "tags": ["web-*\n\n db-1 "],
        "kinds": ["x", "y"],
        "env": ["team=ops\nzone = eu-1"],
        "limit": [""],
        "wait": ["25m"],
    }
    body = mf.read(FIELDS, form)
    model = Sample.model_validate(body)
    assert (model.tags, model.env) == (["web-*", "db-1"], {"team": "ops", "zone": "eu-1"})
    assert (model.on, model.limit, model.wait, model.kinds) == (False, None, 1500.0, ["x", "y"])
    shown = mf.shown(FIELDS, {**model.model_dump(mode="json"), "api_key": "hidden"})
    assert shown["wait"] == "25m"
    assert shown["tags"] == "web-*\ndb-1"
    assert shown["env"] == "team=ops\nzone=eu-1"
    assert shown["api_key"] == "", "a secret is never shown"
    again = {k: [v] if isinstance(v, str) else v for k, v in shown.items()}
    assert mf.read(FIELDS, again) == body, "what a form shows reads back to the same input"


def test_an_empty_input_leaves_the_default_and_zero_means_no_duration() -> None:
    body = mf.read(FIELDS, {"name": ["abc"], "mode": [""], "wait": ["0"]})
    assert "mode" not in body
    assert body["wait"] == 0.0


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        ({"env": ["novalue"]}, "env", "'novalue' is not key=value"),
        ({"wait": ["soon"]}, "wait", "'soon' is not a duration"),
    ],
)
def test_inputs_that_cannot_be_read_name_their_field(
    form: dict[str, list[str]], field: str, says: str
) -> None:
    with pytest.raises(mf.FormErrors) as caught:
        mf.read(FIELDS, {"name": ["abc"], **form})
    assert says in caught.value.errors[field][0]


def test_model_errors_go_next_to_their_field() -> None:
    body = mf.read(FIELDS, {"name": ["ABC"], "wait": ["2h"], "limit": ["many"]})
    with pytest.raises(pydantic.ValidationError) as caught:
        Sample.model_validate(body)
    errors = mf.field_errors(caught.value, FIELDS)
    assert "should match pattern" in errors["name"][0]
    assert errors["wait"] == ["at most 1h"]
    assert "valid integer" in errors["limit"][0]


def test_nested_and_mapped_paths_find_their_field() -> None:
    fields = [
        *mf.fields_of(Rule, skip=("time_period",)),
        *mf.fields_of(TimePeriod, prefix="time_period."),
    ]
    body = {"name": "r", "channels": ["c"], "time_period": {"timezone": "Mars/Olympus"}}
    with pytest.raises(pydantic.ValidationError) as caught:
        Rule.model_validate(body)
    assert "unknown time zone" in mf.field_errors(caught.value, fields)["time_period.timezone"][0]
    hook = mf.fields_of(WebhookSpec, skip=("type",))
    with pytest.raises(pydantic.ValidationError) as caught:
        pydantic.TypeAdapter(dict[str, WebhookSpec]).validate_python({"spec": {"url": "x"}})
    errors = mf.field_errors(caught.value, hook, lambda loc: loc[1:])
    assert "should match pattern" in errors["url"][0]
    assert list(errors) == ["url"]
