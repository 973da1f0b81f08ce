"""Rexian speech service: offline Mandarin transcription for the 12345 hotline."""
