"""Settings from the environment only."""
import os

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///app.db")
LOG_LEVEL = os.getenv("LOG_LEVEL", "INFO")
