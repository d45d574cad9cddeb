"""The Slack edge every feature shares: the Bolt app and its workers, the /rollout command registry, transports (HTTP,
Socket Mode), the Web API client and its retries, payload parsing, Block Kit atoms and send pacing."""
