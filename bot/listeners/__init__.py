"""Bolt listeners: ack first, parse the payload, hand one service the work, render. Slow work runs after the ack."""
