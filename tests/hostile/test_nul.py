"""A NUL character in a value handed to the API (a ref, a name, a message) is one clear error,
never a ValueError from deep inside process start-up."""

from __future__ import annotations

import pytest

from tagreg import api
from tagreg.errors import UserError


@pytest.mark.parametrize("call", [
    lambda r: api.register(r, "churn", ref="HEAD\0"),
    lambda r: api.register(r, "churn", message="release\0notes"),
    lambda r: api.assign(r, "churn", "prod", ref="HEAD\0"),
    lambda r: api.describe(r, "churn", rev="HEAD\0"),
], ids=["register-ref", "register-message", "assign-ref", "describe-rev"])
def test_a_nul_in_a_value_is_one_clear_error(repo, call):
    before = repo.tags()
    with pytest.raises(UserError, match="NUL"):
        call(str(repo.path))
    assert repo.tags() == before


def test_a_nul_in_a_ref_to_check_is_no_registry_tag(repo):
    assert api.check_ref(str(repo.path), "HEAD\0x") == []
