"""tagreg.record: the plain records the API returns (dataclasses' behaviour, without their import)."""

from __future__ import annotations

import pickle

import pytest

from tagreg.record import as_dict, field, fields, is_record, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: list = field(factory=list)
    note: object = field(None, repr=False, compare=False)

    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


@record(frozen=True)
class Key:
    name: str
    version: str = "v1"


@record(slots=True)
class Slim:
    a: int
    b: str = ""


def test_init_defaults_and_factories():
    p = Point(1)
    assert (p.x, p.y, p.tags, p.note) == (1, 0, [], None)
    assert Point(1).tags is not p.tags  # a new list per instance
    assert Point(x=2, y=3, tags=["a"]).tags == ["a"]
    assert p.norm() == 1
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, 2, [], None, 5)


def test_repr_and_eq_skip_what_they_are_told_to():
    assert repr(Point(1, 2, note="hidden")) == "Point(x=1, y=2, tags=[])"
    assert Point(1, note="a") == Point(1, note="b")
    assert Point(1) != Point(2)
    assert Point(1) != Key("a")
    with pytest.raises(TypeError):
        hash(Point(1))  # mutable records are not hashable, as dataclasses


def test_frozen_records_are_immutable_and_hashable():
    k = Key("churn")
    assert {k: 1}[Key("churn", "v1")] == 1
    with pytest.raises(AttributeError):
        k.name = "other"
    with pytest.raises(AttributeError):
        del k.name


def test_slots():
    s = Slim(1)
    assert not hasattr(s, "__dict__")
    with pytest.raises(AttributeError):
        s.c = 3
    assert pickle.loads(pickle.dumps(s)) == s


def test_helpers():
    p = Point(1, 2, [Key("a")], note="n")
    assert fields(p) == ("x", "y", "tags", "note")
    assert is_record(p) and not is_record(1)
    q = replace(p, y=5)
    assert (q.x, q.y, q.note) == (1, 5, "n") and p.y == 2
    with pytest.raises(TypeError):
        replace(p, z=1)
    assert as_dict(p) == {"x": 1, "y": 2, "tags": [{"name": "a", "version": "v1"}], "note": "n"}
    assert pickle.loads(pickle.dumps(p)) == p


def test_methods_made_on_first_call_serve_subclasses_and_every_later_instance():
    @record(frozen=True)
    class Fresh:
        a: int
        b: str = "x"

    class Sub(Fresh):
        pass

    first = Sub(1)  # the first call of each method comes through a subclass
    assert repr(first).endswith(".Sub(a=1, b='x')") and first == Sub(1) and hash(first) == hash(Sub(1))
    assert Fresh(1) != first  # different classes: not equal, as dataclasses
    assert {Fresh(2, "y"): 1}[Fresh(2, "y")] == 1
    assert Fresh.__init__.__qualname__.endswith("Fresh.__init__")
    with pytest.raises(TypeError):
        Fresh()  # a missing field is still an error of the real signature
    with pytest.raises(AttributeError):
        first.a = 3
