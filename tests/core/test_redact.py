from auditor.redact import MASK, Redactor


def test_secret_and_its_credential_part_are_masked_everywhere():
    redactor = Redactor(["Bearer eyJhbGciOi.secret"])
    assert redactor.scrub("Authorization: Bearer eyJhbGciOi.secret") == f"Authorization: {MASK}"
    assert redactor.scrub("token=eyJhbGciOi.secret") == f"token={MASK}"
    nested = redactor.scrub_obj({"a": ["x eyJhbGciOi.secret y", 3], "eyJhbGciOi.secret": None})
    assert nested == {"a": [f"x {MASK} y", 3], MASK: None}


def test_short_values_are_not_treated_as_secrets():
    # Masking "ab" would garble every report; such a header value is not a credential anyway.
    assert Redactor(["ab"]).scrub("about") == "about"
