"""Notification mails: the outbox API, French templates and the send job (notifications capability)."""
