"""Custom actions of the Rexian assistant (run by `rasa run actions`)."""
