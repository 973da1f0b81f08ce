"""Custom Rasa input channels of Rexian (loaded by module path from credentials.yml)."""
