"""``[alert]``: where the alerts go, and how they are grouped."""

from __future__ import annotations

from pydantic import Field, field_validator

from constructs_lib.model.alert_channels import ChannelKeys, channel_settings
from constructs_lib.model.checks import EmailAddress, check_retention, freeze_list


class AlertSpec(ChannelKeys):
    """``[alert]``: where the alert Lambda that all jobs share tells people about a failed run.

    Every channel is optional; the log and the stack's SNS topic are always there. The chat and
    paging channels' keys are ``ChannelKeys`` (``model/alert_channels.py``).
    """

    log_retention_days: int = 30
    #: Addresses subscribed to the stack's alert topic (each confirms once, from the mail AWS sends).
    emails: tuple[EmailAddress, ...] = ()
    #: Alerts for one channel that arrive within this many seconds go out as one message (the
    #: alert queue's batching window; 0 sends each batch of up to 10 at once). 30 s, Alertmanager's
    #: group_wait: the runs that one capacity outage fails give up within seconds of each other.
    group_seconds: int = Field(default=30, ge=0, le=300)
    #: The first successful run after a failed, timed-out, aborted or missed one says so, once.
    recoveries: bool = True

    _retention = field_validator("log_retention_days")(check_retention)
    _emails_list = field_validator("emails", mode="before")(freeze_list)

    @field_validator("emails")
    @classmethod
    def _emails(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        seen = [address.lower() for address in emails]
        for index, address in enumerate(seen):
            if address in seen[:index]:
                raise ValueError(f"{emails[index]!r} is listed twice (allowed: each address once)")
        return emails

    @property
    def chat_channels(self) -> tuple[str, ...]:
        """The chat channels configured, in the order alerts list them."""
        return tuple(setting.name for setting in channel_settings(self))
