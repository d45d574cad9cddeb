"""Deployment communications: announcements (one-off and recurring), rollout plans from YAML, acknowledgement
campaigns, who a target reaches (audiences and memberships), paced delivery to Slack; their Block Kit, tables and
stores, listeners, CLI groups and jobs."""
