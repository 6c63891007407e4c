import json

import pytest

from auditor.redact import MASK, Redactor, credential_fields, redact
from checks.security.secrets_scan import mask as mask_secret


def test_secret_and_its_credential_part_are_masked_everywhere():
    redactor = Redactor(["Bearer eyJhbGciOi.secret"])
    assert redactor.scrub("Authorization: Bearer eyJhbGciOi.secret") == f"Authorization: {MASK}"
    assert redactor.scrub("token=eyJhbGciOi.secret") == f"token={MASK}"
    nested = redactor.scrub_obj({"a": ["x eyJhbGciOi.secret y", 3], "eyJhbGciOi.secret": None})
    assert nested == {"a": [f"x {MASK} y", 3], MASK: None}


def test_short_values_are_not_treated_as_secrets():
    # Masking "ab" would garble every report; such a header value is not a credential anyway.
    assert Redactor(["ab"]).scrub("about") == "about"


# -- live credentials the service says back --------------------------------------------------------------

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbm4iLCJpYXQiOjE3MzM0MDAwMDB9."
       "Qy1B8gUzp2Q8pH0mB3kR4cQ8n1x3vY7Qk5nL2wZ0aAc")
BCRYPT = "$2b$12$KIXQJ6X1o1Zg5m3y9vJ9SeFvVfV4p5U5cG3wVQy6y9v0e1uJ8Qm1e"


@pytest.mark.parametrize(("text", "expected"), [
    (f'{{"user": {{"token": "{JWT}", "name": "ann"}}}}', '{"user": {"token": "***", "name": "ann"}}'),
    (f"issued {JWT} to ann", "issued *** to ann"),
    ('curl -H "Authorization: Bearer abc.def-123" http://h/me', 'curl -H "Authorization: Bearer ***" http://h/me'),
    ("authorization: Basic dXNlcjpwYXNz", "authorization: Basic ***"),
    ("Set-Cookie: session=abc123; Path=/; HttpOnly; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
     "Set-Cookie: session=***; Path=/; HttpOnly; Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
    ("Cookie: a=1; csrftoken=xyz", "Cookie: a=***; csrftoken=***"),
    ("GET /reset?token=abcd1234&page=2", "GET /reset?token=***&page=2"),
    ("username=ann&password=hunter2", "username=ann&password=***"),
    ('password = "hunter2"', 'password = "***"'),
    ("{'access_token': 'abc', 'token_type': 'bearer'}", "{'access_token': '***', 'token_type': 'bearer'}"),
    ('{\\"refreshToken\\": \\"abc\\"}', '{\\"refreshToken\\": \\"***\\"}'),
    ("api_key: 'abc123'", "api_key: '***'"),
    ("  X-Api-Key: abc123", "  X-Api-Key: ***"),
    ("DATABASE_URL=postgresql://app:s3cret@db:5432/app", "DATABASE_URL=postgresql://app:***@db:5432/app"),
    (f'{{"password_hash": "{BCRYPT}"}}', '{"password_hash": "***"}'),
    (f"hash {BCRYPT} stored", "hash *** stored"),
    # Left alone: what only looks like it.
    ("versions/ae1027a6acf1_add_users.py", "versions/ae1027a6acf1_add_users.py"),
    ('{"next_page_token": "abc", "token_type": "bearer", "expires_in": 3600}',
     '{"next_page_token": "abc", "token_type": "bearer", "expires_in": 3600}'),
    ("token = get_token()", "token = get_token()"),
    ('{"password": null, "has_password": true}', '{"password": null, "has_password": true}'),
    ("Secret committed: JSON Web Token", "Secret committed: JSON Web Token"),
    ("fingerprint 3f9a1c0e2b7d4a5f6e8c9b0a1d2e3f4a5b6c7d8e", "fingerprint 3f9a1c0e2b7d4a5f6e8c9b0a1d2e3f4a5b6c7d8e"),
])
def test_live_credentials_are_masked_where_they_stand_and_nothing_else(text, expected):
    assert redact(text) == expected
    assert redact(expected) == expected  # idempotent


def test_scrub_obj_masks_credential_keys_whole_and_scrubs_every_string():
    data = {"checks": [{"metrics": {"session": "abc", "sessions": 3, "token": None, "note": f"got {JWT}"}}]}
    assert Redactor().scrub_obj(data) == {"checks": [{"metrics": {"session": MASK, "sessions": 3, "token": None,
                                                                   "note": f"got {MASK}"}}]}


def test_credential_fields_name_what_a_body_exposes():
    body = json.loads(json.dumps({"articles": [{"author": {"username": "a", "password": BCRYPT, "token": JWT,
                                                           "bio": BCRYPT}}], "csrfToken": "x",
                                  "next_page_token": "p", "hash": "3f9a1c0e"}))
    assert list(credential_fields(body)) == [("$.articles[0].author.password", "password hash"),
                                             ("$.articles[0].author.token", "credential field 'token'"),
                                             ("$.articles[0].author.bio", "password hash")]


def test_a_secret_is_masked_as_a_value_never_inside_a_file_name_or_word():
    value = "ae1027a6acf1"
    assert mask_secret(f"in migrations/versions/{value}_add.py line 3", [value]) == \
        f"in migrations/versions/{value}_add.py line 3"
    assert mask_secret(f"in versions/{value}.py", [value]) == f"in versions/{value}.py"
    assert mask_secret(f"revision = '{value}'", [value]) == "revision = '********'"
    assert mask_secret(f"db = 'https://u:{value}@h/db'", [value]) == "db = 'https://u:********@h/db'"
    assert mask_secret(f"https://api/x?key={value}", [value]) == "https://api/x?key=********"
    assert mask_secret(f"x{value}y", [value]) == f"x{value}y"
