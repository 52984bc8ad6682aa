"""Backups: archives of the data directory, verification, restore, schedule."""
