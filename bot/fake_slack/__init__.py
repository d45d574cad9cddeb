"""A local stand-in for Slack: the Web API on a loopback port holding a small workspace (users, channels, messages,
views), checking Block Kit as Slack does, and Slack's side of the Events API (signed requests). `rollout demo` runs the
bot against it with no Slack credentials; the tests use it as the fake at Slack's HTTP boundary."""
