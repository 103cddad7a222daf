"""digitizer: turn a shelf of discs into a clean Plex/Jellyfin library, unattended."""

__version__ = "0.1.0"
