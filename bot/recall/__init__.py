"""Policy-change recall: when an ingest changes a section recent answers cited, the people who got them are told once,
after an admin approves; its Block Kit, Slack poster, tables and store, listeners and CLI group."""
