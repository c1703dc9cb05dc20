import json

import pytest

from reviewer.form import ReviewForm
from reviewer.llm import JSONExtractionError, extract_json, schema_for


def test_bare_json():
    assert extract_json('{"a": 1}') == {"a": 1}


def test_fenced_json_with_prose_around():
    text = 'Here is my review:\n```json\n{"a": {"b": [1, 2]}, "c": "x"}\n```\nThanks.'
    assert extract_json(text) == {"a": {"b": [1, 2]}, "c": "x"}


def test_nested_object_in_prose_is_not_cut_at_first_closing_brace():
    # A non-greedy \{.*?\} regex would stop at the first '}' and lose the outer object.
    text = 'Thinking... {"review": {"Overall": 6, "Notes": "uses {braces} in text"}, "done": true} end'
    assert extract_json(text) == {"review": {"Overall": 6, "Notes": "uses {braces} in text"}, "done": True}


def test_unfenced_after_broken_fence_falls_back_to_bare_text():
    text = '```json\n{"a": 1,,}\n```\n{"a": 2}'
    assert extract_json(text) == {"a": 2}


@pytest.mark.parametrize("text", ["", "no json here", '{"a": ', "[1, 2, 3]"])
def test_broken_json_raises(text):
    with pytest.raises(JSONExtractionError):
        extract_json(text)


def test_review_schema_is_flat_and_constrains_scores():
    schema = schema_for(ReviewForm)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    assert schema["properties"]["Overall"]["enum"] == list(range(1, 11))
    assert schema["properties"]["Soundness"]["enum"] == [1, 2, 3, 4]
    assert "Ethical Concerns" in schema["required"]


def test_bounded_schema_caps_lists_and_strings_but_not_enums():
    from reviewer.llm.structured import bounded_schema

    schema = bounded_schema(schema_for(ReviewForm), max_items=5, max_chars=100)
    props = schema["properties"]
    assert props["Strengths"]["maxItems"] == 5
    assert props["Strengths"]["items"]["maxLength"] == 100
    assert props["Summary"]["maxLength"] == 100
    assert "maxLength" not in props["Decision"]  # an enum of strings stays as it is
    assert "maxItems" not in schema_for(ReviewForm)["properties"]["Strengths"]  # input untouched


def test_fields_named_like_schema_keywords_survive_flattening():
    from pydantic import BaseModel

    class Inner(BaseModel):
        title: str

    class Idea(BaseModel):
        title: str
        type: int
        inner: Inner

    schema = schema_for(Idea)
    assert set(schema["properties"]) == {"title", "type", "inner"}
    assert schema["properties"]["inner"]["properties"]["title"] == {"type": "string"}
    assert set(schema["required"]) <= set(schema["properties"])


def test_raw_control_characters_inside_strings_are_accepted():
    # Seen from llama.cpp's grammar-constrained decoding: a literal newline inside a string.
    assert extract_json('{"Summary": "line one\nline two\tend", "n": 1}') == {
        "Summary": "line one\nline two\tend", "n": 1}
