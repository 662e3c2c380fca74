"""The config's channel table (constructs_lib/model/alert_channels.py): what each channel turns on,
exactly, without a synth (make mutate runs it)."""

from __future__ import annotations

from constructs_lib.model.alert_channels import CHANNELS, CHAT_CHANNELS, ChannelSetting, channel_settings
from constructs_lib.model.alert_spec import AlertSpec


def test_every_channel_in_order_with_its_environment_its_secrets_and_its_route():
    alert = AlertSpec(
        webhook_ssm_parameter="/a/slack",
        chatwork_room_id="42",
        chatwork_token_ssm_parameter="/a/chatwork",
        teams_webhook_ssm_parameter="/a/teams",
        pagerduty_routing_key_ssm_parameter="/a/pd",
    )
    assert channel_settings(alert) == [
        ChannelSetting(
            "slack", {"WEBHOOK_SSM_PARAMETER": "/a/slack"}, ("/a/slack",), "Slack (webhook URL in SSM /a/slack)"
        ),
        ChannelSetting(
            "chatwork",
            {"CHATWORK_ROOM_ID": "42", "CHATWORK_TOKEN_SSM_PARAMETER": "/a/chatwork"},
            ("/a/chatwork",),
            "Chatwork room 42 (token in SSM /a/chatwork)",
        ),
        ChannelSetting(
            "teams",
            {"TEAMS_WEBHOOK_SSM_PARAMETER": "/a/teams"},
            ("/a/teams",),
            "Microsoft Teams (workflow URL in SSM /a/teams)",
        ),
        ChannelSetting(
            "pagerduty",
            {"PAGERDUTY_ROUTING_KEY_SSM_PARAMETER": "/a/pd"},
            ("/a/pd",),
            "PagerDuty (routing key in SSM /a/pd)",
        ),
    ]
    assert alert.chat_channels == ("slack", "chatwork", "teams", "pagerduty")


def test_no_key_no_channel_and_each_key_turns_on_its_own():
    assert channel_settings(AlertSpec()) == []
    assert AlertSpec().chat_channels == ()
    assert [setting.name for setting in channel_settings(AlertSpec(teams_webhook_ssm_parameter="/t"))] == ["teams"]
    assert [kind.key for kind in CHAT_CHANNELS] == [
        "webhook_ssm_parameter",
        "chatwork_room_id",
        "teams_webhook_ssm_parameter",
        "pagerduty_routing_key_ssm_parameter",
    ]
    assert CHANNELS == ("log", "email", "slack", "chatwork", "teams", "pagerduty")
