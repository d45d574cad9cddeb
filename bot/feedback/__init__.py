"""Pilot feedback: 👍/👎 ratings on answers, surveys and pulse surveys, the pilot cohort's Slack command, reports
(text, JSON, Markdown, chart, the weekly post), knowledge gaps and the App Home; their Block Kit, tables, listeners,
CLI group and jobs."""
