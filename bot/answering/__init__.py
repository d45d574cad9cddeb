"""Questions to answers: the answering workflow (secret screen, redaction, rate limit, thread history), the durable
intake, Show more and Share in channel, channel settings and the question classifier for `auto` channels, the terminal
(`rollout ask`, `rollout chat`); their tables and stores, listeners, CLI group and the processed-events clean-up."""
