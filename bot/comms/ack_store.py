"""Acknowledgement campaigns, who each asks, and who accepted which policy version when."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.comms.tables import AckCampaign, AckMember, Acknowledgement
from bot.store.runs import insert_ignoring


class AckStore:
    """Campaigns, their members and acceptances; an acceptance is recorded once per person and campaign."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(self, campaign: AckCampaign, members: Sequence[tuple[str, str]]) -> AckCampaign:
        """Store a campaign with its members (user id, team) in one transaction."""
        with self._sessions.begin() as session:
            session.add(campaign)
            session.flush()
            rows = [dict(campaign_id=campaign.id, user_id=user, team=team) for user, team in members]
            insert_ignoring(session, AckMember.__table__, rows, ["campaign_id", "user_id"])
        return campaign

    def get(self, campaign_id: int) -> AckCampaign | None:
        """One campaign."""
        with self._sessions() as session:
            return session.get(AckCampaign, campaign_id)

    def list(self, statuses: Sequence[str] | None = None) -> list[AckCampaign]:
        """Campaigns, oldest first."""
        statement = select(AckCampaign).order_by(AckCampaign.id)
        if statuses:
            statement = statement.where(AckCampaign.status.in_(list(statuses)))
        with self._sessions() as session:
            return list(session.scalars(statement))

    def members(self, campaign_id: int) -> list[AckMember]:
        """Everyone the campaign asks, by team then user."""
        statement = select(AckMember).where(AckMember.campaign_id == campaign_id)
        with self._sessions() as session:
            return list(session.scalars(statement.order_by(AckMember.team, AckMember.user_id)))

    def accept(self, campaign_id: int, user_id: str, policy_version: str, now: datetime) -> bool:
        """Record an acceptance; True the first time, False on every repeat (the first time is kept)."""
        row = dict(campaign_id=campaign_id, user_id=user_id, policy_version=policy_version, accepted_at=now)
        with self._sessions.begin() as session:
            return insert_ignoring(session, Acknowledgement.__table__, [row], ["campaign_id", "user_id"]) == 1

    def acceptances(self, campaign_id: int) -> dict[str, Acknowledgement]:
        """Who accepted, by user id."""
        statement = select(Acknowledgement).where(Acknowledgement.campaign_id == campaign_id)
        with self._sessions() as session:
            return {a.user_id: a for a in session.scalars(statement)}

    def has_accepted(self, campaign_id: int, user_id: str) -> bool:
        """Whether this person accepted this campaign's policy."""
        with self._sessions() as session:
            return session.get(Acknowledgement, (campaign_id, user_id)) is not None

    def not_accepted(self, campaign_id: int) -> list[AckMember]:
        """Members who have not accepted yet."""
        accepted = select(Acknowledgement.user_id).where(Acknowledgement.campaign_id == campaign_id)
        statement = select(AckMember).where(AckMember.campaign_id == campaign_id, AckMember.user_id.not_in(accepted))
        with self._sessions() as session:
            return list(session.scalars(statement.order_by(AckMember.team, AckMember.user_id)))
