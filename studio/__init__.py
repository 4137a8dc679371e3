"""The live studio: server, event log, show controller, CLI."""
