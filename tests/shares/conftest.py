from share_fixtures import holder, issue, other, revoke  # noqa: F401 - fixtures
