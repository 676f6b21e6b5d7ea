"""Setup errors: each cause has its own message and one action that names the fix (pure)."""

from __future__ import annotations

import pytest

from shared import setup_errors as se


def test_every_cause_has_a_message_and_an_action() -> None:
    causes = {
        se.NOT_CONFIGURED,
        se.NO_REFRESH_TOKEN,
        se.INVALID_CLIENT,
        se.INVALID_GRANT,
        se.PREMIUM_REQUIRED,
        se.USER_NOT_REGISTERED,
        se.UNREACHABLE,
        se.LANYARD_USER_NOT_MONITORED,
    }
    assert set(se.ADVICE) == causes
    assert all(se.ADVICE[c].message and se.ADVICE[c].action for c in causes)


def test_no_two_causes_share_a_message_or_an_action() -> None:
    advice = list(se.ADVICE.values())
    assert len({a.message for a in advice}) == len(advice)
    assert len({a.action for a in advice}) == len(advice)


def test_wrong_client_credentials_say_to_copy_them_not_to_reconnect() -> None:
    action = se.ADVICE[se.INVALID_CLIENT].action
    assert "SPOTIFY_CLIENT_SECRET" in action and "nowplaying auth" not in action


def test_a_missing_refresh_token_says_to_connect_and_does_not_blame_spotify() -> None:
    found = se.ADVICE[se.NO_REFRESH_TOKEN]
    assert "nowplaying auth" in found.action and "/login" in found.action
    assert "invalid_grant" not in found.message and "refused" not in found.message


def test_a_revoked_or_expired_token_says_reconnect_and_that_it_is_kept() -> None:
    found = se.ADVICE[se.INVALID_GRANT]
    assert "nowplaying auth" in found.action and "kept" in found.message


def test_nothing_configured_names_the_variables_to_set() -> None:
    action = se.ADVICE[se.NOT_CONFIGURED].action
    assert "SPOTIFY_CLIENT_ID" in action and "SPOTIFY_CLIENT_SECRET" in action


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        ("Active premium subscription required for the owner of the app", se.PREMIUM_REQUIRED),
        ("User not registered in the Developer Dashboard", se.USER_NOT_REGISTERED),
        ("The user may not be registered.", se.USER_NOT_REGISTERED),
        ("Player command failed: Restriction violated", None),
        ("", None),
    ],
)
def test_a_forbidden_answer_is_classified_by_spotifys_message(
    message: str, cause: str | None
) -> None:
    assert se.from_forbidden(message) == cause


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        ("ACTIVE PREMIUM SUBSCRIPTION REQUIRED FOR THE OWNER OF THE APP.", se.PREMIUM_REQUIRED),
        ("  active-premium subscription required\n", se.PREMIUM_REQUIRED),
        ("user NOT registered in the developer dashboard!", se.USER_NOT_REGISTERED),
        ("The user may not be registered", se.USER_NOT_REGISTERED),
        ("the user may not-be registered...", se.USER_NOT_REGISTERED),
    ],
)
def test_a_forbidden_message_is_classified_whatever_its_case_and_punctuation(
    message: str, cause: str
) -> None:
    assert se.from_forbidden(message) == cause


def test_a_registered_user_message_is_not_mistaken_for_an_unregistered_one() -> None:
    assert se.from_forbidden("User registered; player command failed") is None


def test_premium_advice_says_to_renew_premium_on_the_owners_account() -> None:
    assert "Premium" in se.ADVICE[se.PREMIUM_REQUIRED].action
    assert "owns the app" in se.ADVICE[se.PREMIUM_REQUIRED].action


def test_an_unregistered_user_is_told_to_add_it_under_user_management() -> None:
    assert "User Management" in se.ADVICE[se.USER_NOT_REGISTERED].action


def test_an_unknown_or_missing_cause_has_no_advice() -> None:
    assert se.advice(None) is None and se.advice("something-else") is None


def test_readiness_says_not_connected_before_any_account_is_connected() -> None:
    fields = se.readiness(se.ADVICE[se.NO_REFRESH_TOKEN], auth_failed=True)
    assert fields["auth"] == "not connected" and fields["setup"] == se.NO_REFRESH_TOKEN


def test_readiness_keeps_auth_ok_when_spotify_is_only_unreachable() -> None:
    assert se.readiness(se.ADVICE[se.UNREACHABLE], auth_failed=False)["auth"] == "ok"


def test_the_log_line_carries_the_message_and_the_fix() -> None:
    line = se.log_line(se.INVALID_CLIENT)
    assert line.startswith(se.ADVICE[se.INVALID_CLIENT].message)
    assert line.endswith(se.ADVICE[se.INVALID_CLIENT].action)


def test_only_both_app_credentials_count_as_configured() -> None:
    assert se.configured("id", "secret")
    assert not se.configured("id", None) and not se.configured(None, "secret")


def test_lanyards_unknown_user_says_to_join_its_discord_server() -> None:
    found = se.ADVICE[se.LANYARD_USER_NOT_MONITORED]
    assert "user_not_monitored" in found.message
    assert "https://discord.gg/lanyard" in found.action and "LANYARD_USER_ID" in found.action
