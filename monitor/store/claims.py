"""SQL for control claims read from articles."""
